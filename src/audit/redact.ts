import type { JsonValue } from './canonical-json.js';
import type { AuditEvent, AuditParameters } from './record.js';

/**
 * Field names whose values are secret and must never enter an audit record, compared
 * after `normalizeFieldName` (case, dashes and underscores ignored), wherever they appear
 * in the record. CloudTrail likewise omits these values. CiphertextBlob is not secret and
 * is not listed; callers leave it out because it is large and useless to an auditor.
 */
export const REDACTED_FIELD_NAMES: readonly string[] = [
  'Plaintext',
  'Body',
  'SecretAccessKey',
  'SessionToken',
  'SSECustomerKey',
  'CopySourceSSECustomerKey',
  'x-amz-server-side-encryption-customer-key',
  'x-amz-copy-source-server-side-encryption-customer-key',
  'KeyMaterial',
  'PrivateKeyPlaintext',
  'Password',
  'Passphrase',
  // An MFA one-time code (STS AssumeRole / GetSessionToken): short-lived, but a credential
  // while it lives. The MFA device's SerialNumber names the device, is not secret, and is kept.
  'TokenCode',
];

const DENYLIST: ReadonlySet<string> = new Set(REDACTED_FIELD_NAMES.map(normalizeFieldName));

/** Lower-cases and strips `-` and `_`, so `SSECustomerKey`, `sse_customer_key` and `ssecustomerkey` compare equal. */
export function normalizeFieldName(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** True when a field of this name is dropped from every record. */
export function isRedactedFieldName(name: string): boolean {
  return DENYLIST.has(normalizeFieldName(name));
}

/** The result of a redaction: the safe value and the paths (never the values) that were dropped. */
export interface Redaction<T> {
  value: T;
  dropped: string[];
}

/**
 * Returns a deep copy of `params` without denylisted fields and without anything that is
 * not plain JSON (Buffers, `SecretBytes`, class instances, functions, bigint, non-finite
 * numbers): binary values are exactly where key material hides. Dates become ISO strings.
 * Call it on requestParameters / responseElements before building an event; the sink
 * runs the same walk over the whole event again. Never throws, never logs a value.
 */
export function redactParameters(params: Record<string, unknown>): AuditParameters {
  return redactObject(params, '$', []);
}

/** Runs the denylist walk over a whole event; `dropped` lists the removed paths. */
export function sanitizeEvent(event: AuditEvent): Redaction<AuditEvent> {
  const dropped: string[] = [];
  const value = redactObject(event as unknown as Record<string, unknown>, '$', dropped);
  return { value: value as unknown as AuditEvent, dropped };
}

function redactObject(obj: Record<string, unknown>, path: string, dropped: string[]): AuditParameters {
  const out: AuditParameters = {};
  for (const [key, v] of Object.entries(obj)) {
    const at = `${path}.${key}`;
    if (isRedactedFieldName(key)) {
      dropped.push(at);
      continue;
    }
    if (v === undefined) continue;
    const safe = redactValue(v, at, dropped);
    // Defined, not assigned: an own `__proto__` key (a JSON-parsed encryption context may
    // carry one) must stay a member, as the encoder writes it, not reach the prototype setter.
    if (safe !== undefined) Object.defineProperty(out, key, { value: safe, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function redactValue(v: unknown, path: string, dropped: string[]): JsonValue | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return Object.is(v, -0) ? 0 : v;
  } else if (v instanceof Date) {
    if (!Number.isNaN(v.getTime())) return v.toISOString();
  } else if (Array.isArray(v)) {
    return v.map((item, i) => redactValue(item, `${path}[${i}]`, dropped) ?? null);
  } else if (typeof v === 'object') {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      return redactObject(v as Record<string, unknown>, path, dropped);
    }
  }
  dropped.push(path);
  return undefined;
}
