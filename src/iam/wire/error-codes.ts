import { echoed, MAX_MESSAGE_CHARS } from '../../common/bounded-echo.js';
import { AuthenticationError, type AuthFailureKind } from '../errors.js';
import * as errors from '../errors.js';

// Errors that never reach the wire (RootCredentialsFileError stops the server or a CLI command) have no code.
type IamErrorName = Exclude<keyof typeof errors, 'AuthenticationError' | 'IamError' | 'AuthFailureKind' | 'RootCredentialsFileError'>;

/** Each IAM error class → its AWS Query error code and HTTP status. */
export const IAM_ERROR_CODES = {
  NoSuchEntityError: { code: 'NoSuchEntity', status: 404 },
  EntityAlreadyExistsError: { code: 'EntityAlreadyExists', status: 409 },
  IamMalformedPolicyError: { code: 'MalformedPolicyDocument', status: 400 },
  IamLimitExceededError: { code: 'LimitExceeded', status: 409 },
  IamValidationError: { code: 'ValidationError', status: 400 },
  IamInvalidInputError: { code: 'InvalidInput', status: 400 },
  DeleteConflictError: { code: 'DeleteConflict', status: 409 },
  IamAccessDeniedError: { code: 'AccessDenied', status: 403 },
  InvalidActionError: { code: 'InvalidAction', status: 400 },
} as const satisfies Record<IamErrorName, { code: string; status: number }>;

/** Authentication failures in IAM's and STS's wording. */
export const IAM_AUTH_ERROR_CODES = {
  MissingAuthentication: { code: 'MissingAuthenticationToken', status: 403 },
  IncompleteSignature: { code: 'IncompleteSignature', status: 400 },
  UnknownAccessKey: { code: 'InvalidClientTokenId', status: 403 },
  SignatureMismatch: { code: 'SignatureDoesNotMatch', status: 403 },
  RequestExpired: { code: 'RequestExpired', status: 400 },
  ContentHashMismatch: { code: 'SignatureDoesNotMatch', status: 403 },
  InvalidToken: { code: 'InvalidClientTokenId', status: 403 },
} as const satisfies Record<AuthFailureKind, { code: string; status: number }>;

/** A Query-protocol error ready to send. */
export interface QueryWireError {
  readonly code: string;
  readonly status: number;
  readonly message: string;
  readonly type: 'Sender' | 'Receiver';
}

/**
 * Maps any error to its Query wire error, its message cut to MAX_MESSAGE_CHARS (an
 * operation's message may quote the caller's values). Unknown errors become ServiceFailure
 * (500) with a generic message; the caller logs the detail.
 */
export function toQueryWireError(err: unknown): QueryWireError {
  if (err instanceof AuthenticationError) {
    if (err.kind === 'InvalidToken' && err.message.includes('expired')) return { code: 'ExpiredToken', status: 400, message: err.message, type: 'Sender' };
    return { ...IAM_AUTH_ERROR_CODES[err.kind], message: err.message, type: 'Sender' };
  }
  if (err instanceof errors.IamError) {
    const entry = IAM_ERROR_CODES[err.constructor.name as IamErrorName];
    if (entry !== undefined) return { ...entry, message: echoed(err.message, MAX_MESSAGE_CHARS), type: 'Sender' };
  }
  return { code: 'ServiceFailure', status: 500, message: 'An internal error occurred.', type: 'Receiver' };
}
