import { CipherlakeError } from '../common/errors.js';

/** Why authentication failed; the wire layers map each to the protocol's own AWS code. */
export type AuthFailureKind =
  | 'MissingAuthentication' // no Authorization header or presigned query
  | 'IncompleteSignature' // malformed Authorization header or missing pieces
  | 'UnknownAccessKey' // access key id not known (or inactive)
  | 'SignatureMismatch' // the signature does not verify
  | 'RequestExpired' // clock skew over the limit, or presigned URL expired
  | 'ContentHashMismatch' // x-amz-content-sha256 does not match the body
  | 'InvalidToken'; // session token missing, wrong or expired

/**
 * Authentication failed. The message is safe for the client; it never includes the
 * expected signature, the secret or the string to sign.
 */
export class AuthenticationError extends CipherlakeError {
  readonly userError = true;
  constructor(
    readonly kind: AuthFailureKind,
    message: string,
  ) {
    super(message);
  }
}
