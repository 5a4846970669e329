import { SecretBytes } from '../../crypto/index.js';
import { decrypt, ensureAwsManagedKey, generateDataKey, keyArn, type KeyService } from '../../kms/index.js';
import { AWS_MANAGED_S3_KEY, type DataKey, type DataKeyProvider, type KmsContext } from './data-key-provider.js';

const AWS_S3_KEY_DESCRIPTION = 'Default key that protects my S3 objects when no other key is defined';

/**
 * DataKeyProvider backed by the in-process KMS. `alias/aws/s3` is created on first use,
 * as AWS does. Raises the KMS part's errors unchanged; plaintext keys are handed over as
 * SecretBytes (the caller disposes) and never logged.
 */
export class KmsDataKeyProvider implements DataKeyProvider {
  constructor(private readonly keys: KeyService) {}

  async generateDataKey(keyId: string, context: KmsContext): Promise<DataKey> {
    const id = keyId === AWS_MANAGED_S3_KEY ? (await ensureAwsManagedKey(this.keys, AWS_MANAGED_S3_KEY, AWS_S3_KEY_DESCRIPTION)).keyId : keyId;
    const r = await generateDataKey(this.keys, { keyId: id, keySpec: 'AES_256', encryptionContext: { ...context } });
    return { keyArn: keyArn(r.key), plaintext: SecretBytes.adopt(r.plaintext), blob: r.ciphertextBlob };
  }

  async decrypt(blob: Buffer, context: KmsContext): Promise<{ readonly keyArn: string; readonly plaintext: SecretBytes }> {
    const r = await decrypt(this.keys, { ciphertextBlob: blob, encryptionContext: { ...context } });
    return { keyArn: keyArn(r.key), plaintext: SecretBytes.adopt(r.plaintext) };
  }

  /** The ARN of a KMS key named by id, ARN or alias (for response headers); raises NotFoundError. */
  async resolveArn(keyId: string): Promise<string> {
    return keyArn(await this.keys.resolve(keyId));
  }
}
