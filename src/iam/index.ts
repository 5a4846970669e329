export { AuthenticationError, type AuthFailureKind } from './errors.js';
export { ANONYMOUS, type Principal, type Credential, type CredentialLookup } from './principals.js';
export * from './sigv4/index.js';
export { loadRootCredentials, rootPrincipal, newAccessKeyId, newSecretAccessKey, StaticCredentials } from './root-credentials.js';
