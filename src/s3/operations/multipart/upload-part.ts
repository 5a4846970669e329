import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createSegmentEncryptor, type SecretBytes } from '../../../crypto/index.js';
import { InvalidArgumentError, InvalidRangeError } from '../../errors.js';
import type { ObjectRecord } from '../../metadata-store.js';
import type { PartRecord, UploadRecord } from '../../multipart-store.js';
import type { S3Deps } from '../../s3-deps.js';
import { etagIsPlaintextMd5, sealedBodyEtag } from '../../sse/etag.js';
import { derivePartKey, newPartKeySalt, partDataBinding } from '../../sse/sealing.js';
import type { CustomerKey } from '../../wire/headers/sse.js';
import { keepForReader } from '../copy-object.js';
import { removeUnreferencedBodies } from '../remove-unreferenced.js';
import { checkCopySourceConditions, readCurrent, readPlaintext, unsealObjectKey, type Conditions } from '../read-object.js';
import { MAX_PART_NUMBER } from './limits.js';
import { checkUploadCustomerKey, unsealUploadKey, uploadBinding } from './upload-access.js';

/** UploadPart in domain terms. */
export interface UploadPartRequest {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly partNumber: number;
  /**
   * The part's body, or a function that opens it: called once, only when the body is read
   * (after the upload, its key and the part file are ready). A request body's stream built
   * before those waits and failed during them (a client gone) would emit 'error' with no
   * listener, an uncaught exception that stops the server.
   */
  readonly body: Readable | (() => Readable);
  /** Called once the body has been read, before the part is committed; raises to refuse it. */
  readonly verify: () => void;
  /** Verified checksums; read after `verify` ran. */
  readonly checksums: () => Readonly<Record<string, string>>;
  readonly customer?: CustomerKey;
}

/** Raises InvalidArgumentError unless `raw` is a part number 1–10000. */
export function parsePartNumber(raw: string | undefined): number {
  const n = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw) || n < 1 || n > MAX_PART_NUMBER) {
    throw new InvalidArgumentError('Part number must be an integer between 1 and 10000, inclusive');
  }
  return n;
}

/**
 * UploadPart: seals the body as a segment stream under the part key derivePartKey(K, n, salt)
 * (salt: fresh random bytes, kept in the part row), bound to (bucket, key, uploadId, n); temp file, `verify`, fsync, rename, then the part
 * row (replacing an earlier upload of the same number, whose file's removal is then started,
 * not awaited: a failure is logged, never raised). The ETag follows writeObject's rule
 * (sse/etag.ts), by the upload's mode: the MD5 of the part's plaintext for SSE-S3, 16 random
 * bytes (hex) for SSE-KMS, DSSE-KMS and SSE-C, as S3; MD5 is computed for SSE-S3 parts
 * only. The final ETag needs no plaintext digest (multipartEtag). Raises
 * NoSuchUploadError (also when the upload ended meanwhile: the part is discarded), the
 * SSE-C errors of checkUploadCustomerKey, KMS errors, and `verify`'s errors.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html
 */
export async function uploadPart(deps: S3Deps, req: UploadPartRequest): Promise<{ upload: UploadRecord; part: PartRecord }> {
  await deps.store.getBucket(req.bucket);
  const upload = await deps.store.multipart.getUpload(req.bucket, req.key, req.uploadId);
  const objectKey = await unsealUploadKey(deps, upload, req.customer);
  // Fresh for every upload of this number: a replaced part never opens in its place.
  const keySalt = newPartKeySalt();
  const partKey = derivePartKey(objectKey, req.partNumber, keySalt);
  objectKey.dispose();
  try {
    const sealed = await sealPart(deps, upload, req, partKey);
    const part: PartRecord = {
      uploadId: upload.uploadId,
      partNumber: req.partNumber,
      storageId: sealed.storageId,
      size: sealed.size,
      etag: sealedBodyEtag(sealed.md5Hex),
      lastModified: deps.clock.now(),
      checksums: req.checksums(),
      keySalt,
    };
    await recordPart(deps, upload.bucket, part);
    return { upload, part };
  } finally {
    partKey.dispose();
  }
}

/**
 * Streams the body through the encryptor into a new part file, `verify`, commit; returns
 * its storage id, the plaintext size and, for an SSE-S3 upload only, the plaintext MD5.
 * Discards the file and raises on any failure.
 */
async function sealPart(deps: S3Deps, upload: UploadRecord, req: UploadPartRequest, partKey: SecretBytes): Promise<{ storageId: string; size: number; md5Hex: string | undefined }> {
  // Counted (and, for SSE-S3, hashed) inside the encryptor, as writeObject does: no Transform
  // of its own, and no MD5 (a third of AES-GCM's speed) where the ETag is opaque.
  let size = 0;
  const md5 = etagIsPlaintextMd5(upload.sealedKey.mode) ? createHash('md5') : undefined;
  const observe = (chunk: Buffer): void => {
    size += chunk.length;
    md5?.update(chunk);
  };
  const pending = await deps.backend.create();
  try {
    const aad = partDataBinding(uploadBinding(upload), req.partNumber);
    // The body opened only now, when pipeline listens to it (see UploadPartRequest.body).
    await pipeline(typeof req.body === 'function' ? req.body() : req.body, createSegmentEncryptor(partKey, { aad, segmentSize: upload.segmentSize }, observe), pending.stream);
    req.verify();
    await pending.commit();
  } catch (err) {
    await pending.abort();
    throw err;
  }
  return { storageId: pending.storageId, size, md5Hex: md5?.digest('hex') };
}

async function recordPart(deps: S3Deps, bucket: string, part: PartRecord): Promise<void> {
  let replaced: string | undefined;
  try {
    replaced = await deps.store.multipart.putPart(part);
  } catch (err) {
    await deps.backend.delete(part.storageId);
    throw err;
  }
  // The earlier upload of this part number: no row names it once the new one is durable.
  // Started, not awaited, as a replaced object body (removeUnreferencedBodies).
  if (replaced !== undefined) removeUnreferencedBodies(deps, bucket, [replaced]);
}

/** UploadPartCopy in domain terms. */
export interface UploadPartCopyRequest {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly partNumber: number;
  readonly customer?: CustomerKey;
  readonly source: { readonly bucket: string; readonly key: string };
  readonly sourceCustomer?: CustomerKey;
  readonly conditions: Conditions;
  /** x-amz-copy-source-range, raw. */
  readonly range?: string;
}

/**
 * UploadPartCopy: a part whose body is (a range of) an existing object's plaintext, opened
 * with the source's own mode and key and sealed like any part. Raises NoSuchUploadError,
 * NoSuchBucketError/NoSuchKeyError (source), PreconditionFailedError (any copy-source
 * condition), InvalidArgumentError (malformed range), InvalidRangeError (range past the
 * source), the SSE-C and KMS errors of either side.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
 */
export async function uploadPartCopy(deps: S3Deps, req: UploadPartCopyRequest): Promise<{ upload: UploadRecord; part: PartRecord; source: ObjectRecord }> {
  await deps.store.getBucket(req.bucket);
  checkUploadCustomerKey(await deps.store.multipart.getUpload(req.bucket, req.key, req.uploadId), req.customer);
  await deps.store.getBucket(req.source.bucket);
  // The source body is opened first; if an overwrite or delete removed it since its row was
  // read, the source's current state is copied instead (readCurrent).
  let range: { start: number; endInclusive: number } | undefined;
  const { source, body } = await readCurrent(
    async () => {
      const s = await deps.store.getObject(req.source.bucket, req.source.key);
      checkCopySourceConditions(s, req.conditions);
      range = req.range === undefined ? undefined : parseCopyRange(req.range, s.size);
      return s;
    },
    async (s) => ({ source: s, body: await readPlaintext(deps, s, await unsealObjectKey(deps, s, req.sourceCustomer), range) }),
  );
  // As copyObject's source: a source failing while uploadPart waits to read it (the upload,
  // its key, the part file) must not emit 'error' with no listener; uploadPart raises it.
  body.on('error', keepForReader);
  try {
    const r = await uploadPart(deps, { ...req, body, verify: () => {}, checksums: () => ({}) });
    return { ...r, source };
  } catch (err) {
    body.destroy();
    throw err;
  }
}

function parseCopyRange(raw: string, size: number): { start: number; endInclusive: number } {
  const m = /^bytes=(\d+)-(\d+)$/.exec(raw.trim());
  if (m === null) {
    throw new InvalidArgumentError('The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy');
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (start > end) throw new InvalidArgumentError('The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy');
  if (end >= size) throw new InvalidRangeError(`Range specified is not valid for source object of size: ${size}`);
  return { start, endInclusive: end };
}
