import type { KeyService } from '../keys/key-service.js';
import type { CallContext } from '../kms-context.js';
import type { Fields, JsonObject } from './fields.js';
import type { AuditedKey } from './audited-keys.js';

/**
 * What a parsed request tells authorization besides the key: its encryption context (for
 * kms:EncryptionContext:*, kms:EncryptionContextKeys and grant constraints) and any other
 * KMS condition keys (kms:GrantOperations, kms:RequestAlias…), by their AWS names.
 */
export interface KmsRequestFacts {
  readonly encryptionContext?: Readonly<Record<string, string>>;
  /** Decrypt without KeyId: the key the ciphertext names (the request names none). */
  readonly ciphertextKeyId?: string;
  readonly conditionKeys?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/**
 * One KMS target, declared as data: its IAM action, how to read the request, the
 * operation, and how to write the response. The handler wraps every route with the same
 * limits, authentication, authorization and audit, so no route can forget them.
 */
export interface KmsRoute<Req = unknown, Res = unknown> {
  /** IAM action, e.g. `kms:Encrypt`. */
  readonly action: string;
  /** True for operations that change nothing (CloudTrail's readOnly). */
  readonly readOnly: boolean;
  /**
   * The operation takes DryRun (the KMS API lists which): a request with DryRun true is
   * parsed, authorized and checked like any other (see checkDryRun), then answered
   * DryRunOperationException (412) instead of its result.
   */
  readonly takesDryRun?: true;
  /**
   * For a route taking DryRun that changes something (CreateGrant, RetireGrant, RevokeGrant):
   * every check its operation makes, in the same order and with the same errors, never its
   * effect. Absent, a dry run runs the operation itself (it changes nothing) and drops the result.
   */
  readonly checkDryRun?: (keys: KeyService, req: Req, call: CallContext) => Promise<void>;
  readonly parse: (fields: Fields) => Req;
  /** The key identifier the request names, for authorization and audit resources. */
  readonly keyOf?: (req: Req) => string | undefined;
  /** The request's condition facts for authorization (crypto routes: the encryption context). */
  readonly conditions?: (req: Req) => KmsRequestFacts;
  /**
   * Further authorizations the request needs besides `action` on `keyOf` (ReEncrypt:
   * kms:ReEncryptFrom on the source key); each is decided like the main one.
   */
  readonly alsoAuthorize?: (req: Req) => ReadonlyArray<{ readonly action: string; readonly keyIdentifier: string | undefined; readonly facts: KmsRequestFacts }>;
  /**
   * For a request its own resource authorizes (RetireGrant: the grant names who may retire
   * it): resolves true to allow the call when `action`'s policies merely do not allow it (an
   * explicit Deny still refuses), false to leave the decision to the policies as for any
   * route. Never raises for an unknown resource (false: the operation answers its own error).
   */
  readonly allowedByResource?: (keys: KeyService, req: Req, call: CallContext) => Promise<boolean>;
  readonly operate: (keys: KeyService, req: Req, call: CallContext) => Promise<Res>;
  /**
   * For the hottest routes: `operate`'s result computed at once when everything it needs is
   * in memory (cached key record and material), with no promise; undefined to call
   * `operate` instead. Raises what `operate` would reject with.
   */
  readonly operateNow?: (keys: KeyService, req: Req, call: CallContext) => Res | undefined;
  readonly respond: (res: Res) => JsonObject;
  /**
   * The keys a failed call's record lists, in CloudTrail's order, for a route naming more
   * than its keyOf key (ReEncrypt: the source, named or the blob's, then the destination).
   * Absent: the key keyOf names, else the one the request's blob names.
   */
  readonly auditedKeys?: (req: Req) => readonly AuditedKey[];
  /**
   * The ARNs of the keys a successful call's record lists, in CloudTrail's order, when they
   * are not (only) the key the request names: ReEncrypt's source and destination keys,
   * RetireGrant's grant's key (named by a token alone). Absent: the key the request names.
   */
  readonly resultKeys?: (res: Res) => readonly string[];
  /**
   * The record's additionalEventData for a successful call (the key material it used, see
   * material-audit.ts); never called for a failed one. Never returns anything secret.
   */
  readonly auditData?: (req: Req, res: Res) => JsonObject | undefined;
  /**
   * For the hottest read-only routes: the response's JSON text, exactly
   * `JSON.stringify(respond(res))`, written without building the object first. Used only
   * when `readOnly` (a changing route's response is also audited, from `respond`'s object).
   */
  readonly respondText?: (res: Res) => string;
}

/** Declares a route with its request and result types checked together. */
export function route<Req, Res>(r: KmsRoute<Req, Res>): KmsRoute {
  return r as unknown as KmsRoute;
}
