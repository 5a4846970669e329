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
  /**
   * `options.shared`: the key will be lent to other requests (a bucket key cache), so the
   * call's audit record must be durable before it returns even while records are deferred.
   */
  generateDataKey(keyId: string, context: KmsContext, options?: DataKeyCallOptions): Promise<DataKey>;
  decrypt(blob: Buffer, context: KmsContext, options?: DataKeyCallOptions): Promise<{ readonly keyArn: string; readonly plaintext: SecretBytes }>;
  /**
   * Defers the audit records of this provider's calls: a call returns once KMS answered,
   * its record still being committed, and pendingRecords() collects them. Only for a caller
   * that holds its answer until pendingRecords() settled (the S3 handler's AnswerHold).
   */
  deferRecords?(): void;
  /**
   * Ends the deferral: resolves once the record of every call begun so far is durable, and
   * rejects with the first record that failed (the answer must then not be given). Calls
   * begun after it await their own record again, so none is ever left unawaited. Resolves
   * at once when nothing was deferred; never leaves a rejection unhandled.
   */
  pendingRecords?(): Promise<void>;
}

/** Per call options of a DataKeyProvider. */
export interface DataKeyCallOptions {
  /** The key outlives this request (it is lent to others): its audit record is awaited before the call returns. */
  readonly shared?: boolean;
}

/** The AWS-managed key S3 uses for SSE-S3, and for SSE-KMS when no key id is given. */
export const AWS_MANAGED_S3_KEY = 'alias/aws/s3';
