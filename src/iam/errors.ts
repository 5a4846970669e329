import { CipherlakeError } from '../common/errors.js';

/** Why authentication failed; the wire layers map each to the protocol's own AWS code. */
export type AuthFailureKind =
  | 'MissingAuthentication' // no Authorization header or presigned query
  | 'IncompleteSignature' // malformed Authorization header or missing pieces
  | 'UnknownAccessKey' // access key id not known (or inactive)
  | 'SignatureMismatch' // the signature does not verify
  | 'RequestExpired' // clock skew over the limit, or presigned URL expired
  | 'ContentHashMismatch' // x-amz-content-sha256 does not match the body
  | 'InvalidToken'; // session token missing, wrong or expired

/**
 * Authentication failed. The message is safe for the client; it never includes the
 * expected signature, the secret or the string to sign.
 */
export class AuthenticationError extends CipherlakeError {
  readonly userError = true;
  constructor(
    readonly kind: AuthFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An IAM or STS request the caller got wrong. Each subclass is one AWS Query error code
 * (see iam/wire/error-codes.ts); messages name entities, never secrets.
 */
export abstract class IamError extends CipherlakeError {
  readonly userError = true;
}

/** The named user, role, access key or policy does not exist (NoSuchEntity, 404). */
export class NoSuchEntityError extends IamError {}

/** An entity with that name already exists (EntityAlreadyExists, 409). */
export class EntityAlreadyExistsError extends IamError {}

/** A policy document does not parse or breaks the grammar (MalformedPolicyDocument, 400). */
export class IamMalformedPolicyError extends IamError {}

/** A per-entity quota would be exceeded, e.g. a third access key (LimitExceeded, 409). */
export class IamLimitExceededError extends IamError {}

/** A parameter is missing or out of range (ValidationError, 400). */
export class IamValidationError extends IamError {}

/**
 * A parameter passes the API model's constraints but IAM cannot use it, e.g. a PolicyArn that
 * is not a policy ARN (InvalidInput, 400: "ARN … is not valid.", as IAM answers it).
 */
export class IamInvalidInputError extends IamError {}

/** The entity still has subordinate entities (DeleteConflict, 409). */
export class DeleteConflictError extends IamError {}

/** The caller may not perform the action (AccessDenied, 403); the reason is logged, not sent. */
export class IamAccessDeniedError extends IamError {}

/** The Action parameter names no operation we serve (InvalidAction, 400). */
export class InvalidActionError extends IamError {}

/**
 * DATA_DIR/credentials.json exists but does not hold the root credentials (not JSON, or
 * the two fields are not strings). The message names the file only: never its content,
 * which is the secret access key (JSON.parse's own message quotes the text around the
 * fault, so it is neither used nor kept as the cause). Operator error: restore the file.
 */
export class RootCredentialsFileError extends CipherlakeError {
  readonly userError = true;
}
