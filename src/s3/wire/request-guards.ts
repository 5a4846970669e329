import type { IncomingHttpHeaders } from 'node:http';
import {
  AccessControlListNotSupportedError,
  AccessDeniedError,
  InvalidArgumentError,
  InvalidBucketAclWithObjectOwnershipError,
  InvalidRequestError,
  InvalidStorageClassError,
  KeyTooLongError,
  NotImplementedError,
} from '../errors.js';
import type { WriteCondition } from '../write-condition.js';

/** S3's limit on an object key (UTF-8 bytes), checked where a key is created: older objects stay reachable. */
const MAX_KEY_BYTES = 1024;
const CREATES_KEY = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload']);
/** Writes S3 makes conditional on If-Match / If-None-Match (writeConditionOf); DeleteObject takes If-Match only. */
const CONDITIONAL_WRITES = new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload']);
const OBJECT_LOCK_HEADERS = ['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold'];
/**
 * The x-amz-storage-class values S3's API model lists (StorageClass, as in @aws-sdk/client-s3
 * 3.1175: the API reference's twelve plus FSX_ONTAP and the two AWS Backup classes). Exact and
 * case-sensitive, as S3 compares them. Every object here is stored one way and listed as STANDARD,
 * whichever valid class was asked for; an unknown one is refused rather than silently ignored.
 */
const STORAGE_CLASSES: ReadonlySet<string> = new Set([
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE',
  'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE', 'FSX_OPENZFS', 'FSX_ONTAP', 'AWS_BACKUP_WARM', 'AWS_BACKUP_LOW_COST_WARM',
]);
/**
 * The canned ACLs a bucket with ACLs disabled (S3's Bucket owner enforced, the default since
 * April 2023, and every bucket here) still takes: both leave the owner alone in control.
 */
const OWNER_ONLY_CANNED_ACLS: ReadonlySet<string> = new Set(['private', 'bucket-owner-full-control']);
/** x-amz-object-ownership values S3 knows; only BucketOwnerEnforced is served (the others enable ACLs). */
const OBJECT_OWNERSHIPS: ReadonlySet<string> = new Set(['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter']);
const GRANT_HEADERS = ['x-amz-grant-full-control', 'x-amz-grant-read', 'x-amz-grant-read-acp', 'x-amz-grant-write', 'x-amz-grant-write-acp'];
/**
 * Operations whose body S3 takes only with a digest (Content-MD5 "Required: Yes" in the API
 * reference, httpChecksumRequired / httpChecksum.requestChecksumRequired in its model): a
 * multi-object delete, a bucket tag set, a bucket CORS configuration and a bucket's ownership
 * controls (requestChecksumRequired in botocore's s3 model and @aws-sdk/client-s3's, as for the
 * other three).
 */
const DIGEST_REQUIRED: ReadonlySet<string> = new Set(['DeleteObjects', 'PutBucketTagging', 'PutBucketCors', 'PutBucketOwnershipControls']);
/** x-amz-checksum-* headers that are no checksum value (payload.ts reads the same way). */
const NOT_A_CHECKSUM = new Set(['x-amz-checksum-mode', 'x-amz-checksum-type', 'x-amz-checksum-algorithm']);

/** What the guards look at: the route's operation, whether it addresses an object, its query and headers. */
export interface GuardedRequest {
  readonly operation: string;
  readonly objectLevel: boolean;
  readonly key: string;
  readonly query: ReadonlyMap<string, string>;
  readonly headers: IncomingHttpHeaders;
  /** The account that owns every bucket here. */
  readonly accountId: string;
}

/**
 * Refuses, with S3's error for it, a request that asks for something this server cannot do
 * and would otherwise silently do something else: a key over 1024 bytes (KeyTooLongError), a
 * version other than "null" (InvalidArgument), an If-None-Match other than '*' on a write
 * or any on a delete (NotImplemented, as S3), an x-amz-storage-class S3 does not know on a
 * write that creates a key (InvalidStorageClass), object lock (refused, not done unlocked), a
 * bucket owner other than this account (AccessDenied), a DeleteObjects, PutBucketTagging,
 * PutBucketCors or PutBucketOwnershipControls with neither Content-MD5 nor a checksum header
 * or trailer (InvalidRequest), an ACL granting anyone but
 * the owner (AccessControlListNotSupported; InvalidBucketAclWithObjectOwnership on
 * CreateBucket), a CreateBucket x-amz-object-ownership other than BucketOwnerEnforced
 * (NotImplemented; InvalidArgument for an unknown one). Pure; raises, never answers.
 */
export function refuseUnservable(r: GuardedRequest): void {
  if (CREATES_KEY.has(r.operation) && Buffer.byteLength(r.key) > MAX_KEY_BYTES) throw new KeyTooLongError('');
  if (r.objectLevel && namesAVersion(r.query, r.headers)) throw new InvalidArgumentError('Invalid version id specified');
  const ifNoneMatch = r.headers['if-none-match'];
  if (ifNoneMatch !== undefined && (r.operation === 'DeleteObject' || (CONDITIONAL_WRITES.has(r.operation) && ifNoneMatch.trim() !== '*'))) {
    // S3 takes only '*' on a write (an ETag there is NotImplemented) and no If-None-Match on a delete: refused, never ignored.
    throw new NotImplementedError('');
  }
  const storageClass = r.headers['x-amz-storage-class'];
  if (CREATES_KEY.has(r.operation) && storageClass !== undefined && !STORAGE_CLASSES.has(String(storageClass))) throw new InvalidStorageClassError('');
  if (CREATES_KEY.has(r.operation) && OBJECT_LOCK_HEADERS.some((h) => r.headers[h] !== undefined)) {
    // No bucket here has Object Lock: S3's answer, rather than an object the client believes locked.
    throw new InvalidRequestError('Bucket is missing Object Lock Configuration');
  }
  if (r.operation === 'CreateBucket' && String(r.headers['x-amz-bucket-object-lock-enabled'] ?? '').toLowerCase() === 'true') {
    throw new NotImplementedError('Object Lock is not implemented.');
  }
  if (DIGEST_REQUIRED.has(r.operation) && !carriesBodyDigest(r.headers)) {
    // S3 requires an integrity check on these documents: Content-MD5 or (current SDKs) an x-amz-checksum-*.
    throw new InvalidRequestError('Missing required header for this request: Content-MD5');
  }
  refuseAcl(r);
  for (const h of ['x-amz-expected-bucket-owner', 'x-amz-source-expected-bucket-owner']) {
    const owner = r.headers[h];
    if (owner !== undefined && owner !== r.accountId) throw new AccessDeniedError('');
  }
}

/**
 * ACLs are disabled on every bucket here, as S3's Bucket owner enforced setting disables them:
 * a write may name no ACL or the owner-only canned ones, anything else fails as it fails on S3
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html).
 * It was ignored, so `--acl public-read` stored a private object the client believed public.
 */
function refuseAcl(r: GuardedRequest): void {
  if (!CREATES_KEY.has(r.operation) && r.operation !== 'CreateBucket') return;
  if (r.operation === 'CreateBucket') refuseObjectOwnership(r.headers['x-amz-object-ownership']);
  if (aclHeadersOwnerOnly(r.headers, r.accountId)) return;
  if (r.operation === 'CreateBucket') throw new InvalidBucketAclWithObjectOwnershipError('');
  throw new AccessControlListNotSupportedError('');
}

/**
 * CreateBucket's x-amz-object-ownership: BucketOwnerEnforced (every bucket here) is taken; the
 * settings that enable ACLs are NotImplemented rather than ignored (`create-bucket
 * --object-ownership ObjectWriter` made an owner-enforced bucket and said nothing); any other
 * value is InvalidArgument.
 */
function refuseObjectOwnership(value: string | string[] | undefined): void {
  if (value === undefined || value === 'BucketOwnerEnforced') return;
  if (OBJECT_OWNERSHIPS.has(String(value))) throw new NotImplementedError('Object Ownership other than BucketOwnerEnforced is not implemented.');
  throw new InvalidArgumentError('Invalid x-amz-object-ownership header');
}

/**
 * Whether a request's ACL headers leave the owner alone in control: no x-amz-acl or an
 * owner-only canned one (private, bucket-owner-full-control), and no x-amz-grant-* but an
 * x-amz-grant-full-control naming only the owner's canonical id `ownerId` (`id="…"`, the
 * header form of the owner-only XML ACL S3 takes under Bucket owner enforced). Pure.
 */
export function aclHeadersOwnerOnly(headers: IncomingHttpHeaders, ownerId: string): boolean {
  const canned = headers['x-amz-acl'];
  if (canned !== undefined && !OWNER_ONLY_CANNED_ACLS.has(String(canned))) return false;
  const fullControl = headers['x-amz-grant-full-control'];
  if (fullControl !== undefined && !namesOnly(String(fullControl), ownerId)) return false;
  return GRANT_HEADERS.every((h) => h === 'x-amz-grant-full-control' || headers[h] === undefined);
}

/** Whether an x-amz-grant-* value (`id="a", uri="b", …`) lists grantees and each is `id=` ownerId, quoted or not. */
function namesOnly(value: string, ownerId: string): boolean {
  const grantees = value.split(',').map((g) => g.trim());
  return grantees.every((g) => {
    const m = /^id\s*=\s*(?:"([^"]*)"|([^"\s]*))$/i.exec(g);
    return m !== null && (m[1] ?? m[2]) === ownerId;
  });
}

/** Whether the request carries any ACL header (x-amz-acl or an x-amz-grant-*). Pure. */
export function hasAclHeaders(headers: IncomingHttpHeaders): boolean {
  return headers['x-amz-acl'] !== undefined || GRANT_HEADERS.some((h) => headers[h] !== undefined);
}

/** Whether the request names a digest of its body (payload.ts verifies it): Content-MD5, an x-amz-checksum-* header or trailer. */
function carriesBodyDigest(headers: IncomingHttpHeaders): boolean {
  if (headers['content-md5'] !== undefined) return true;
  if (String(headers['x-amz-trailer'] ?? '').trim().toLowerCase().startsWith('x-amz-checksum-')) return true;
  return Object.keys(headers).some((h) => h.startsWith('x-amz-checksum-') && !NOT_A_CHECKSUM.has(h));
}

/**
 * The If-Match / If-None-Match precondition of a conditional write or delete (see
 * WriteCondition); undefined when the request has neither. refuseUnservable has already
 * refused the values S3 does not take. Pure.
 */
export function writeConditionOf(headers: IncomingHttpHeaders): WriteCondition | undefined {
  const ifMatch = headers['if-match'];
  const ifNoneMatch = headers['if-none-match'];
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return { ...(ifMatch !== undefined ? { ifMatch } : {}), ...(ifNoneMatch !== undefined ? { ifNoneMatch: '*' } : {}) };
}

/**
 * True when the request (or its copy source) names a version other than "null", the only
 * version an object has here (no bucket keeps versions): acting on the current object for it
 * would read, copy or delete data the client did not name.
 */
function namesAVersion(query: ReadonlyMap<string, string>, headers: IncomingHttpHeaders): boolean {
  const own = query.get('versionId');
  const source = /[?&]versionId=([^&]*)/.exec(String(headers['x-amz-copy-source'] ?? ''))?.[1];
  return (own !== undefined && own !== 'null') || (source !== undefined && source !== 'null');
}
