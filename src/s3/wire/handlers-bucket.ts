import { listObjects } from '../operations/list-objects.js';
import { createBucket, deleteBucket, getBucketEncryption, putBucketEncryption } from '../operations/buckets.js';
import { echoed } from '../../common/bounded-echo.js';
import { InvalidArgumentError, NoSuchVersionError } from '../errors.js';
import { parseCount } from '../operations/multipart/manage-uploads.js';
import type { S3Call } from './call.js';
import { deleteResultXml, encryptionXml, type DeleteEntry, listBucketsXml, listObjectsXml, locationXml, parseCreateBucket, parseDelete, parseEncryption, S3_NS, versioningXml } from './xml.js';
import { toS3WireError } from './error-codes.js';

/**
 * ListBuckets, with S3's prefix, bucket-region, max-buckets (1 to 10,000) and
 * continuation-token: any of them makes a page of at most max-buckets (10,000 when not
 * given), with a ContinuationToken when more buckets follow. Raises InvalidArgumentError for
 * a bad max-buckets or token. https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
 */
export async function listBucketsRoute(c: S3Call): Promise<void> {
  const prefix = c.query.get('prefix');
  const region = c.query.get('bucket-region');
  const token = c.query.get('continuation-token');
  const maxBuckets = maxBucketsOf(c.query.get('max-buckets'));
  const after = token !== undefined && token !== '' ? decodeToken(token) : '';
  const all = (await c.deps.store.listBuckets()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const wanted = all.filter((b) => b.name > after && (prefix === undefined || b.name.startsWith(prefix)) && (region === undefined || b.region === region));
  const paged = maxBuckets !== undefined || prefix !== undefined || region !== undefined || token !== undefined;
  const page = paged ? wanted.slice(0, maxBuckets ?? 10_000) : wanted;
  const last = page.at(-1);
  const more = page.length < wanted.length && last !== undefined;
  const next = more ? { continuationToken: Buffer.from(last.name, 'utf8').toString('base64url') } : {};
  c.send(200, {}, listBucketsXml(c.owner, page, { ...next, ...(prefix !== undefined ? { prefix } : {}) }));
}

/** max-buckets: an integer from 1 to 10,000, as S3 takes it; undefined when absent. */
function maxBucketsOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d{1,5}$/.test(raw) || n < 1 || n > 10_000) throw new InvalidArgumentError('Argument max-buckets must be an integer between 1 and 10000');
  return n;
}

/** CreateBucket. https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html */
export async function createBucketRoute(c: S3Call): Promise<void> {
  const location = parseCreateBucket(await c.readSmall());
  await createBucket(c.deps, c.bucket, location);
  c.send(200, { location: `/${c.bucket}` });
}

/** HeadBucket. https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html */
export async function headBucketRoute(c: S3Call): Promise<void> {
  const b = await c.deps.store.getBucket(c.bucket);
  c.send(200, { 'x-amz-bucket-region': b.region });
}

/** DeleteBucket. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html */
export async function deleteBucketRoute(c: S3Call): Promise<void> {
  await deleteBucket(c.deps, c.bucket);
  c.send(204);
}

/** GetBucketLocation. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html */
export async function getBucketLocationRoute(c: S3Call): Promise<void> {
  const b = await c.deps.store.getBucket(c.bucket);
  c.send(200, {}, locationXml(b.region));
}

/** GetBucketVersioning: buckets are unversioned for now, so an empty configuration. */
export async function getBucketVersioningRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  c.send(200, {}, versioningXml());
}

/** PutBucketEncryption. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html */
export async function putBucketEncryptionRoute(c: S3Call): Promise<void> {
  const body = await c.readSmall();
  // The bucket before the document, as S3: any document for a missing bucket is NoSuchBucket.
  await c.deps.store.getBucket(c.bucket);
  const rule = parseEncryption(body);
  await putBucketEncryption(c.deps, c.bucket, rule);
  // Noted once stored, so a refused or denied configuration records none. One rule (all S3
  // takes) of a known algorithm and a key id, the key id cut at KMS's KeyId limit (it is not
  // checked here, so it may be as long as the 1 MiB body); a KMS key id is no secret (SSE-C
  // keys never appear in this call).
  c.note({ requestDocument: { ServerSideEncryptionConfiguration: cloudTrailEncryption(rule) } });
  c.send(200);
}

/** The longest KMSMasterKeyID recorded whole: KMS's KeyId limit (2048); a longer one is cut, marked `...`. */
export const MAX_RECORDED_KEY_ID_CHARS = 2048;

/**
 * A stored default-encryption rule as CloudTrail records PutBucketEncryption's
 * `ServerSideEncryptionConfiguration` (its XML read into JSON, as PutBucketTagging's
 * `Tagging`): the S3 namespace as `xmlns`, the single `Rule` as one object, BucketKeyEnabled as
 * a boolean. Never throws.
 */
function cloudTrailEncryption(rule: { algorithm: string; kmsKeyId?: string; bucketKeyEnabled: boolean }): Record<string, unknown> {
  const byDefault = { SSEAlgorithm: rule.algorithm, ...(rule.kmsKeyId !== undefined ? { KMSMasterKeyID: echoed(rule.kmsKeyId, MAX_RECORDED_KEY_ID_CHARS) } : {}) };
  return { xmlns: S3_NS, Rule: { ApplyServerSideEncryptionByDefault: byDefault, BucketKeyEnabled: rule.bucketKeyEnabled } };
}

/** GetBucketEncryption. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html */
export async function getBucketEncryptionRoute(c: S3Call): Promise<void> {
  c.send(200, {}, encryptionXml(await getBucketEncryption(c.deps, c.bucket)));
}

/** DeleteBucketEncryption: back to the SSE-S3 floor. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketEncryption.html */
export async function deleteBucketEncryptionRoute(c: S3Call): Promise<void> {
  await c.deps.store.setBucketEncryption(c.bucket, undefined);
  c.send(204);
}

/**
 * DeleteObjects (with Quiet). https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 * A key named with a `<VersionId>` has it echoed in its Deleted or Error entry, as S3 does.
 * Objects here have one version, "null": a key named with another is a NoSuchVersion entry,
 * its object kept (deleting the current object for it would delete what was not named).
 */
export async function deleteObjectsRoute(c: S3Call): Promise<void> {
  const { objects, quiet } = parseDelete(await c.readSmall(2 * 1024 * 1024));
  await c.deps.store.getBucket(c.bucket);
  const deleted: DeleteEntry[] = [];
  const errors: Array<DeleteEntry & { code: string; message: string }> = [];
  for (const { key, versionId, etag } of objects) {
    const entry: DeleteEntry = versionId !== undefined ? { key, versionId } : { key };
    try {
      // As S3: s3:DeleteObject (s3:DeleteObjectVersion for a key named with a <VersionId>, and, for
      // an <ETag>, s3:GetObject) is decided per key; a refused key is an AccessDenied entry.
      await c.authorize(versionId !== undefined ? 's3:DeleteObjectVersion' : 's3:DeleteObject', { bucket: c.bucket, key });
      if (etag !== undefined) await c.authorize('s3:GetObject', { bucket: c.bucket, key });
      if (versionId !== undefined && versionId !== 'null') throw new NoSuchVersionError('');
      // An <ETag> makes this key's delete conditional: a mismatch is a PreconditionFailed entry, the object kept.
      const storageId = await c.deps.store.deleteObject(c.bucket, key, etag !== undefined ? { ifMatch: etag } : undefined);
      if (storageId !== undefined) await c.deps.backend.delete(storageId);
      if (!quiet) deleted.push(entry);
    } catch (err) {
      const w = toS3WireError(err);
      errors.push({ ...entry, code: w.code, message: w.message });
    }
  }
  c.send(200, {}, deleteResultXml(deleted, errors, (s) => s));
}

/**
 * The max-keys of a listing (1000 when absent), read as max-parts and max-uploads are (a
 * 32-bit count, parseCount), capped at 1000 as S3 does. Raises InvalidArgumentError for a bad count.
 */
export function maxKeysOf(c: S3Call): number {
  return Math.min(parseCount(c.query.get('max-keys'), 'max-keys', 1000), 1000);
}

/** The encoding-type of a listing. Raises InvalidArgumentError for any but 'url'. */
export function encodingOf(c: S3Call): 'url' | undefined {
  const e = c.query.get('encoding-type');
  if (e === undefined) return undefined;
  if (e !== 'url') throw new InvalidArgumentError('Invalid Encoding Method specified in Request');
  return 'url';
}

/** ListObjects (v1) and ListObjectsV2 (list-type=2). https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html */
export async function listObjectsRoute(c: S3Call): Promise<void> {
  const v2 = c.query.get('list-type') === '2';
  const prefix = c.query.get('prefix') ?? '';
  const delimiter = c.query.get('delimiter');
  const maxKeys = maxKeysOf(c);
  const encodingType = encodingOf(c);
  const token = c.query.get('continuation-token');
  const startAfter = c.query.get('start-after');
  const marker = c.query.get('marker');
  const after = v2 ? (token !== undefined ? decodeToken(token) : (startAfter ?? '')) : (marker ?? '');
  const page = await listObjects(c.deps, { bucket: c.bucket, prefix, after, maxKeys, ...(delimiter !== undefined && delimiter !== '' ? { delimiter } : {}) });
  const nextToken = v2 && page.truncated && page.lastPosition !== undefined ? Buffer.from(page.lastPosition, 'utf8').toString('base64url') : undefined;
  c.send(
    200,
    {},
    listObjectsXml(page, {
      version: v2 ? 2 : 1,
      bucket: c.bucket,
      prefix,
      maxKeys,
      ...(delimiter !== undefined && delimiter !== '' ? { delimiter } : {}),
      ...(encodingType !== undefined ? { encodingType } : {}),
      ...(marker !== undefined ? { marker } : {}),
      ...(startAfter !== undefined ? { startAfter } : {}),
      ...(token !== undefined ? { continuationToken: token } : {}),
      ...(nextToken !== undefined ? { nextToken } : {}),
      ...(!v2 || c.query.get('fetch-owner') === 'true' ? { owner: c.owner } : {}),
    }),
  );
}

function decodeToken(token: string): string {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (text === '' || Buffer.from(text, 'utf8').toString('base64url') !== token) throw new InvalidArgumentError('The continuation token provided is incorrect');
  return text;
}

