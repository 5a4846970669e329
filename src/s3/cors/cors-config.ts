import { echoed } from '../../common/bounded-echo.js';
import { InvalidRequestError, MalformedXmlError } from '../errors.js';

/** The methods a CORS rule may allow (PutBucketCors refuses any other, OPTIONS included). */
export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
export type CorsMethod = (typeof CORS_METHODS)[number];

/** One CORSRule, as PutBucketCors took it (S3 keeps the elements as given, order included). */
export interface CorsRule {
  readonly id?: string;
  readonly allowedMethods: readonly CorsMethod[];
  /** Origins, each with at most one `*` wildcard (`*` alone: any origin). */
  readonly allowedOrigins: readonly string[];
  /** Request headers a preflight may name, each with at most one `*`; compared case-insensitively. */
  readonly allowedHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
}

/** A bucket's CORS configuration: 1 to 100 rules, the first match wins. */
export interface CorsConfiguration {
  readonly rules: readonly CorsRule[];
}

/** S3's limit on the rules of one configuration. */
export const MAX_CORS_RULES = 100;

const METHOD_SET: ReadonlySet<string> = new Set(CORS_METHODS);

/** Whether `m` is a method a rule can allow. Pure. */
export function isCorsMethod(m: string): m is CorsMethod {
  return METHOD_SET.has(m);
}

/**
 * Checks a configuration as PutBucketCors does
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html). Raises
 * MalformedXmlError for no rule, more than 100, or a rule without an origin or a method;
 * InvalidRequestError with S3's message for an unsupported method, an origin or allowed
 * header with more than one wildcard, or an expose header with any (the value quoted at most
 * MAX_ECHOED_CHARS long). Pure; never changes it.
 */
export function checkCorsConfiguration(config: { readonly rules: ReadonlyArray<{ readonly allowedMethods: readonly string[] } & Omit<CorsRule, 'allowedMethods'>> }): asserts config is CorsConfiguration {
  if (config.rules.length === 0 || config.rules.length > MAX_CORS_RULES) throw new MalformedXmlError('');
  for (const rule of config.rules) {
    if (rule.allowedOrigins.length === 0 || rule.allowedMethods.length === 0) throw new MalformedXmlError('');
    for (const m of rule.allowedMethods) {
      if (!isCorsMethod(m)) throw new InvalidRequestError(`Found unsupported HTTP method in CORS config. Unsupported method is ${echoed(m)}`);
    }
    for (const o of rule.allowedOrigins) if (wildcards(o) > 1) throw new InvalidRequestError(`AllowedOrigin "${echoed(o)}" can not have more than one wildcard.`);
    for (const h of rule.allowedHeaders) if (wildcards(h) > 1) throw new InvalidRequestError(`AllowedHeader "${echoed(h)}" can not have more than one wildcard.`);
    for (const h of rule.exposeHeaders) {
      if (h.includes('*')) throw new InvalidRequestError(`ExposeHeader "${echoed(h)}" contains wildcard. We currently do not support wildcard for ExposeHeader.`);
    }
  }
}

function wildcards(s: string): number {
  let n = 0;
  for (const c of s) if (c === '*') n++;
  return n;
}

/**
 * Whether `value` matches `pattern`: equal, or equal around its one `*`, which stands for
 * any run of characters (none included). Case-sensitive unless `fold` (header names). Pure.
 */
export function wildcardMatch(pattern: string, value: string, fold = false): boolean {
  const p = fold ? pattern.toLowerCase() : pattern;
  const v = fold ? value.toLowerCase() : value;
  const star = p.indexOf('*');
  if (star < 0) return p === v;
  const head = p.slice(0, star);
  const tail = p.slice(star + 1);
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail);
}

/**
 * The first rule that allows a request from `origin` with `method` (the preflight's
 * Access-Control-Request-Method, or an actual request's own method) and, for a preflight,
 * each of `requestHeaders`; undefined when none does. Pure.
 */
export function matchCorsRule(config: CorsConfiguration, origin: string, method: string, requestHeaders: readonly string[] = []): CorsRule | undefined {
  return config.rules.find(
    (r) =>
      r.allowedOrigins.some((o) => wildcardMatch(o, origin)) &&
      (r.allowedMethods as readonly string[]).includes(method) &&
      requestHeaders.every((h) => r.allowedHeaders.some((a) => wildcardMatch(a, h, true))),
  );
}

/** Whether the rule allows any origin (`*` alone), to which S3 answers Access-Control-Allow-Origin `*`. Pure. */
export function allowsAnyOrigin(rule: CorsRule): boolean {
  return rule.allowedOrigins.includes('*');
}

/** The stored form of a configuration (S3MetadataStore.setBucketCors): JSON of its rules. Pure. */
export function corsToJson(config: CorsConfiguration): string {
  return JSON.stringify({ v: 1, rules: config.rules });
}

/**
 * A configuration from its stored form (corsToJson). Raises only what JSON.parse raises on
 * text that is not; never validates again (it was checked when it was put).
 */
export function corsFromJson(text: string): CorsConfiguration {
  const stored = JSON.parse(text) as { v: number; rules: CorsRule[] };
  return { rules: stored.rules };
}
