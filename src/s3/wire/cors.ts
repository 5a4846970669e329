import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { echoed } from '../../common/bounded-echo.js';
import { allowsAnyOrigin, corsFromJson, isCorsMethod, matchCorsRule, type CorsConfiguration, type CorsRule } from '../cors/cors-config.js';
import { BadRequestError, CorsForbiddenError, NoSuchBucketError } from '../errors.js';
import type { S3MetadataStore } from '../metadata-store.js';

/** The audit name of a preflight (S3's server access log calls it REST.OPTIONS.PREFLIGHT). */
export const PREFLIGHT_OPERATION = 'PreflightRequest';

/** S3's Vary on every CORS answer: the answer depends on these request headers. */
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';

/** More distinct configuration texts than this and the cache starts over (bounded: bucket names are the caller's). */
const MAX_CACHED = 1024;

/**
 * Bucket CORS configurations for the requests that carry an Origin header. Each lookup reads
 * the bucket's stored text (one indexed point read of one column, so a change made through
 * any process of a shared database applies to the next request), and keeps the parse per
 * bucket and text: an unchanged configuration is parsed once. Never holds anything secret.
 */
export class CorsConfigCache {
  readonly #parsed = new Map<string, { readonly text: string; readonly config: CorsConfiguration }>();

  constructor(private readonly store: Pick<S3MetadataStore, 'getBucketCors'>) {}

  /**
   * The bucket's configuration, or undefined when it has none. Raises NoSuchBucketError for a
   * missing bucket, and what the store raises.
   */
  async lookup(bucket: string): Promise<CorsConfiguration | undefined> {
    const text = await this.store.getBucketCors(bucket);
    if (text === undefined) return undefined;
    const cached = this.#parsed.get(bucket);
    if (cached !== undefined && cached.text === text) return cached.config;
    const config = corsFromJson(text);
    if (this.#parsed.size >= MAX_CACHED) this.#parsed.clear();
    this.#parsed.set(bucket, { text, config });
    return config;
  }
}

/**
 * Answers a CORS preflight (OPTIONS object or bucket) as S3 does, without authentication
 * (browsers send no credentials on a preflight):
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html. 200 with the
 * Access-Control-* headers of the first rule that allows the Origin, the requested method and
 * every requested header. Raises BadRequestError (no Origin; on a configured bucket, a
 * missing or unknown Access-Control-Request-Method) and CorsForbiddenError (no bucket or no
 * configuration, naming BUCKET; no rule, naming OBJECT or BUCKET as `target` says), for the
 * caller to answer as S3's XML error; a caller's value is quoted at most MAX_ECHOED_CHARS
 * long. Never reads the body.
 */
export async function answerPreflight(
  req: IncomingMessage,
  res: ServerResponse,
  target: { readonly bucket: string | undefined; readonly objectLevel: boolean },
  cors: CorsConfigCache,
  common: OutgoingHttpHeaders,
): Promise<void> {
  const origin = req.headers.origin;
  if (origin === undefined) throw new BadRequestError('');
  const method = req.headers['access-control-request-method'];
  // As S3: no bucket, or no configuration, is refused before the request method is looked at,
  // naming the method asked for (OPTIONS when none) and BUCKET, even when a key was addressed.
  const unconfigured = { method: echoed(method ?? 'OPTIONS'), resourceType: 'BUCKET' as const };
  if (target.bucket === undefined) throw new CorsForbiddenError('CORSResponse: Bucket not found', unconfigured);
  const config = await configOrForbidden(cors, target.bucket, unconfigured);
  if (method === undefined || !isCorsMethod(method)) throw new BadRequestError(`Invalid Access-Control-Request-Method: ${echoed(method ?? 'null')}`);
  const requested = requestedHeaders(req.headers['access-control-request-headers']);
  const refusal = { method, resourceType: target.objectLevel ? ('OBJECT' as const) : ('BUCKET' as const) };
  const rule = matchCorsRule(config, origin, method, requested);
  if (rule === undefined) throw new CorsForbiddenError('', refusal);
  const headers: OutgoingHttpHeaders = { ...common, ...ruleHeaders(rule, origin) };
  if (requested.length > 0) headers['access-control-allow-headers'] = requested.join(', ');
  headers['content-length'] = 0;
  res.writeHead(200, headers);
  res.end();
}

async function configOrForbidden(cors: CorsConfigCache, bucket: string, refusal: { method: string; resourceType: 'OBJECT' | 'BUCKET' }): Promise<CorsConfiguration> {
  let config: CorsConfiguration | undefined;
  try {
    config = await cors.lookup(bucket);
  } catch (err) {
    if (err instanceof NoSuchBucketError) throw new CorsForbiddenError('CORSResponse: Bucket not found', { cause: err, ...refusal });
    throw err;
  }
  if (config === undefined) throw new CorsForbiddenError('CORSResponse: CORS is not enabled for this bucket.', refusal);
  return config;
}

/**
 * Sets, on a response not yet started, the CORS headers of an actual (non-preflight)
 * request that carries an Origin: those of the first rule allowing that origin and the
 * request's method, and Vary whenever the bucket has a configuration (so a shared cache never
 * hands one origin's answer to another). They are set with setHeader, so they go out with
 * whatever status line follows, error answers included. Nothing when the bucket has no
 * configuration or does not exist. Never throws for a store failure: the request goes on
 * without the headers (logged by `onError`).
 */
export async function addActualCorsHeaders(res: ServerResponse, origin: string, method: string, bucket: string, cors: CorsConfigCache, onError: (err: unknown) => void): Promise<void> {
  let config: CorsConfiguration | undefined;
  try {
    config = await cors.lookup(bucket);
  } catch (err) {
    if (!(err instanceof NoSuchBucketError)) onError(err);
    return;
  }
  if (config === undefined) return;
  const rule = matchCorsRule(config, origin, method);
  if (rule === undefined) {
    res.setHeader('vary', VARY);
    return;
  }
  for (const [name, value] of Object.entries(ruleHeaders(rule, origin))) res.setHeader(name, value);
}

/** The headers a matched rule gives both a preflight and an actual request. */
function ruleHeaders(rule: CorsRule, origin: string): Record<string, string> {
  const any = allowsAnyOrigin(rule);
  const headers: Record<string, string> = { 'access-control-allow-origin': any ? '*' : origin, 'access-control-allow-methods': rule.allowedMethods.join(', ') };
  if (rule.exposeHeaders.length > 0) headers['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) headers['access-control-max-age'] = String(rule.maxAgeSeconds);
  // As S3: credentials are allowed for a named origin, never with the `*` answer (browsers refuse that pair).
  if (!any) headers['access-control-allow-credentials'] = 'true';
  headers['vary'] = VARY;
  return headers;
}

/**
 * Access-Control-Request-Headers as a list of names (comma-separated, blanks dropped), lower-cased:
 * S3 answers Access-Control-Allow-Headers with the requested names in lower case (LocalStack's
 * AWS-validated test_cors_match_headers), and header names are case-insensitive.
 */
function requestedHeaders(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}
