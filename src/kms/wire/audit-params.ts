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
  return Object.keys(out).length > 0 ? out : undefined;
}

function convert(value: unknown, verbatim = false): unknown {
  if (Array.isArray(value)) return value.map((v) => convert(v));
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (DATA_FIELDS.has(k) || v === undefined) continue;
    if (verbatim) {
      out[k] = v;
      continue;
    }
    out[k.charAt(0).toLowerCase() + k.slice(1)] = convert(v, k.endsWith('EncryptionContext') || k === 'EncryptionContextEquals' || k === 'EncryptionContextSubset');
  }
  return out;
}
