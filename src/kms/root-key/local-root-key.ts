import { CipherlakeError } from '../../common/errors.js';
import { AeadError, gcmOpen, gcmSeal } from '../../crypto/aead.js';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import type { RootKeyProvider } from './root-key-provider.js';

/** A wrapped blob did not open under this root key. */
export class RootKeyUnwrapError extends CipherlakeError {
  readonly userError = false;
  constructor() {
    super('root key could not unwrap the blob');
  }
}

/** Persisted format code of a root-wrapped blob. Never changes meaning. */
const WRAP_FORMAT_V1 = 0x01;
const AAD_PREFIX = Buffer.from('cipherlake/root-wrap/v1\u0000', 'utf8');

/**
 * Root key provider over a 256-bit key held in process memory (loaded from a file or
 * derived from a passphrase). Wrapped format: 0x01 ‖ iv(12) ‖ ciphertext ‖ tag(16),
 * AES-256-GCM with AAD = "cipherlake/root-wrap/v1\0" ‖ label.
 */
export class LocalRootKeyProvider implements RootKeyProvider {
  readonly kind: 'file' | 'passphrase';
  readonly #key: SecretBytes;

  constructor(kind: 'file' | 'passphrase', key: SecretBytes) {
    if (key.length !== 32) throw new Error('root key must be 32 bytes');
    this.kind = kind;
    this.#key = key;
  }

  async wrap(plaintext: SecretBytes, label: string): Promise<Buffer> {
    return this.wrapSync(plaintext, label);
  }

  async unwrap(wrapped: Buffer, label: string): Promise<SecretBytes> {
    return this.unwrapSync(wrapped, label);
  }

  /** Synchronous form of wrap, for callers on a hot path. */
  wrapSync(plaintext: SecretBytes, label: string): Buffer {
    const sealed = gcmSeal(this.#key, plaintext.unsafeBytes(), aad(label));
    return Buffer.concat([Buffer.of(WRAP_FORMAT_V1), sealed]);
  }

  /** Synchronous form of unwrap. */
  unwrapSync(wrapped: Buffer, label: string): SecretBytes {
    if (wrapped.length < 1 || wrapped[0] !== WRAP_FORMAT_V1) throw new RootKeyUnwrapError();
    try {
      return SecretBytes.adopt(gcmOpen(this.#key, wrapped.subarray(1), aad(label)));
    } catch (err) {
      if (err instanceof AeadError) throw new RootKeyUnwrapError();
      throw err;
    }
  }

  close(): void {
    this.#key.dispose();
  }
}

function aad(label: string): Buffer {
  return Buffer.concat([AAD_PREFIX, Buffer.from(label, 'utf8')]);
}
