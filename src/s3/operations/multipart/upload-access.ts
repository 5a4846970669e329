import type { SecretBytes } from '../../../crypto/index.js';
import { InvalidRequestError, SseCustomerKeyMissingError } from '../../errors.js';
import type { UploadRecord } from '../../multipart-store.js';
import type { S3Deps } from '../../s3-deps.js';
import type { ObjectBinding } from '../../sse/sealing.js';
import type { CustomerKey } from '../../wire/headers/sse.js';
import { modeForRead } from '../sse-select.js';

/** The binding of an upload's object key and of its parts: objectId is the upload id. */
export function uploadBinding(u: UploadRecord): ObjectBinding {
  return { bucket: u.bucket, key: u.key, objectId: u.uploadId };
}

/**
 * Checks the SSE-C key of a request on an upload, as S3 does on UploadPart,
 * UploadPartCopy and CompleteMultipartUpload: an SSE-C upload needs the same key on every
 * request (SseCustomerKeyMissingError without one; InvalidRequestError for another key,
 * told by its MD5); any other upload refuses SSE-C headers (InvalidRequestError).
 */
export function checkUploadCustomerKey(u: UploadRecord, customer: CustomerKey | undefined): void {
  if (u.sealedKey.mode !== 'SSE-C') {
    if (customer !== undefined) throw new InvalidRequestError('The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.');
    return;
  }
  if (customer === undefined) throw new SseCustomerKeyMissingError('The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.');
  if (customer.keyMd5 !== u.customerKeyMd5) throw new InvalidRequestError('The provided encryption parameters did not match the ones used originally.');
}

/**
 * Unseals an upload's object key (after checkUploadCustomerKey): KMS errors for
 * SSE-S3/SSE-KMS, SseCustomerKeyMismatchError for SSE-C. The caller disposes the result.
 */
export async function unsealUploadKey(deps: S3Deps, u: UploadRecord, customer: CustomerKey | undefined): Promise<SecretBytes> {
  checkUploadCustomerKey(u, customer);
  return modeForRead(deps, u.sealedKey, customer).unseal(u.sealedKey, uploadBinding(u));
}
