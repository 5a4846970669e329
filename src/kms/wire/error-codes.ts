import * as errors from '../errors.js';
import { InvalidPageMarkerError, KeyAlreadyExistsError } from '../key-store.js';
import { AuthenticationError, type AuthFailureKind } from '../../iam/errors.js';

/** A KMS error on the wire: the `__type` code and the HTTP status. */
export interface KmsWireError {
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

type KmsErrorName = Exclude<keyof typeof errors, 'KmsError'>;

/**
 * The one mapping from KMS error classes to AWS KMS error codes. `satisfies` makes a
 * missing or misspelt class a compile error. Codes are those the KMS API reference lists.
 */
export const KMS_ERROR_CODES = {
  NotFoundError: { code: 'NotFoundException', status: 400 },
  DisabledError: { code: 'DisabledException', status: 400 },
  KeyInvalidStateError: { code: 'KMSInvalidStateException', status: 400 },
  InvalidCiphertextError: { code: 'InvalidCiphertextException', status: 400 },
  IncorrectKeyError: { code: 'IncorrectKeyException', status: 400 },
  InvalidKeyUsageError: { code: 'InvalidKeyUsageException', status: 400 },
  ValidationError: { code: 'ValidationException', status: 400 },
  AlreadyExistsError: { code: 'AlreadyExistsException', status: 400 },
  LimitExceededError: { code: 'LimitExceededException', status: 400 },
  UnsupportedOperationError: { code: 'UnsupportedOperationException', status: 400 },
  InvalidMarkerError: { code: 'InvalidMarkerException', status: 400 },
  InvalidAliasNameError: { code: 'InvalidAliasNameException', status: 400 },
  InvalidArnError: { code: 'InvalidArnException', status: 400 },
  MalformedPolicyDocumentError: { code: 'MalformedPolicyDocumentException', status: 400 },
  InvalidGrantTokenError: { code: 'InvalidGrantTokenException', status: 400 },
  InvalidGrantIdError: { code: 'InvalidGrantIdException', status: 400 },
  InvalidSignatureError: { code: 'KMSInvalidSignatureException', status: 400 },
  InvalidMacError: { code: 'KMSInvalidMacException', status: 400 },
  TagError: { code: 'TagException', status: 400 },
  AccessDeniedError: { code: 'AccessDeniedException', status: 400 },
  DryRunOperationError: { code: 'DryRunOperationException', status: 412 },
  KmsInternalError: { code: 'KMSInternalException', status: 500 },
} as const satisfies Record<KmsErrorName, { code: string; status: number }>;

/** Authentication failures in the JSON protocols' words. */
export const KMS_AUTH_ERROR_CODES = {
  MissingAuthentication: { code: 'MissingAuthenticationTokenException', status: 400 },
  IncompleteSignature: { code: 'IncompleteSignatureException', status: 400 },
  UnknownAccessKey: { code: 'UnrecognizedClientException', status: 400 },
  SignatureMismatch: { code: 'InvalidSignatureException', status: 400 },
  RequestExpired: { code: 'InvalidSignatureException', status: 400 },
  ContentHashMismatch: { code: 'InvalidSignatureException', status: 400 },
  InvalidToken: { code: 'UnrecognizedClientException', status: 400 },
} as const satisfies Record<AuthFailureKind, { code: string; status: number }>;

/**
 * Maps any thrown value to the wire. Unknown errors become KMSInternalException with a
 * generic message; the caller logs the original.
 */
export function toKmsWireError(err: unknown): KmsWireError {
  if (err instanceof AuthenticationError) {
    const { code, status } = KMS_AUTH_ERROR_CODES[err.kind];
    const message = err.kind === 'InvalidToken' && err.message.includes('expired') ? err.message : err.message;
    return { code: err.kind === 'InvalidToken' && err.message.includes('expired') ? 'ExpiredTokenException' : code, status, message };
  }
  if (err instanceof errors.KmsError && !(err instanceof errors.KmsInternalError)) {
    const entry = KMS_ERROR_CODES[err.constructor.name as KmsErrorName];
    if (entry !== undefined) return { ...entry, message: err.message };
  }
  if (err instanceof InvalidPageMarkerError) return { code: 'InvalidMarkerException', status: 400, message: err.message };
  if (err instanceof KeyAlreadyExistsError) return { code: 'AlreadyExistsException', status: 400, message: err.message };
  return { code: 'KMSInternalException', status: 500, message: 'An internal error occurred.' };
}
