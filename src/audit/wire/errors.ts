import { CipherlakeError } from '../../common/errors.js';

/**
 * A LookupEvents or ListPublicKeys request CloudTrail would reject; `code` is the CloudTrail exception name
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

/** CloudTrail's client error codes for the operations we serve (ListPublicKeys says InvalidTokenException where LookupEvents says InvalidNextTokenException). */
export type CloudTrailClientErrorCode =
  | 'AccessDeniedException'
  | 'InvalidLookupAttributesException'
  | 'InvalidTimeRangeException'
  | 'InvalidMaxResultsException'
  | 'InvalidNextTokenException'
  | 'InvalidTokenException'
  | 'InvalidEventCategoryException'
  | 'UnsupportedOperationException'
  | 'SerializationException';
