import type { SecretBytes } from '../../crypto/index.js';

/** An encryption context as KMS takes it: string pairs, bound as authenticated data. */
export type KmsContext = Readonly<Record<string, string>>;

/** A data key from KMS: its plaintext (caller disposes) and the blob that seals it. */
export interface DataKey {
  readonly keyArn: string;
  readonly plaintext: SecretBytes;
  readonly blob: Buffer;
}

/**
 * The only window the S3 part has on KMS: generate a data key under a KMS key (id, ARN or
 * alias) and decrypt a blob. Raises the KMS part's errors (NotFoundError, DisabledError,
 * KeyInvalidStateError, InvalidCiphertextError...), which s3/wire/error-codes.ts maps to
 * S3's KMS.* codes. Never logs key material.
 */
export interface DataKeyProvider {
  /**
   * Who this provider's keys are authorized for (the caller and its channel), when it acts
   * for a caller. A cache of opened keys must never lend a key across scopes: that would
   * let a caller use a key KMS never authorized for it.
   */
  readonly cacheScope?: string | undefined;
  generateDataKey(keyId: string, context: KmsContext): Promise<DataKey>;
  decrypt(blob: Buffer, context: KmsContext): Promise<{ readonly keyArn: string; readonly plaintext: SecretBytes }>;
}

/** The AWS-managed key S3 uses for SSE-S3, and for SSE-KMS when no key id is given. */
export const AWS_MANAGED_S3_KEY = 'alias/aws/s3';
