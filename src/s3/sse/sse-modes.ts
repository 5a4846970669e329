import { createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import { AeadError, gcmOpen, gcmSeal, publicRandomBytes, SecretBytes } from '../../crypto/index.js';
import { ObjectCorruptedError, SseCustomerKeyMismatchError } from '../errors.js';
import { AWS_MANAGED_S3_KEY, type DataKeyProvider, type KmsContext } from './data-key-provider.js';
import type { BucketKeyCache } from './bucket-keys.js';
import { s3ObjectArn, s3ObjectContext, sealWithDataKey, unsealWithDataKey, withS3Arn } from './kms-envelope.js';
import { encodeBinding, type ObjectBinding, type SealedObjectKey, type SseMode } from './sealing.js';

/**
 * SSE-S3 (`AES256`): the object key is sealed under a data key of the AWS-managed KMS key
 * `alias/aws/s3`, which the user never manages. See s3/sse/README.md.
 */
export class SseS3Mode implements SseMode {
  readonly label = 'SSE-S3' as const;
  constructor(private readonly kms: DataKeyProvider) {}

  async seal(objectKey: SecretBytes, binding: ObjectBinding): Promise<SealedObjectKey> {
    const r = await sealWithDataKey(this.kms, AWS_MANAGED_S3_KEY, s3ObjectContext(binding), this.label, objectKey, binding);
    return { v: 1, mode: 'SSE-S3', kmsBlob: r.kmsBlob, sealed: r.sealed };
  }

  async unseal(sealed: SealedObjectKey, binding: ObjectBinding): Promise<SecretBytes> {
    if (sealed.mode !== 'SSE-S3') throw new ObjectCorruptedError('');
    return unsealWithDataKey(this.kms, sealed.kmsBlob, sealed.sealed, s3ObjectContext(binding), this.label, binding);
  }
}

/**
 * SSE-KMS (`aws:kms`): the object key is sealed under a data key of the named KMS key, with
 * the encryption context `aws:s3:arn` plus the caller's context. The sealed record keeps the
 * key ARN and the caller's context (not secret) for GET's headers and for decryption.
 * With `bucketKeys`, the object key is sealed under the bucket's current bucket key instead
 * (a data key generated with the bucket's ARN as `aws:s3:arn`, reused for the cache's TTL),
 * so many objects cost one GenerateDataKey; reading one costs one Decrypt per TTL.
 */
export class SseKmsMode implements SseMode {
  readonly label = 'SSE-KMS' as const;
  constructor(
    private readonly kms: DataKeyProvider,
    private readonly keyId: string = AWS_MANAGED_S3_KEY,
    private readonly userContext: KmsContext = {},
    private readonly bucketKeys?: BucketKeyCache,
  ) {}

  async seal(objectKey: SecretBytes, binding: ObjectBinding): Promise<SealedObjectKey> {
    if (this.bucketKeys !== undefined) {
      const context = withS3Arn(this.userContext, `arn:aws:s3:::${binding.bucket}`);
      return this.bucketKeys.seal(this.kms, this.keyId, context, (bk) => {
        const sealed = gcmSeal(bk.key, objectKey.unsafeBytes(), encodeBinding(this.label, binding)).toString('base64');
        return { v: 1, mode: 'SSE-KMS', kmsBlob: bk.blob.toString('base64'), sealed, keyArn: bk.keyArn, context, bucketKey: true } as const;
      });
    }
    const context = withS3Arn(this.userContext, s3ObjectArn(binding));
    const r = await sealWithDataKey(this.kms, this.keyId, context, this.label, objectKey, binding);
    return { v: 1, mode: 'SSE-KMS', kmsBlob: r.kmsBlob, sealed: r.sealed, keyArn: r.keyArn, context };
  }

  async unseal(sealed: SealedObjectKey, binding: ObjectBinding): Promise<SecretBytes> {
    if (sealed.mode !== 'SSE-KMS') throw new ObjectCorruptedError('');
    if (sealed.bucketKey === true) {
      if (this.bucketKeys === undefined) throw new ObjectCorruptedError('');
      return this.bucketKeys.open(this.kms, sealed.kmsBlob, sealed.context, (bk) => {
        try {
          return SecretBytes.adopt(gcmOpen(bk.key, Buffer.from(sealed.sealed, 'base64'), encodeBinding(this.label, binding)));
        } catch (err) {
          if (err instanceof AeadError) throw new ObjectCorruptedError('');
          throw err;
        }
      });
    }
    return unsealWithDataKey(this.kms, sealed.kmsBlob, sealed.sealed, sealed.context, this.label, binding);
  }
}

// S3's message for a wrong SSE-C key (403 AccessDenied); it names no key and no check.
const WRONG_KEY = 'Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.';
const KEK_INFO = Buffer.from('cipherlake sse-c key encryption key v1');
const CHECK_INFO = Buffer.from('cipherlake sse-c key check v1');

/**
 * SSE-C: the object key is sealed under a key derived (HKDF-SHA-256, fresh salt) from the
 * customer's key, which is never stored; a second derivation under the same salt is kept
 * as a salted keyed hash to reject a wrong key with S3's error before any decryption.
 * The caller keeps ownership of `customerKey`.
 */
export class SseCMode implements SseMode {
  readonly label = 'SSE-C' as const;
  constructor(private readonly customerKey: SecretBytes) {}

  async seal(objectKey: SecretBytes, binding: ObjectBinding): Promise<SealedObjectKey> {
    const salt = publicRandomBytes(32);
    const kek = this.derive(salt, KEK_INFO);
    const check = this.derive(salt, CHECK_INFO);
    try {
      const sealed = gcmSeal(kek, objectKey.unsafeBytes(), encodeBinding(this.label, binding));
      return { v: 1, mode: 'SSE-C', salt: salt.toString('base64'), keyCheck: check.toString('base64'), sealed: sealed.toString('base64') };
    } finally {
      kek.fill(0);
    }
  }

  async unseal(sealed: SealedObjectKey, binding: ObjectBinding): Promise<SecretBytes> {
    if (sealed.mode !== 'SSE-C') throw new ObjectCorruptedError('');
    const salt = Buffer.from(sealed.salt, 'base64');
    const check = this.derive(salt, CHECK_INFO);
    const stored = Buffer.from(sealed.keyCheck, 'base64');
    if (stored.length !== check.length || !timingSafeEqual(stored, check)) throw new SseCustomerKeyMismatchError(WRONG_KEY);
    const kek = this.derive(salt, KEK_INFO);
    try {
      return SecretBytes.adopt(gcmOpen(kek, Buffer.from(sealed.sealed, 'base64'), encodeBinding(this.label, binding)));
    } catch (err) {
      if (err instanceof AeadError) throw new ObjectCorruptedError('');
      throw err;
    } finally {
      kek.fill(0);
    }
  }

  private derive(salt: Buffer, info: Buffer): Buffer {
    return Buffer.from(hkdfSync('sha256', this.customerKey.unsafeBytes(), salt, info, 32));
  }
}

/** Base64 MD5 of a customer key, as S3 echoes it in `-customer-key-MD5`. */
export function customerKeyMd5(customerKey: SecretBytes): string {
  return createHash('md5').update(customerKey.unsafeBytes()).digest('base64');
}
