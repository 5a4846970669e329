import { CipherlakeError } from '../common/errors.js';

/**
 * A data directory cannot be opened for an offline command: a file is missing, or what it
 * holds contradicts itself (for example the audit key's stored public key does not match
 * its wrapped private key). User error: the path or the directory is wrong.
 */
export class DataDirError extends CipherlakeError {
  readonly userError = true;
}

/** A command-line value is malformed (a seq, a time, a number). */
export class CliArgumentError extends CipherlakeError {
  readonly userError = true;
}

/**
 * The running server refused a request a CLI command sent it (for example a PUT of an
 * audit export file); the message names the request and S3's error code and message,
 * never credentials. User error: the bucket, key or permissions named are wrong.
 */
export class ServerRefusedError extends CipherlakeError {
  readonly userError = true;
}
