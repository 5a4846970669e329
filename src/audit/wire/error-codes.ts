import { InvalidAuditQueryError } from '../errors.js';
import { CloudTrailRequestError, type CloudTrailClientErrorCode } from './errors.js';

/** A CloudTrail JSON 1.1 error as sent: `__type`, HTTP status and a message safe for the client. */
export interface CloudTrailWireError {
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

/** Status of each CloudTrail client error (all 400 in the CloudTrail API reference). */
export const CLOUDTRAIL_ERROR_STATUS = {
  AccessDeniedException: 400,
  InvalidLookupAttributesException: 400,
  InvalidTimeRangeException: 400,
  InvalidMaxResultsException: 400,
  InvalidNextTokenException: 400,
  InvalidTokenException: 400,
  InvalidEventCategoryException: 400,
  UnsupportedOperationException: 400,
  SerializationException: 400,
} as const satisfies Record<CloudTrailClientErrorCode, number>;

/**
 * The one mapping from errors to CloudTrail wire errors. Anything not a known client error
 * becomes `InternalFailure` (500) with a generic message: the detail stays in the server log.
 */
export function toCloudTrailWireError(err: unknown): CloudTrailWireError {
  if (err instanceof CloudTrailRequestError) return { code: err.code, status: CLOUDTRAIL_ERROR_STATUS[err.code], message: err.message };
  if (err instanceof InvalidAuditQueryError) return { code: 'InvalidNextTokenException', status: 400, message: 'Invalid NextToken' };
  return { code: 'InternalFailure', status: 500, message: 'An internal error occurred' };
}
