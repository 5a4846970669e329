import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import type { AuditSigner } from '../audit/index.js';
import { openServiceKey } from './service-keys.js';
import { currentVersion, type KeyRecord } from './keys/key-record.js';
import type { KeyService } from './keys/key-service.js';

/** The alias of the KMS key that signs audit digests. */
export const AUDIT_SIGNING_ALIAS = 'alias/cipherlake/audit-digests';

/** The audit key's spec (an ECDSA P-256 SIGN_VERIFY key; such keys never rotate). */
export const AUDIT_SIGNING_KEY_SPEC = 'ECC_NIST_P256';

/**
 * An AuditSigner whose private half the KMS holds: an ECC_NIST_P256 SIGN_VERIFY key
 * (KeyManager AWS), created on first start under AUDIT_SIGNING_ALIAS. The private key is
 * unwrapped only inside the KMS key service, per signature, and never leaves it.
 */
export class KmsAuditSigner implements AuditSigner {
  readonly keyId: string;
  readonly #keys: KeyService;
  readonly #key: KeyRecord;
  readonly #publicDer: Buffer;

  private constructor(keys: KeyService, key: KeyRecord) {
    this.#keys = keys;
    this.#key = key;
    this.#publicDer = currentVersion(key).publicKey!;
    this.keyId = createHash('sha256').update(this.#publicDer).digest('hex');
  }

  /** Finds or creates the audit signing key. */
  static async open(keys: KeyService): Promise<KmsAuditSigner> {
    return new KmsAuditSigner(keys, await openServiceKey(keys, AUDIT_SIGNING_ALIAS, AUDIT_SIGNING_KEY_SPEC, 'Cipherlake audit digest signing key'));
  }

  async sign(message: Buffer): Promise<Buffer> {
    const material = await this.#keys.material(this.#key, currentVersion(this.#key).version);
    const privateKey = createPrivateKey({ key: material.unsafeBytes(), format: 'der', type: 'pkcs8' });
    return sign('sha256', message, privateKey);
  }

  publicKeyDer(): Buffer {
    return Buffer.from(this.#publicDer);
  }

  publicKeyPem(): string {
    return createPublicKey({ key: this.#publicDer, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString();
  }
}
