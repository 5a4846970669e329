import { CipherlakeError } from '../../common/errors.js';

/** A TLS setting cannot be used: a certificate or key file is missing, unreadable or does not match. */
export class TlsConfigError extends CipherlakeError {
  readonly userError = true;
}

/** The built-in CA could not create or sign a certificate (the openssl tool failed). */
export class CertificateIssueError extends CipherlakeError {
  readonly userError = false;
}
