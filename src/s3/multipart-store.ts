import type { ContentHeaders, ObjectRecord } from './metadata-store.js';
import type { SealedObjectKey } from './sse/sealing.js';
import type { WriteCondition } from './write-condition.js';

/**
 * An incomplete multipart upload: everything CreateMultipartUpload fixed for the final
 * object. Holds no secret: the object key is sealed, and of an SSE-C key only the MD5 the
 * client sent (to echo it and to refuse a different key early) is kept.
 */
export interface UploadRecord {
  readonly uploadId: string;
  readonly bucket: string;
  readonly key: string;
  readonly initiated: Date;
  /** The upload's object key, sealed for (bucket, key, objectId = uploadId). */
  readonly sealedKey: SealedObjectKey;
  readonly segmentSize: number;
  readonly content: ContentHeaders;
  readonly userMetadata: Readonly<Record<string, string>>;
  /** The raw x-amz-tagging header of the create request, applied to the final object. */
  readonly tagging?: string;
  readonly bucketKeyEnabled: boolean;
  /** SSE-C: base64 MD5 of the customer key given at create. */
  readonly customerKeyMd5?: string;
  /** x-amz-checksum-algorithm of the create request, lower-cased (echoed back). */
  readonly checksumAlgorithm?: string;
}

/** One uploaded part: where its sealed bytes are and what S3 says about it. */
export interface PartRecord {
  readonly uploadId: string;
  readonly partNumber: number;
  readonly storageId: string;
  /** Plaintext size. */
  readonly size: number;
  /** Quoted 32-hex ETag: the MD5 of the part's plaintext for SSE-S3, random (opaque) for SSE-KMS, DSSE-KMS and SSE-C. */
  readonly etag: string;
  readonly lastModified: Date;
  readonly checksums: Readonly<Record<string, string>>;
  /**
   * The salt its key was derived with (derivePartKey: base64 of fresh random bytes per upload
   * of the part); absent for parts written before part keys were salted (v1 derivation).
   */
  readonly keySalt?: string;
}

/** Where a ListMultipartUploads page starts: keys after keyMarker, or with uploadIdMarker the same key's later uploads too. */
export interface UploadScan {
  readonly prefix: string;
  readonly keyMarker: string;
  readonly uploadIdMarker?: string;
  readonly limit: number;
}

/**
 * Multipart upload state, kept beside the object metadata (S3MetadataStore.multipart).
 * Implementations: SqliteS3MultipartStore. Errors: NoSuchUploadError (s3/errors.ts).
 * Never stores key material.
 */
export interface S3MultipartStore {
  createUpload(upload: UploadRecord): Promise<void>;
  /** Raises NoSuchUploadError unless the upload exists for this bucket and key. */
  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord>;
  /**
   * Records a part (replacing the same part number); returns the storage id it replaced,
   * for the caller to delete. Raises NoSuchUploadError if the upload is gone (aborted or
   * completed meanwhile): the caller then deletes the part it wrote.
   */
  putPart(part: PartRecord): Promise<string | undefined>;
  /** Parts with number > afterPart, ascending, at most limit. */
  listParts(uploadId: string, afterPart: number, limit: number): Promise<PartRecord[]>;
  /** Uploads of a bucket in (key, uploadId) order — upload ids sort by initiation time. */
  listUploads(bucket: string, scan: UploadScan): Promise<UploadRecord[]>;
  /**
   * Removes the upload and its part rows; returns the storage ids of its parts, for the
   * caller to delete. Raises NoSuchUploadError.
   */
  deleteUpload(bucket: string, key: string, uploadId: string): Promise<string[]>;
  /**
   * In one transaction: commits `object` (as putObject does) and removes the upload and its
   * part rows. Returns the replaced object's storage id and the parts' storage ids, for the
   * caller to delete. Raises NoSuchUploadError (nothing committed) and putObject's errors;
   * a `condition` that fails (putObject's) rolls the whole step back, so the upload stays open.
   */
  completeUpload(uploadId: string, object: ObjectRecord, condition?: WriteCondition): Promise<{ replaced: string | undefined; partStorageIds: string[] }>;
}
