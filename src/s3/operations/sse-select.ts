import { InvalidRequestError, SseCustomerKeyMissingError } from '../errors.js';
import type { BucketRecord } from '../metadata-store.js';
import type { S3Deps } from '../s3-deps.js';
import { assertSealedKey, type SealedObjectKey, type SseMode } from '../sse/sealing.js';
import { bucketKeyCacheFor, type BucketKeyCache } from '../sse/bucket-keys.js';
import { DsseKmsMode } from '../sse/dsse-kms-mode.js';
import { SseCMode, SseKmsMode, SseS3Mode } from '../sse/sse-modes.js';
import type { CustomerKey, SseRequest } from '../wire/headers/sse.js';

/**
 * The mode a write uses: the request's SSE headers, else the bucket's default encryption
 * (AES256, aws:kms or aws:kms:dsse, with its KMSMasterKeyID), else SSE-S3 (every object is
 * encrypted; there is no plaintext mode). SSE-KMS uses the service's bucket keys when the
 * request's bucket-key header or the bucket default enables them; DSSE-KMS never does.
 */
export function modeForWrite(deps: S3Deps, sse: SseRequest, bucket: BucketRecord): SseMode {
  switch (sse.kind) {
    case 'SSE-S3':
      return new SseS3Mode(deps.kms);
    case 'SSE-KMS':
      return new SseKmsMode(deps.callerKms ?? deps.kms, sse.keyId, sse.context, bucketKeysIf(deps, usesBucketKey(sse, bucket)));
    case 'DSSE-KMS':
      return new DsseKmsMode(deps.callerKms ?? deps.kms, sse.keyId, sse.context);
    case 'SSE-C':
      return new SseCMode(sse.customer.key);
    case 'none': {
      const d = bucket.encryption;
      if (d?.algorithm === 'aws:kms') return new SseKmsMode(deps.callerKms ?? deps.kms, d.kmsKeyId, {}, bucketKeysIf(deps, usesBucketKey(sse, bucket)));
      // As the aws:kms default, with the same key resolution (none: aws/s3); never a bucket key.
      if (d?.algorithm === 'aws:kms:dsse') return new DsseKmsMode(deps.callerKms ?? deps.kms, d.kmsKeyId);
      return new SseS3Mode(deps.kms);
    }
    default: {
      const never: never = sse;
      return never;
    }
  }
}

/**
 * Whether a write under `sse` seals with a bucket key: for SSE-KMS, the request's
 * bucket-key header when it has one (`false` opts this object out of a bucket that enables
 * them), else the bucket's setting; without SSE headers, the bucket's setting when its
 * default is SSE-KMS. Never for SSE-S3, DSSE-KMS (S3 has no bucket keys for it) or SSE-C.
 */
export function usesBucketKey(sse: SseRequest, bucket: BucketRecord): boolean {
  const d = bucket.encryption;
  if (sse.kind === 'SSE-KMS') return sse.bucketKeyEnabled ?? d?.bucketKeyEnabled === true;
  return sse.kind === 'none' && d?.algorithm === 'aws:kms' && d.bucketKeyEnabled;
}

/**
 * The mode that opens a stored object. SSE-C objects need the customer key
 * (SseCustomerKeyMissingError without it); a customer key for an object that is not SSE-C
 * is refused with InvalidRequestError, as S3 does.
 */
export function modeForRead(deps: S3Deps, sealed: SealedObjectKey, customer: CustomerKey | undefined): SseMode {
  assertSealedKey(sealed);
  if (sealed.mode === 'SSE-C') {
    if (customer === undefined) throw new SseCustomerKeyMissingError('');
    return new SseCMode(customer.key);
  }
  if (customer !== undefined) throw new InvalidRequestError('The encryption parameters are not applicable to this object.');
  if (sealed.mode === 'DSSE-KMS') return new DsseKmsMode(deps.callerKms ?? deps.kms);
  return sealed.mode === 'SSE-KMS' ? new SseKmsMode(deps.callerKms ?? deps.kms, undefined, {}, bucketKeyCacheFor(deps.store, deps.clock)) : new SseS3Mode(deps.kms);
}

/** The service's bucket-key cache when bucket keys are enabled for this write (header, else the bucket default). */
function bucketKeysIf(deps: S3Deps, enabled: boolean): BucketKeyCache | undefined {
  return enabled ? bucketKeyCacheFor(deps.store, deps.clock) : undefined;
}
