export { SecretBytes, withSecret } from './secret-bytes.js';
export { constantTimeEqual } from './constant-time.js';
export { publicRandomBytes, randomUuid } from './random-pool.js';
export { gcmSeal, gcmOpen, AeadError, GCM_IV_BYTES, GCM_TAG_BYTES } from './aead.js';
export { DecryptionError, InvalidCryptoArgumentError } from './errors.js';
export * from './segment-stream/index.js';
export { NATIVE_GCM_ENV, NATIVE_GCM_NOT_LOADED_LOG, nativeGcmStatus, retainFreedHeapForServer } from './native-gcm/binding.js';
export type { NativeGcmStatus } from './native-gcm/binding.js';
