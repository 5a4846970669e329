import { AeadError, gcmOpen, gcmSeal, SecretBytes } from '../../crypto/index.js';
import { ObjectCorruptedError } from '../errors.js';
import type { DataKeyProvider, KmsContext } from './data-key-provider.js';
import { encodeBinding, type ObjectBinding, type SseLabel } from './sealing.js';

/** The ARN S3 names an object by in its encryption context: arn:aws:s3:::bucket/key. */
export function s3ObjectArn(binding: ObjectBinding): string {
  return `arn:aws:s3:::${binding.bucket}/${binding.key}`;
}

/** The encryption context S3 sets for an object: `aws:s3:arn` = arn:aws:s3:::bucket/key. */
export function s3ObjectContext(binding: ObjectBinding): KmsContext {
  return { 'aws:s3:arn': s3ObjectArn(binding) };
}

/**
 * The caller's encryption context with `aws:s3:arn` set, as `{ ...context, 'aws:s3:arn': arn }`
 * would build it (same keys, same order, a key named `__proto__` kept as a key). Cloned, then
 * set: V8 (Node 20) takes a slow path for a literal that adds keys after a spread, and
 * Object.assign would turn a `__proto__` key into a prototype.
 */
export function withS3Arn(context: KmsContext, arn: string): KmsContext {
  const out: Record<string, string> = { ...context };
  out['aws:s3:arn'] = arn;
  return out;
}


/**
 * Seals `objectKey` under a fresh KMS data key: AES-256-GCM with the binding (mode label
 * included) as AAD. Returns the KMS blob and the sealed key, base64. Zeroes the data key.
 */
export async function sealWithDataKey(
  kms: DataKeyProvider,
  keyId: string,
  context: KmsContext,
  label: SseLabel,
  objectKey: SecretBytes,
  binding: ObjectBinding,
): Promise<{ keyArn: string; kmsBlob: string; sealed: string }> {
  const dk = await kms.generateDataKey(keyId, context);
  try {
    const sealed = gcmSeal(dk.plaintext, objectKey.unsafeBytes(), encodeBinding(label, binding));
    return { keyArn: dk.keyArn, kmsBlob: dk.blob.toString('base64'), sealed: sealed.toString('base64') };
  } finally {
    dk.plaintext.dispose();
  }
}

/**
 * Opens a key sealed by sealWithDataKey. Raises the KMS errors of `decrypt` (a disabled key
 * makes the object unreadable), ObjectCorruptedError when the seal does not authenticate.
 */
export async function unsealWithDataKey(
  kms: DataKeyProvider,
  kmsBlob: string,
  sealed: string,
  context: KmsContext,
  label: SseLabel,
  binding: ObjectBinding,
): Promise<SecretBytes> {
  const dk = await kms.decrypt(Buffer.from(kmsBlob, 'base64'), context);
  try {
    return SecretBytes.adopt(gcmOpen(dk.plaintext, Buffer.from(sealed, 'base64'), encodeBinding(label, binding)));
  } catch (err) {
    if (err instanceof AeadError) throw new ObjectCorruptedError('');
    throw err;
  } finally {
    dk.plaintext.dispose();
  }
}
