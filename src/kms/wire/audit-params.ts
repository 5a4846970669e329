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
 * top-level names), without any data field. Never returns plaintext or key material.
 */
export function kmsAuditParameters(body: JsonObject): JsonObject | undefined {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(body)) {
    if (DATA_FIELDS.has(k) || v === undefined) continue;
    out[k.charAt(0).toLowerCase() + k.slice(1)] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
