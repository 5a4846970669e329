import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { EntityTooSmallError, InvalidPartError, InvalidPartOrderError, MalformedXmlError } from '../../errors.js';
import type { ObjectRecord, PartLayout } from '../../metadata-store.js';
import type { PartRecord, UploadRecord } from '../../multipart-store.js';
import type { PendingObject } from '../../object-backend.js';
import type { S3Deps } from '../../s3-deps.js';
import type { CustomerKey } from '../../wire/headers/sse.js';
import type { WriteCondition } from '../../write-condition.js';
import { isMissingBody } from '../read-object.js';
import { precheckWriteCondition } from '../write-object.js';
import { removeUnreferencedBodies } from '../remove-unreferenced.js';
import { MAX_PART_NUMBER, MIN_PART_SIZE } from './limits.js';
import { partListTag } from '../../sse/sealing.js';
import { unsealUploadKey } from './upload-access.js';

/** One `<Part>` of the CompleteMultipartUpload document. */
export interface CompletePart {
  readonly partNumber: number;
  readonly etag: string;
  /** `<ChecksumCRC32>` and the like, by lower-case algorithm; checked against the part's. */
  readonly checksums: Readonly<Record<string, string>>;
}

/** CompleteMultipartUpload in domain terms. */
export interface CompleteRequest {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly parts: readonly CompletePart[];
  readonly customer?: CustomerKey;
  /** If-Match / If-None-Match on the key: checked before the parts are joined and atomically with the commit. */
  readonly condition?: WriteCondition;
}

/**
 * CompleteMultipartUpload: checks the part list (MalformedXmlError when empty,
 * InvalidPartOrderError unless strictly ascending, InvalidPartError for a part not uploaded
 * or with another ETag or checksum, EntityTooSmallError for a part but the last under
 * 5 MiB), then writes the listed parts' sealed streams back to back into one body (temp,
 * fsync, rename — ciphertext only, nothing is decrypted) and in one transaction commits
 * the object (with the create's tags) and ends the upload; then starts removing the part
 * files and any replaced body without awaiting it (removeUnreferencedBodies: a failure is
 * logged, never raised).
 * The ETag is MD5(ETag(part 1) ‖ … ‖ ETag(part N)) hex + "-N", over the parts' ETags as bytes
 * (each a plaintext MD5 for SSE-S3, opaque otherwise: see upload-part.ts). SSE-C: the customer
 * key headers are required only for an upload created with a checksum algorithm, as in S3;
 * when given they must match the upload's. Raises NoSuchUploadError
 * (also when another completion or an abort won the race, even one that removed a part file
 * while this one was joining it), InvalidPartError also when an UploadPart replaced a listed
 * part while joining and the list names the replaced ETag (a replacement with the same ETag is
 * joined instead: the object is always one set of part rows, never a mix), the SSE-C errors,
 * and for a `condition` PreconditionFailedError or NoSuchKeyError — the upload then stays
 * open (as in S3), so the client can retry or abort it.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 */
export async function completeUpload(deps: S3Deps, req: CompleteRequest): Promise<{ upload: UploadRecord; object: ObjectRecord }> {
  await deps.store.getBucket(req.bucket);
  const upload = await deps.store.multipart.getUpload(req.bucket, req.key, req.uploadId);
  // The key tags the part list (parts are copied sealed: nothing else needs it). S3 requires
  // SSE-C's headers here only for an upload created with a checksum algorithm; otherwise they
  // may be left out (rclone sends none: no tag then, see partListVerifies), and when given
  // they must be the upload's.
  const objectKey = req.customer !== undefined || upload.sealedKey.mode !== 'SSE-C' || upload.checksumAlgorithm !== undefined ? await unsealUploadKey(deps, upload, req.customer) : undefined;
  let joined: PartRecord[];
  let storageId: string;
  let partsTag: string | undefined;
  try {
    const parts = await chosenParts(deps, upload, req.parts);
    if (req.condition !== undefined) await precheckWriteCondition(deps, req.bucket, req.key, req.condition);
    ({ joined, storageId } = await joinParts(deps, upload, req.parts, parts));
    partsTag = objectKey === undefined ? undefined : partListTag(objectKey, { bucket: upload.bucket, key: upload.key, objectId: upload.uploadId }, joined.map(partLayout));
  } finally {
    objectKey?.dispose();
  }
  const object: ObjectRecord = {
    bucket: upload.bucket,
    key: upload.key,
    objectId: upload.uploadId,
    storageId,
    size: joined.reduce((n, p) => n + p.size, 0),
    etag: multipartEtag(joined),
    lastModified: deps.clock.now(),
    segmentSize: upload.segmentSize,
    content: upload.content,
    userMetadata: upload.userMetadata,
    sealedKey: upload.sealedKey,
    checksums: {},
    parts: joined.map(partLayout),
    ...(partsTag !== undefined ? { partsTag } : {}),
    ...tagsOf(upload),
  };
  let done: { replaced: string | undefined; partStorageIds: string[] };
  try {
    done = await deps.store.multipart.completeUpload(upload.uploadId, object, req.condition);
  } catch (err) {
    await deps.backend.delete(storageId);
    throw err;
  }
  // Started, not awaited: once the completion is durable no row names these files, and a
  // removal that fails (logged) or is cut by a crash is the orphan sweep's; awaited, a failed
  // unlink answered an error for an upload that had completed (a retry: NoSuchUpload).
  removeUnreferencedBodies(deps, upload.bucket, [...done.partStorageIds, ...(done.replaced !== undefined ? [done.replaced] : [])]);
  return { upload, object };
}

async function chosenParts(deps: S3Deps, upload: UploadRecord, requested: readonly CompletePart[]): Promise<PartRecord[]> {
  if (requested.length === 0) throw new MalformedXmlError('');
  requested.forEach((r, i) => {
    const previous = requested[i - 1];
    if (previous !== undefined && r.partNumber <= previous.partNumber) throw new InvalidPartOrderError('');
  });
  const uploaded = new Map((await deps.store.multipart.listParts(upload.uploadId, 0, MAX_PART_NUMBER)).map((p) => [p.partNumber, p]));
  const chosen = requested.map((r) => {
    const p = uploaded.get(r.partNumber);
    if (p === undefined || bare(p.etag) !== bare(r.etag)) throw new InvalidPartError('');
    for (const [algorithm, value] of Object.entries(r.checksums)) {
      const stored = p.checksums[algorithm];
      if (stored !== undefined && stored !== value) throw new InvalidPartError('');
    }
    return p;
  });
  chosen.slice(0, -1).forEach((p) => {
    if (p.size < MIN_PART_SIZE) throw new EntityTooSmallError('');
  });
  return chosen;
}

/**
 * A joined part as the object keeps it: number, size and key salt (its key's derivation
 * input), and its checksums when it had any (GetObjectAttributes lists them).
 */
function partLayout(p: PartRecord): PartLayout {
  return {
    partNumber: p.partNumber,
    size: p.size,
    ...(Object.keys(p.checksums).length > 0 ? { checksums: p.checksums } : {}),
    ...(p.keySalt !== undefined ? { keySalt: p.keySalt } : {}),
  };
}

/** The create's x-amz-tagging as object tags (validated when the upload was created); nothing when untagged. */
function tagsOf(upload: UploadRecord): { tags?: Record<string, string> } {
  const tags = Object.fromEntries(new URLSearchParams(upload.tagging ?? ''));
  return Object.keys(tags).length > 0 ? { tags } : {};
}

function bare(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}

/** S3's multipart ETag: the MD5 of the parts' ETags as binary (MD5s for SSE-S3, opaque otherwise), then "-" and the part count. */
export function multipartEtag(parts: ReadonlyArray<{ readonly etag: string }>): string {
  const md5 = createHash('md5');
  for (const p of parts) md5.update(Buffer.from(bare(p.etag), 'hex'));
  return `"${md5.digest('hex')}-${parts.length}"`;
}

/** The most joins one completion makes: each retry needs another request to have replaced a listed part meanwhile. */
const MAX_JOINS = 3;

/**
 * Joins `parts` (chosen from the rows read before) into one committed body; returns the parts
 * it joined and the body's storage id. A listed part's file missing (isMissingBody) means the
 * upload changed since its rows were read, and the file was removed after that change was
 * durable: another completion or an abort ended the upload (NoSuchUploadError, from the
 * re-check), or an UploadPart replaced a listed part (the list is checked anew against the
 * current rows — InvalidPartError when it names the replaced ETag — and joined again). The
 * body only ever holds the parts of one set of rows, never a mix. A file missing under rows that
 * did not change (or after MAX_JOINS) raises the read's own error. Discards its body on failure.
 */
async function joinParts(deps: S3Deps, upload: UploadRecord, requested: readonly CompletePart[], first: PartRecord[]): Promise<{ joined: PartRecord[]; storageId: string }> {
  let parts = first;
  for (let joins = 1; ; joins++) {
    try {
      return { joined: parts, storageId: await joinBody(deps, parts) };
    } catch (err) {
      if (!isMissingBody(err) || joins >= MAX_JOINS) throw err;
      await deps.store.multipart.getUpload(upload.bucket, upload.key, upload.uploadId);
      const current = await chosenParts(deps, upload, requested);
      if (current.every((p, i) => p.storageId === parts[i]?.storageId)) throw err;
      parts = current;
    }
  }
}

/** Writes the parts' sealed streams back to back into a new body and commits it; returns its storage id, or discards it and raises. */
async function joinBody(deps: S3Deps, parts: readonly PartRecord[]): Promise<string> {
  const pending = await deps.backend.create();
  try {
    await concatenate(deps, parts, pending);
    await pending.commit();
  } catch (err) {
    await pending.abort();
    throw err;
  }
  return pending.storageId;
}

async function concatenate(deps: S3Deps, parts: readonly PartRecord[], pending: PendingObject): Promise<void> {
  const out = pending.stream;
  for (const p of parts) {
    for await (const chunk of deps.backend.read(p.storageId)) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
}
