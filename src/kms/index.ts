/** The KMS part's public surface: what other parts (s3, volumes, net, cli) may use. */
export { KeyService } from './keys/key-service.js';
export type { KmsDeps, KmsSettings, CallContext } from './kms-context.js';
export type { KeyStore } from './key-store.js';
export type { RootKeyProvider } from './root-key/root-key-provider.js';
export { openRootKey, RootKeyConfigError, type RootKeyConfig } from './root-key/open-root-key.js';
export { createKmsAccess, type KmsAccess } from './key-authorizer.js';
export type { KmsRequestFacts } from './wire/route.js';
export { handleKmsRequest, KMS_MAX_BODY_BYTES, type KmsOutcome, type KmsAuthorizer } from './wire/handler.js';
export { toKmsWireError, KMS_AUTH_ERROR_CODES } from './wire/error-codes.js';
export { keyArn, type KeyRecord, type KeySpec } from './keys/key-record.js';
export { readBlobHeader } from './ciphertext-blob.js';
export * as kmsErrors from './errors.js';
export { createKey } from './operations/create-key.js';
export { ensureAwsManagedKey } from './operations/aws-managed-key.js';
export { runKeyMaintenance, startKeyMaintenance } from './keys/maintenance.js';
export { encrypt, decrypt, generateDataKey, generateDataKeyWithoutPlaintext } from './operations/crypto-operations.js';
export type { EncryptionContext } from './encryption-context.js';
export { KmsAuditSigner, AUDIT_SIGNING_ALIAS } from './audit-signer.js';
