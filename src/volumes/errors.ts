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

// EC2 API errors. Each maps to one EC2 error code in wire/error-codes.ts (classes named
// Ec2* are the ones that table must cover). Messages are EC2's wording and name ids only.

/** InvalidVolume.NotFound: the volume id names no volume. */
export class Ec2VolumeNotFoundError extends CipherlakeError {
  readonly userError = true;
}

/** InvalidSnapshot.NotFound: the snapshot id names no snapshot. */
export class Ec2SnapshotNotFoundError extends CipherlakeError {
  readonly userError = true;
}

/** InvalidVolumeID.Malformed: a volume id that is not `vol-` and 8 to 17 hex digits (EC2 checks the form before looking). */
export class Ec2VolumeIdMalformedError extends CipherlakeError {
  readonly userError = true;
}

/** InvalidSnapshotID.Malformed: a snapshot id that is not `snap-` and 8 to 17 hex digits. */
export class Ec2SnapshotIdMalformedError extends CipherlakeError {
  readonly userError = true;
}

/** InvalidParameterValue: a parameter has a value EC2 does not accept. */
export class Ec2InvalidParameterValueError extends CipherlakeError {
  readonly userError = true;
}

/**
 * TagLimitExceeded: a request would give one resource more than 50 tags (EC2's "Tag
 * restrictions"; the code is in EC2's error catalogue).
 */
export class Ec2TagLimitExceededError extends CipherlakeError {
  readonly userError = true;
}

/** InvalidParameterCombination: two parameters that may not be used together (e.g. ids with MaxResults). */
export class Ec2InvalidParameterCombinationError extends CipherlakeError {
  readonly userError = true;
}

/** IdempotentParameterMismatch: a ClientToken already used by a request with other parameters. */
export class Ec2IdempotentParameterMismatchError extends CipherlakeError {
  readonly userError = true;
}

/** MissingParameter: a required parameter is absent. */
export class Ec2MissingParameterError extends CipherlakeError {
  readonly userError = true;
}

/** VolumeInUse: the volume is attached (delete, attach again). */
export class Ec2VolumeInUseError extends CipherlakeError {
  readonly userError = true;
}

/** IncorrectState: the resource is not in a state that allows the request (detach of a detached volume). */
export class Ec2IncorrectStateError extends CipherlakeError {
  readonly userError = true;
}

/** InvalidKMSKey.NotFound: the KMS key named for a volume or snapshot does not exist. */
export class Ec2KmsKeyNotFoundError extends CipherlakeError {
  readonly userError = true;
}

/**
 * InvalidKMSKey.InvalidState: KMS refused to wrap or unwrap a volume key (key disabled,
 * pending deletion, deleted, or the caller may not use it), as EC2 reports it.
 */
export class Ec2KmsKeyStateError extends CipherlakeError {
  readonly userError = true;
}

/** UnauthorizedOperation: the caller's policies do not allow the EC2 action. */
export class Ec2UnauthorizedError extends CipherlakeError {
  readonly userError = true;
}

/** MissingAction: the request names no Action at all. */
export class Ec2MissingActionError extends CipherlakeError {
  readonly userError = true;
}

/** InvalidAction: the Action names no operation Cipherlake serves. */
export class Ec2InvalidActionError extends CipherlakeError {
  readonly userError = true;
}

/** DryRunOperation: the request would have succeeded (DryRun=true). */
export class Ec2DryRunError extends CipherlakeError {
  readonly userError = true;
}
