export {
  AuthenticationError,
  type AuthFailureKind,
  IamError,
  NoSuchEntityError,
  EntityAlreadyExistsError,
  IamMalformedPolicyError,
  IamLimitExceededError,
  IamValidationError,
  DeleteConflictError,
  IamAccessDeniedError,
  RootCredentialsFileError,
} from './errors.js';
export { ANONYMOUS, type Principal, type Credential, type CredentialLookup } from './principals.js';
export * from './sigv4/index.js';
export { loadRootCredentials, parseStoredRootCredentials, rootPrincipal, newAccessKeyId, newSecretAccessKey, StaticCredentials } from './root-credentials.js';
export type { IdentityStore, UserRecord, AccessKeyRecord, RoleRecord, ManagedPolicyRecord, SessionRecord, PolicyOwnerKind, AccessKeyStatus } from './identity-store.js';
export type { SecretSealer, IamDeps } from './iam-context.js';
export { IamCredentialLookup, CREDENTIAL_CACHE_TTL_MS } from './iam-credentials.js';
export { StoredIdentityPolicies, type IdentityPolicySource } from './identity-policies.js';
export { AccessControl, tlsVersionNumber } from './access-control.js';
export {
  decideAccess,
  decideKmsAccess,
  kmsRootAllowedOutright,
  matchingGrant,
  accessDeniedMessage,
  channelFacts,
  encryptionContextFacts,
  newConditionFacts,
  requestPrincipal,
  type AccessDecision,
  type AuthzCall,
  type ConditionFacts,
  type DenialCause,
  type GrantView,
} from './authorizer.js';
export { createIamService, type IamService } from './iam-service.js';
export { QUERY_MAX_BODY_BYTES, queryFailure, type QueryOutcome } from './wire/handler.js';
export type { QueryService } from './wire/query.js';
