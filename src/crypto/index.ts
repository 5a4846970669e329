export { SecretBytes, withSecret } from './secret-bytes.js';
export { constantTimeEqual } from './constant-time.js';
