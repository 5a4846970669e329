import type { JsonObject } from './fields.js';

/**
 * Fields that carry key material, plaintext, ciphertext or signatures. They never enter
 * an audit record: CloudTrail records a KMS call's identifiers and context, not its data.
 */
const DATA_FIELDS = new Set([
  'Plaintext',
  'CiphertextBlob',
  'Message',
  'Signature',
  'Mac',
  'PublicKey',
  'PrivateKeyPlaintext',
  'PrivateKeyCiphertextBlob',
  'GrantToken',
  'GrantTokens',
  'Recipient',
  'CiphertextForRecipient',
]);

/**
 * The request or response fields of a KMS call in CloudTrail's spelling (lower-camel-case
 * names at every depth, as CloudTrail writes `keyMetadata.keyId`), without any data field.
 * Encryption context keys are the caller's own and keep their spelling. Never returns
 * plaintext or key material.
 */
export function kmsAuditParameters(body: JsonObject): JsonObject | undefined {
  const out = convert(body) as JsonObject;
  return hasKeys(out) ? out : undefined;
}

/** Object.keys(o).length > 0 without building the key list. */
function hasKeys(o: JsonObject): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

/**
 * `out[k] = v` as an own field for every key. A plain assignment to `__proto__` would set the
 * copy's prototype (or be ignored, for a string) instead: an encryption context key
 * `__proto__`, which the blob is bound to, would vanish from the record. The copy keeps
 * Object.prototype, so the audit encoder still takes it for plain JSON.
 */
function setOwn(out: JsonObject, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  else out[k] = v as JsonObject[string];
}

function convert(value: unknown, verbatim = false): unknown {
  if (Array.isArray(value)) return value.map((v) => convert(v));
  if (value === null || typeof value !== 'object') return value;
  const src = value as Record<string, unknown>;
  const out: JsonObject = {};
  // A for-in over own keys (what Object.entries walks) without building the entry pairs.
  for (const k in src) {
    if (!Object.hasOwn(src, k)) continue;
    const v = src[k];
    if (DATA_FIELDS.has(k) || v === undefined) continue;
    if (verbatim) {
      setOwn(out, k, v);
      continue;
    }
    setOwn(out, auditName(k), convert(v, k.endsWith('EncryptionContext') || k === 'EncryptionContextEquals' || k === 'EncryptionContextSubset'));
  }
  return out;
}

// Wire name → CloudTrail name (first letter lower-cased). Names repeat on every call; the
// cache is bounded in entries and in name length because field names are the caller's and
// are audited before validation (1,024 names of a ~128 KiB body each would pin ~128 MiB).
const AUDIT_NAMES = new Map<string, string>();
/** Longer names are converted each time, never kept: every KMS field name is far shorter. */
const CACHED_NAME_MAX = 64;

function auditName(k: string): string {
  let name = AUDIT_NAMES.get(k);
  if (name === undefined) {
    name = k.charAt(0).toLowerCase() + k.slice(1);
    if (AUDIT_NAMES.size < 1024 && k.length <= CACHED_NAME_MAX) AUDIT_NAMES.set(k, name);
  }
  return name;
}
