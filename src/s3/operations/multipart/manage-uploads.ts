import { InvalidArgumentError } from '../../errors.js';
import type { PartRecord, UploadRecord } from '../../multipart-store.js';
import type { S3Deps } from '../../s3-deps.js';
import { MAX_LIST_ENTRIES } from './limits.js';

/**
 * AbortMultipartUpload: ends the upload and deletes its parts. Raises NoSuchBucketError,
 * NoSuchUploadError. https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
 */
export async function abortUpload(deps: S3Deps, bucket: string, key: string, uploadId: string): Promise<void> {
  await deps.store.getBucket(bucket);
  for (const id of await deps.store.multipart.deleteUpload(bucket, key, uploadId)) await deps.backend.delete(id);
}

/** One ListParts page. */
export interface PartsPage {
  readonly upload: UploadRecord;
  readonly parts: readonly PartRecord[];
  readonly truncated: boolean;
  /** The last part number of this page (the next page's part-number-marker). */
  readonly nextMarker: number;
}

/**
 * ListParts: parts after `marker`, ascending, at most maxParts (≤ 1000). Raises
 * NoSuchBucketError, NoSuchUploadError. No key is needed, SSE-C included (as S3).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html
 */
export async function listParts(deps: S3Deps, bucket: string, key: string, uploadId: string, marker: number, maxParts: number): Promise<PartsPage> {
  await deps.store.getBucket(bucket);
  const upload = await deps.store.multipart.getUpload(bucket, key, uploadId);
  const limit = Math.min(maxParts, MAX_LIST_ENTRIES);
  const rows = await deps.store.multipart.listParts(uploadId, marker, limit + 1);
  const parts = rows.slice(0, limit);
  return { upload, parts, truncated: rows.length > limit, nextMarker: parts.at(-1)?.partNumber ?? 0 };
}

/** A ListMultipartUploads request in domain terms. */
export interface UploadListRequest {
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter?: string;
  readonly keyMarker: string;
  readonly uploadIdMarker?: string;
  readonly maxUploads: number;
}

/** One ListMultipartUploads page; `next` is where the following page starts when truncated. */
export interface UploadsPage {
  readonly uploads: readonly UploadRecord[];
  readonly commonPrefixes: readonly string[];
  readonly truncated: boolean;
  readonly next?: { readonly keyMarker: string; readonly uploadIdMarker?: string };
}

const PAST = '\u{10FFFF}';

/**
 * ListMultipartUploads: incomplete uploads in (key, initiation) order under the prefix,
 * rolled up into common prefixes at the delimiter, at most maxUploads entries. An
 * upload-id-marker counts only with a key-marker (as S3). Raises NoSuchBucketError.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html
 */
export async function listUploads(deps: S3Deps, req: UploadListRequest): Promise<UploadsPage> {
  await deps.store.getBucket(req.bucket);
  const uploads: UploadRecord[] = [];
  const prefixes: string[] = [];
  const max = Math.min(req.maxUploads, MAX_LIST_ENTRIES);
  let keyMarker = req.keyMarker;
  let uploadIdMarker = req.keyMarker !== '' ? req.uploadIdMarker : undefined;
  if (max === 0) return { uploads, commonPrefixes: prefixes, truncated: false };
  for (;;) {
    const batch = await deps.store.multipart.listUploads(req.bucket, { prefix: req.prefix, keyMarker, ...(uploadIdMarker !== undefined ? { uploadIdMarker } : {}), limit: MAX_LIST_ENTRIES });
    if (batch.length === 0) return { uploads, commonPrefixes: prefixes, truncated: false };
    let rolledUp = false;
    for (const u of batch) {
      const common = commonPrefix(u.key, req.prefix, req.delimiter);
      if (common !== undefined && common <= req.keyMarker) {
        // This prefix was answered on an earlier page (the key-marker names it).
        keyMarker = common + PAST;
        uploadIdMarker = undefined;
        rolledUp = true;
        break;
      }
      if (uploads.length + prefixes.length === max) {
        const last = uploads.at(-1);
        const lastPrefix = prefixes.at(-1);
        const next = lastPrefix !== undefined && (last === undefined || lastPrefix > last.key) ? { keyMarker: lastPrefix } : { keyMarker: last?.key ?? '', ...(last !== undefined ? { uploadIdMarker: last.uploadId } : {}) };
        return { uploads, commonPrefixes: prefixes, truncated: true, next };
      }
      if (common !== undefined) {
        prefixes.push(common);
        keyMarker = common + PAST;
        uploadIdMarker = undefined;
        rolledUp = true;
        break;
      }
      uploads.push(u);
      keyMarker = u.key;
      uploadIdMarker = u.uploadId;
    }
    if (!rolledUp && batch.length < MAX_LIST_ENTRIES) return { uploads, commonPrefixes: prefixes, truncated: false };
  }
}

function commonPrefix(key: string, prefix: string, delimiter: string | undefined): string | undefined {
  if (delimiter === undefined || delimiter === '') return undefined;
  const i = key.indexOf(delimiter, prefix.length);
  return i < 0 ? undefined : key.slice(0, i + delimiter.length);
}

/**
 * Parses a non-negative integer query parameter (max-parts, max-uploads, part-number-marker);
 * raises InvalidArgumentError, also above 2^31-1 (S3 reads these as 32-bit integers).
 */
export function parseCount(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d{1,10}$/.test(raw) || n > 2 ** 31 - 1) throw new InvalidArgumentError(`Provided ${name} not an integer or within integer range`);
  return n;
}
