import { CipherlakeError } from '../common/errors.js';

/** A request names bytes outside the volume, or a length/offset that is not usable. */
export class VolumeRangeError extends CipherlakeError {
  readonly userError = true;
}

/** The volume was used after `close()`. */
export class VolumeClosedError extends CipherlakeError {
  readonly userError = true;
}

/** The backing file is not a Cipherlake volume of a version we read. */
export class VolumeFormatError extends CipherlakeError {
  readonly userError = false;
}

/**
 * The key given to open a volume is not the key it was created with. The message never
 * says anything about either key.
 */
export class VolumeKeyMismatchError extends CipherlakeError {
  readonly userError = true;
}

/** A key or block size that the sector cipher cannot use (wrong length, equal halves). */
export class SectorCipherKeyError extends CipherlakeError {
  readonly userError = true;
}

/** The peer broke the NBD protocol; the connection is closed, the volume is untouched. */
export class NbdProtocolError extends CipherlakeError {
  readonly userError = true;
}

/** A write-type request reached a volume opened read-only. */
export class VolumeReadOnlyError extends CipherlakeError {
  readonly userError = true;
}

/** The NBD server was configured inconsistently (e.g. TLS required but not configured). */
export class NbdConfigError extends CipherlakeError {
  readonly userError = false;
}
