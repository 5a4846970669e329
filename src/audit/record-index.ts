import type { AuditEvent } from './record.js';

/** What a lookup can search by besides the plain columns. */
export type AuditTermKind = 'key' | 'bucket' | 'principal';

/** One searchable value of a record. */
export interface AuditTerm {
  kind: AuditTermKind;
  value: string;
}

const KEY_PARAMS = new Set(['keyid', 'targetkeyid', 'sourcekeyid', 'destinationkeyid', 'aliasname', 'ssekmskeyid', 'kmskeyid', 'xamzserversideencryptionawskmskeyid']);
const KMS_ARN = /^arn:[^:]+:kms:[^:]*:[^:]*:((key|alias)\/.+)$/;
const S3_ARN = /^arn:[^:]+:s3:::([^/]+)/;

/**
 * The most specific form of a key reference: a key ARN becomes its key id, an alias ARN
 * becomes `alias/name`, anything else is returned unchanged. Records are indexed and
 * queries are matched in this form, so a key id finds calls that named the key by ARN.
 */
export function normalizeKeyReference(ref: string): string {
  const m = KMS_ARN.exec(ref);
  if (!m?.[1]) return ref;
  return m[2] === 'key' ? m[1].slice('key/'.length) : m[1];
}

/** Bucket name from an S3 bucket or object ARN, or the input when it is not one. */
export function normalizeBucketReference(ref: string): string {
  return S3_ARN.exec(ref)?.[1] ?? ref;
}

/**
 * The key, bucket and principal terms of an event, deduplicated and sorted, taken from
 * userIdentity, resources, requestParameters (top level) and responseElements.keyMetadata.
 * Pure; never throws on odd shapes.
 */
export function indexTermsOf(event: AuditEvent): AuditTerm[] {
  const terms = new Map<string, AuditTerm>();
  const add = (kind: AuditTermKind, value: unknown): void => {
    if (typeof value === 'string' && value !== '') terms.set(`${kind}\u0000${value}`, { kind, value });
  };
  const id = event.userIdentity;
  add('principal', id.arn);
  add('principal', id.accessKeyId);
  add('principal', id.principalId);
  add('principal', id.sessionContext?.sessionIssuer?.arn);
  for (const [name, v] of Object.entries(event.requestParameters ?? {})) {
    const n = name.toLowerCase().replace(/[-_]/g, '');
    if (KEY_PARAMS.has(n) && typeof v === 'string') add('key', normalizeKeyReference(v));
    if (n === 'bucketname' && typeof v === 'string') add('bucket', v);
  }
  for (const r of event.resources ?? []) {
    if (KMS_ARN.test(r.ARN)) add('key', normalizeKeyReference(r.ARN));
    else if (S3_ARN.test(r.ARN)) add('bucket', normalizeBucketReference(r.ARN));
  }
  const meta = event.responseElements?.['keyMetadata'];
  if (meta !== null && typeof meta === 'object' && !Array.isArray(meta)) add('key', meta['keyId']);
  return [...terms.values()].sort((a, b) => (a.kind + a.value < b.kind + b.value ? -1 : 1));
}
