import { AeadError, gcmOpen, gcmSeal, SecretBytes } from '../../crypto/index.js';
import { ObjectCorruptedError } from '../errors.js';
import { AWS_MANAGED_S3_KEY, type DataKey, type DataKeyProvider, type KmsContext } from './data-key-provider.js';
import { s3ObjectArn, withS3Arn } from './kms-envelope.js';
import { encodeLayerBinding, type ObjectBinding, type SealedObjectKey, type SseMode } from './sealing.js';

/**
 * DSSE-KMS (`aws:kms:dsse`): two independent layers of KMS-backed encryption. Two data
 * keys are generated separately under the named KMS key (two GenerateDataKey calls, two
 * independent 256-bit keys); the object key is sealed under the first, and that seal again
 * under the second, each layer with its own AAD. Opening needs both data keys: either one
 * alone reveals nothing. See s3/sse/README.md. Raises the KMS errors; ObjectCorruptedError
 * when a layer does not authenticate.
 */
export class DsseKmsMode implements SseMode {
  readonly label = 'DSSE-KMS' as const;
  constructor(
    private readonly kms: DataKeyProvider,
    private readonly keyId: string = AWS_MANAGED_S3_KEY,
    private readonly userContext: KmsContext = {},
  ) {}

  async seal(objectKey: SecretBytes, binding: ObjectBinding): Promise<SealedObjectKey> {
    const context = withS3Arn(this.userContext, s3ObjectArn(binding));
    const keys: DataKey[] = [];
    try {
      keys.push(await this.kms.generateDataKey(this.keyId, context));
      keys.push(await this.kms.generateDataKey(this.keyId, context));
      const [inner, outer] = keys as [DataKey, DataKey];
      const layer1 = gcmSeal(inner.plaintext, objectKey.unsafeBytes(), encodeLayerBinding(this.label, binding, 1));
      const layer2 = gcmSeal(outer.plaintext, layer1, encodeLayerBinding(this.label, binding, 2));
      return { v: 1, mode: 'DSSE-KMS', kmsBlobs: [inner.blob.toString('base64'), outer.blob.toString('base64')], sealed: layer2.toString('base64'), keyArn: inner.keyArn, context };
    } finally {
      for (const k of keys) k.plaintext.dispose();
    }
  }

  async unseal(sealed: SealedObjectKey, binding: ObjectBinding): Promise<SecretBytes> {
    if (sealed.mode !== 'DSSE-KMS') throw new ObjectCorruptedError('');
    const opened: SecretBytes[] = [];
    try {
      for (const blob of sealed.kmsBlobs) opened.push((await this.kms.decrypt(Buffer.from(blob, 'base64'), sealed.context)).plaintext);
      const [inner, outer] = opened as [SecretBytes, SecretBytes];
      const layer1 = gcmOpen(outer, Buffer.from(sealed.sealed, 'base64'), encodeLayerBinding(this.label, binding, 2));
      return SecretBytes.adopt(gcmOpen(inner, layer1, encodeLayerBinding(this.label, binding, 1)));
    } catch (err) {
      if (err instanceof AeadError) throw new ObjectCorruptedError('');
      throw err;
    } finally {
      for (const k of opened) k.dispose();
    }
  }
}
