import { CipherlakeError } from '../common/errors.js';

/**
 * The one error for every failed decryption: a wrong key, a wrong binding (aad), a
 * flipped bit, a truncated, reordered or extended stream, an unknown version byte or a
 * header that does not parse. The message is fixed and there is never a cause, so
 * nothing tells a caller (or an attacker watching responses) which check failed.
 * Not a user error: stored ciphertext that fails to open is our fault or tampering.
 */
export class DecryptionError extends CipherlakeError {
  readonly userError = false;

  constructor() {
    super('decryption failed');
  }
}

/**
 * A programming error in how a crypto building block was called: a key of the wrong
 * length, a segment size outside the format's limits, a range outside the object, a
 * size too large for the format. Never raised for bad ciphertext (that is always
 * `DecryptionError`). The message names the argument, never its secret content.
 */
export class InvalidCryptoArgumentError extends CipherlakeError {
  readonly userError = false;
}
