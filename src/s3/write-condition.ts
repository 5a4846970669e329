import { NoSuchKeyError, PreconditionFailedError } from './errors.js';

/**
 * A conditional write's precondition on the object currently under the key (S3 conditional
 * writes and deletes): `ifNoneMatch` '*' — no object may exist; `ifMatch` — an object must
 * exist and its ETag match (or, for '*', merely exist). Both set: both must hold.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export interface WriteCondition {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: '*';
}

/**
 * Checks a condition against the ETag of the object under the key (undefined: none exists).
 * Raises NoSuchKeyError for If-Match on a missing object (S3 answers 404 there, not 412) and
 * PreconditionFailedError naming the failed header otherwise; returns when the write may go
 * ahead. Pure: a store calls it inside the transaction that commits the write, so the check
 * and the commit are one atomic step.
 */
export function checkWriteCondition(currentEtag: string | undefined, c: WriteCondition): void {
  if (c.ifMatch !== undefined) {
    if (currentEtag === undefined) throw new NoSuchKeyError('');
    if (c.ifMatch.trim() !== '*' && bareEtag(c.ifMatch) !== bareEtag(currentEtag)) throw new PreconditionFailedError('', { condition: 'If-Match' });
  }
  if (c.ifNoneMatch !== undefined && currentEtag !== undefined) throw new PreconditionFailedError('', { condition: 'If-None-Match' });
}

/** An ETag without quotes or weak prefix, lower-cased: clients send it quoted or bare. */
function bareEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}
