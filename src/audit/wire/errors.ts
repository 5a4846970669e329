import { CipherlakeError } from '../../common/errors.js';

/**
 * A LookupEvents request CloudTrail would reject; `code` is the CloudTrail exception name
 * (InvalidLookupAttributesException, InvalidTimeRangeException, ...), mapped to its status
 * in error-codes.ts. User error.
 */
export class CloudTrailRequestError extends CipherlakeError {
  readonly userError = true;
  constructor(
    readonly code: CloudTrailClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** CloudTrail's client error codes for the operations we serve. */
export type CloudTrailClientErrorCode =
  | 'AccessDeniedException'
  | 'InvalidLookupAttributesException'
  | 'InvalidTimeRangeException'
  | 'InvalidMaxResultsException'
  | 'InvalidNextTokenException'
  | 'InvalidEventCategoryException'
  | 'UnsupportedOperationException'
  | 'SerializationException';
