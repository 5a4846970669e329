import type { S3MultipartStore } from './multipart-store.js';
import type { SealedObjectKey } from './sse/sealing.js';
import type { WriteCondition } from './write-condition.js';

/**
 * A bucket's default encryption (PutBucketEncryption), applied to writes without SSE headers.
 * Stored as JSON (the SQLite column is TEXT), so a new algorithm needs no migration. For
 * `aws:kms:dsse`, `bucketKeyEnabled` is kept and echoed as given but never used: S3 Bucket
 * Keys aren't supported for DSSE-KMS (usesBucketKey).
 */
export type BucketEncryption =
  | { readonly algorithm: 'AES256'; readonly bucketKeyEnabled: boolean }
  | { readonly algorithm: 'aws:kms' | 'aws:kms:dsse'; readonly kmsKeyId?: string; readonly bucketKeyEnabled: boolean };

export interface BucketRecord {
  readonly name: string;
  readonly region: string;
  readonly createdAt: Date;
  readonly encryption?: BucketEncryption;
}

/** The representation headers S3 stores with an object and returns on GET/HEAD. */
export interface ContentHeaders {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly cacheControl?: string;
  readonly expires?: string;
  /**
   * x-amz-website-redirect-location, kept and returned as S3 keeps it (a copy does not carry
   * the source's: it takes only the one its request names).
   */
  readonly websiteRedirectLocation?: string;
}

/** One object as stored: where its sealed body is, how its key is sealed, what it says about itself. */
export interface ObjectRecord {
  readonly bucket: string;
  readonly key: string;
  /** Fresh per write; bound into the seal and the data (the version/upload id seam). */
  readonly objectId: string;
  readonly storageId: string;
  /** Plaintext size in bytes. */
  readonly size: number;
  /** Quoted, as S3 sends it. */
  readonly etag: string;
  readonly lastModified: Date;
  readonly segmentSize: number;
  readonly content: ContentHeaders;
  readonly userMetadata: Readonly<Record<string, string>>;
  readonly sealedKey: SealedObjectKey;
  /** Base64 checksums the client sent and we verified (x-amz-checksum-*). */
  readonly checksums: Readonly<Record<string, string>>;
  /**
   * A multipart object: its parts in order, each a segment stream under its own part key,
   * stored back to back in the body (src/s3/MULTIPART.md). Undefined for a single-part object.
   */
  readonly parts?: readonly PartLayout[];
  /**
   * A multipart object's part list tag (sse/sealing.ts partListTag, base64): a MAC under a key
   * derived from the object key over the binding and each part's number, size and key salt,
   * so that a part list rewritten in the metadata (parts dropped, reordered, repeated, an old
   * salt put back) fails before any byte is read. Absent for objects completed before it
   * existed and for SSE-C uploads completed without the key.
   */
  readonly partsTag?: string;
  /** Object tags (PutObjectTagging, x-amz-tagging); absent or empty when untagged. */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * The sealed body itself (the same segment stream a body file holds), for small
   * single-part objects stored in their metadata record: `storageId` is then
   * INLINE_STORAGE_ID and no body file exists. See s3/sse/README.md, "Where sealed bodies live".
   */
  readonly inlineBody?: Buffer;
}

/**
 * The storage id of an object whose sealed body is inline in its record. Never a valid
 * backend id (backends use UUIDs), and a store never returns it as a replaced or deleted
 * body id: there is no file to delete.
 */
export const INLINE_STORAGE_ID = 'inline';

/** One part of a completed multipart object: the number it was uploaded as (its key derivation input) and its plaintext size. */
export interface PartLayout {
  readonly partNumber: number;
  readonly size: number;
  /** The part's verified checksums (UploadPart's x-amz-checksum-*), by lower-case algorithm; absent when it had none. */
  readonly checksums?: Readonly<Record<string, string>>;
  /** The part's key salt (PartRecord.keySalt, derivePartKey); absent for parts written before part keys were salted. */
  readonly keySalt?: string;
}

/** Where a listing starts and what it covers. */
export interface ObjectScan {
  readonly prefix: string;
  /** Return only keys strictly greater than this. */
  readonly after: string;
  readonly limit: number;
}

/**
 * Bucket and object metadata. Implementations: SqliteS3MetadataStore. Metadata holds no
 * secret: sealed keys only. Errors: NoSuchBucketError, NoSuchKeyError,
 * BucketAlreadyOwnedByYouError, BucketNotEmptyError from s3/errors.ts.
 */
export interface S3MetadataStore {
  /** Multipart upload state, in the same store (completion commits the object and ends the upload atomically). */
  readonly multipart: S3MultipartStore;
  /** Raises BucketAlreadyOwnedByYouError if it exists. */
  createBucket(bucket: BucketRecord): Promise<void>;
  /** Raises NoSuchBucketError. */
  getBucket(name: string): Promise<BucketRecord>;
  listBuckets(): Promise<BucketRecord[]>;
  /** Raises NoSuchBucketError, BucketNotEmptyError. */
  deleteBucket(name: string): Promise<void>;
  /** Sets (or with undefined, removes) default encryption. Raises NoSuchBucketError. */
  setBucketEncryption(name: string, encryption: BucketEncryption | undefined): Promise<void>;
  /**
   * The bucket's tags (PutBucketTagging), or undefined when it has none; kept apart from
   * BucketRecord so that the read every request makes of its bucket never carries them.
   * Raises NoSuchBucketError.
   */
  getBucketTags(name: string): Promise<Readonly<Record<string, string>> | undefined>;
  /** Replaces the bucket's tags (undefined or empty: removes them). Raises NoSuchBucketError. */
  setBucketTags(name: string, tags: Readonly<Record<string, string>> | undefined): Promise<void>;
  /**
   * The bucket's CORS configuration as stored (the JSON text of a CorsConfiguration, see
   * s3/cors/cors-config.ts, corsToJson; validated when it was put), or undefined when it has none. Text, not
   * a parsed value: the per-request reader (every request with an Origin header) keeps the
   * parse of each text it saw, so an unchanged configuration is never parsed twice. Reads only
   * that column. Raises NoSuchBucketError.
   */
  getBucketCors(name: string): Promise<string | undefined>;
  /** Replaces (or with undefined, removes) the CORS configuration text. Raises NoSuchBucketError. */
  setBucketCors(name: string, cors: string | undefined): Promise<void>;
  /**
   * Commits an object (insert or replace) in one transaction, with its inline body if it
   * has one; returns the storage id of the body file it replaced, for the caller to delete
   * (undefined when there was none or it was inline). An acknowledged put is durable.
   * With a `condition`, it is checked (checkWriteCondition) against the current object in
   * that same transaction, so a racing write can never slip between check and commit; a
   * refused put commits nothing. Raises NoSuchBucketError, and for a condition
   * PreconditionFailedError or NoSuchKeyError. An error whose `committedUnsynced` property
   * is true means the row did commit but could not be made durable (its sync failed): it is
   * visible now and may or may not survive a crash, so the caller must keep the body it
   * references (and the one it replaced); the orphan sweep removes whichever ends up unused.
   */
  putObject(object: ObjectRecord, condition?: WriteCondition): Promise<string | undefined>;
  /** The record with its inline body, if any. Raises NoSuchKeyError. */
  getObject(bucket: string, key: string): Promise<ObjectRecord>;
  /**
   * The record without its inline body (`inlineBody` undefined; `storageId` still says
   * INLINE_STORAGE_ID for an inline object), for answers that never send the body: HEAD,
   * conditional 304/412. Never reads the body column. Raises NoSuchKeyError.
   */
  getObjectHead(bucket: string, key: string): Promise<ObjectRecord>;
  /** Replaces an object's tags (empty: removes them) without touching its body. Raises NoSuchKeyError. */
  setObjectTags(bucket: string, key: string, tags: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Removes an object (with its inline body); returns its body file's storage id, or
   * undefined if there was none or it was inline. With a `condition` (If-Match), checked in
   * the same transaction as the delete: raises PreconditionFailedError or NoSuchKeyError and
   * deletes nothing.
   */
  deleteObject(bucket: string, key: string, condition?: WriteCondition): Promise<string | undefined>;
  /** Objects with the prefix and key > after, in key order (UTF-8 binary), at most limit; without their inline bodies. */
  listObjects(bucket: string, scan: ObjectScan): Promise<ObjectRecord[]>;
}
