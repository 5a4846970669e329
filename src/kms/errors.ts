import { CipherlakeError } from '../common/errors.js';

/** A KMS error raised by operations; `kms/wire/error-codes.ts` maps each to its AWS code. */
export abstract class KmsError extends CipherlakeError {
  readonly userError: boolean = true;
}

/** The key, alias or grant does not exist (or is not visible to the caller). */
export class NotFoundError extends KmsError {}
/** DryRun was set and the request would have gone on to the operation (parsed and authorized). */
export class DryRunOperationError extends KmsError {}
/** The key is disabled. */
export class DisabledError extends KmsError {}
/** The key's state does not allow the operation (pending deletion, pending import…). */
export class KeyInvalidStateError extends KmsError {}
/** The ciphertext is not ours, was tampered with, or the encryption context differs. */
export class InvalidCiphertextError extends KmsError {
  constructor() {
    super('');
  }
}
/** The ciphertext was made under a different key than the one named. */
export class IncorrectKeyError extends KmsError {}
/** The key's usage or spec does not allow the operation. */
export class InvalidKeyUsageError extends KmsError {}
/** A parameter failed validation. */
export class ValidationError extends KmsError {}
/** An alias (or other named resource) already exists. */
export class AlreadyExistsError extends KmsError {}
/** A quota was reached. */
export class LimitExceededError extends KmsError {}
/** The operation is not supported for this key or configuration. */
export class UnsupportedOperationError extends KmsError {}
/** The marker passed for paging is not one we issued. */
export class InvalidMarkerError extends KmsError {}
/** The alias name is malformed or reserved. */
export class InvalidAliasNameError extends KmsError {}
/** The ARN is malformed. */
export class InvalidArnError extends KmsError {}
/** A key policy document is malformed or would lock the caller out. */
export class MalformedPolicyDocumentError extends KmsError {}
/** A grant token is malformed or unknown. */
export class InvalidGrantTokenError extends KmsError {}
/** A grant id is malformed or unknown. */
export class InvalidGrantIdError extends KmsError {}
/** A signature did not verify. */
export class InvalidSignatureError extends KmsError {}
/** A MAC did not verify. */
export class InvalidMacError extends KmsError {}
/** A tag is malformed or reserved. */
export class TagError extends KmsError {}
/**
 * The caller may not perform the operation. `explicitDeny` is true when a policy's Deny
 * statement refused it (not merely no statement allowing it): nothing, not even a grant
 * naming the caller as the one to retire it, overrides that.
 */
export class AccessDeniedError extends KmsError {
  readonly explicitDeny: boolean;

  constructor(message: string, options?: { readonly explicitDeny?: boolean; readonly cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.explicitDeny = options?.explicitDeny ?? false;
  }
}
/** Something went wrong on our side; the client sees a generic message. */
export class KmsInternalError extends KmsError {
  override readonly userError = false;
}
