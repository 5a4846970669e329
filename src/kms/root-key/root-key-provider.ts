import type { SecretBytes } from '../../crypto/secret-bytes.js';

/**
 * The root of trust: wraps and unwraps KMS key material. Nothing exports the root key.
 *
 * `label` binds a wrapped blob to its purpose (for example the key id and version it
 * belongs to), so a wrapped blob moved to another record fails to unwrap.
 * Implementations: FileRootKeyProvider, PassphraseRootKeyProvider; a PKCS#11 one can be
 * added without touching the KMS operations.
 */
export interface RootKeyProvider {
  readonly kind: 'file' | 'passphrase' | 'pkcs11';
  /** Seals `plaintext` under the root key. Never logs or keeps the plaintext. */
  wrap(plaintext: SecretBytes, label: string): Promise<Buffer>;
  /** Opens a wrapped blob; raises RootKeyUnwrapError if it is not ours, was altered or the label differs. */
  unwrap(wrapped: Buffer, label: string): Promise<SecretBytes>;
  /** Zeroes the root key in memory. */
  close(): void;
}
