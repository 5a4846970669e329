/**
 * The one base class for Cipherlake's typed errors.
 *
 * Every error a part raises extends this class, has a stable `name`, may carry a `cause`,
 * and never carries secret data (key bytes, plaintext, secret access keys) in its message.
 * `userError` says whether the caller is at fault (bad input, wrong state) or we are;
 * the wire layers map user errors to 4xx codes and everything else to the protocol's
 * internal error, with a generic message for the client.
 */
export abstract class CipherlakeError extends Error {
  abstract readonly userError: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
