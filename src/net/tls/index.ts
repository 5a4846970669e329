/** TLS for the listeners: the built-in CA, user-supplied certificates with live reload, and the protocol policy. */
export { CertificateIssueError, TlsConfigError } from './errors.js';
export { DEFAULT_SERVER_NAMES, ensureCa, ensureServerCertificate, isCertificateName, RENEW_BEFORE_MS, serverNames } from './built-in-ca.js';
export type { CaFiles, KeyAlgorithm, ServerCertificate } from './built-in-ca.js';
export { BuiltInIdentitySource, FileIdentitySource } from './server-identity.js';
export { openTls } from './open-tls.js';
export type { TlsSetup } from './open-tls.js';
export type { IdentitySource } from './server-identity.js';
export { secureContextOptions, TLS_CIPHERS, TLS_MIN_VERSION, tlsServerOptions } from './tls-options.js';
export type { ClientCertPolicy, TlsIdentity } from './tls-options.js';
