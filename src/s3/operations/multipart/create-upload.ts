import { randomBytes } from 'node:crypto';
import { DEFAULT_SEGMENT_SIZE, SecretBytes } from '../../../crypto/index.js';
import type { UploadRecord } from '../../multipart-store.js';
import type { S3Deps } from '../../s3-deps.js';
import type { SseMode } from '../../sse/sealing.js';

/**
 * CreateMultipartUpload in domain terms: everything fixed for the final object — the
 * upload record's fields (see UploadRecord), with the mode that will seal its key.
 */
export type CreateUploadRequest = Pick<UploadRecord, 'bucket' | 'key' | 'content' | 'userMetadata' | 'tagging' | 'bucketKeyEnabled' | 'customerKeyMd5' | 'checksumAlgorithm'> & {
  /** The request's SSE headers, else the bucket default, else SSE-S3 (modeForWrite). */
  readonly mode: SseMode;
};

let lastStamp = 0;

/**
 * A new upload id: 12 hex digits of a millisecond stamp then 32 random hex digits, so ids
 * sort by initiation (ListMultipartUploads orders one key's uploads that way) and never
 * repeat. The stamp is strictly increasing in this process (several uploads within one
 * millisecond keep their order).
 */
function newUploadId(now: Date): string {
  lastStamp = Math.max(now.getTime(), lastStamp + 1);
  return lastStamp.toString(16).padStart(12, '0') + randomBytes(16).toString('hex');
}

/**
 * CreateMultipartUpload: seals a fresh object key for (bucket, key, uploadId) under the
 * mode — encryption is fixed here, every part's key derives from this one — and records
 * the upload. Raises NoSuchBucketError and the mode's errors (KMS.NotFoundException,
 * KMS.DisabledException...) before anything is stored. Never stores the key unsealed.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html
 */
export async function createUpload(deps: S3Deps, req: CreateUploadRequest): Promise<UploadRecord> {
  await deps.store.getBucket(req.bucket);
  const initiated = deps.clock.now();
  const uploadId = newUploadId(initiated);
  const objectKey = SecretBytes.random(32);
  try {
    const sealedKey = await req.mode.seal(objectKey, { bucket: req.bucket, key: req.key, objectId: uploadId });
    const upload: UploadRecord = {
      uploadId,
      bucket: req.bucket,
      key: req.key,
      initiated,
      sealedKey,
      segmentSize: deps.segmentSize ?? DEFAULT_SEGMENT_SIZE,
      content: req.content,
      userMetadata: req.userMetadata,
      bucketKeyEnabled: req.bucketKeyEnabled,
      ...(req.tagging !== undefined ? { tagging: req.tagging } : {}),
      ...(req.customerKeyMd5 !== undefined ? { customerKeyMd5: req.customerKeyMd5 } : {}),
      ...(req.checksumAlgorithm !== undefined ? { checksumAlgorithm: req.checksumAlgorithm } : {}),
    };
    await deps.store.multipart.createUpload(upload);
    return upload;
  } finally {
    objectKey.dispose();
  }
}
