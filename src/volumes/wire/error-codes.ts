import type { Logger } from 'pino';
import { echoed, MAX_MESSAGE_CHARS } from '../../common/bounded-echo.js';
import { AuthenticationError, type AuthFailureKind } from '../../iam/index.js';
import * as errors from '../errors.js';

/** An EC2 error on the wire. */
export interface Ec2WireError {
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

type Ec2ErrorName = Extract<keyof typeof errors, `Ec2${string}`>;

/**
 * The one mapping from the volumes part's EC2 errors to EC2 error codes
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html). `satisfies`
 * makes a missing or misspelt class a compile error.
 */
export const EC2_ERROR_CODES = {
  Ec2VolumeNotFoundError: { code: 'InvalidVolume.NotFound', status: 400 },
  Ec2SnapshotNotFoundError: { code: 'InvalidSnapshot.NotFound', status: 400 },
  Ec2VolumeIdMalformedError: { code: 'InvalidVolumeID.Malformed', status: 400 },
  Ec2SnapshotIdMalformedError: { code: 'InvalidSnapshotID.Malformed', status: 400 },
  Ec2InvalidParameterValueError: { code: 'InvalidParameterValue', status: 400 },
  Ec2InvalidParameterCombinationError: { code: 'InvalidParameterCombination', status: 400 },
  Ec2TagLimitExceededError: { code: 'TagLimitExceeded', status: 400 },
  Ec2MissingParameterError: { code: 'MissingParameter', status: 400 },
  Ec2IdempotentParameterMismatchError: { code: 'IdempotentParameterMismatch', status: 400 },
  Ec2VolumeInUseError: { code: 'VolumeInUse', status: 400 },
  Ec2IncorrectStateError: { code: 'IncorrectState', status: 400 },
  Ec2KmsKeyNotFoundError: { code: 'InvalidKMSKey.NotFound', status: 400 },
  Ec2KmsKeyStateError: { code: 'InvalidKMSKey.InvalidState', status: 400 },
  Ec2UnauthorizedError: { code: 'UnauthorizedOperation', status: 403 },
  Ec2MissingActionError: { code: 'MissingAction', status: 400 },
  Ec2InvalidActionError: { code: 'InvalidAction', status: 400 },
  Ec2DryRunError: { code: 'DryRunOperation', status: 412 },
} as const satisfies Record<Ec2ErrorName, { code: string; status: number }>;

/** Authentication failures in EC2's words. */
export const EC2_AUTH_ERROR_CODES = {
  MissingAuthentication: { code: 'MissingAuthenticationToken', status: 401 },
  IncompleteSignature: { code: 'IncompleteSignature', status: 400 },
  UnknownAccessKey: { code: 'AuthFailure', status: 401 },
  SignatureMismatch: { code: 'AuthFailure', status: 401 },
  RequestExpired: { code: 'RequestExpired', status: 400 },
  ContentHashMismatch: { code: 'AuthFailure', status: 401 },
  InvalidToken: { code: 'AuthFailure', status: 401 },
} as const satisfies Record<AuthFailureKind, { code: string; status: number }>;

/**
 * Maps any thrown value to the wire, its message cut to MAX_MESSAGE_CHARS (an operation's
 * message may quote the caller's values). Anything unmapped becomes InternalError with a
 * generic message; the detail goes to `log` only.
 */
export function toEc2WireError(err: unknown, log?: Logger): Ec2WireError {
  if (err instanceof AuthenticationError) return { ...EC2_AUTH_ERROR_CODES[err.kind], message: err.message };
  if (err instanceof Error) {
    const entry = (EC2_ERROR_CODES as Record<string, { code: string; status: number }>)[err.name];
    if (entry !== undefined && err.name in errors) return { ...entry, message: echoed(err.message, MAX_MESSAGE_CHARS) };
  }
  log?.error({ err }, 'EC2 request failed');
  return { code: 'InternalError', status: 500, message: 'An internal error has occurred' };
}
