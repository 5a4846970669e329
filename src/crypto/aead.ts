import { createCipheriv, createDecipheriv } from 'node:crypto';
import { publicRandomBytes } from './random-pool.js';
import type { SecretBytes } from './secret-bytes.js';

/** Thrown for every failed authenticated decryption; it never says which check failed. */
export class AeadError extends Error {
  constructor() {
    super('decryption failed');
    this.name = 'AeadError';
  }
}

export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/**
 * AES-256-GCM seal: returns iv ‖ ciphertext ‖ tag. A fresh random IV is used unless one
 * is given (callers that give one must guarantee it is never reused under the key).
 */
export function gcmSeal(key: SecretBytes | Buffer, plaintext: Uint8Array, aad: Uint8Array, iv: Buffer = publicRandomBytes(GCM_IV_BYTES)): Buffer {
  const cipher = createCipheriv('aes-256-gcm', raw(key), iv);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return Buffer.concat([iv, body, final, cipher.getAuthTag()]);
}

/**
 * AES-256-GCM open of iv ‖ ciphertext ‖ tag. Raises AeadError on any failure and never
 * returns plaintext whose tag did not verify.
 */
export function gcmOpen(key: SecretBytes | Buffer, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw new AeadError();
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const iv = buf.subarray(0, GCM_IV_BYTES);
  const tag = buf.subarray(buf.length - GCM_TAG_BYTES);
  const body = buf.subarray(GCM_IV_BYTES, buf.length - GCM_TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', raw(key), iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const out = decipher.update(body);
    decipher.final();
    return out;
  } catch {
    throw new AeadError();
  }
}

function raw(key: SecretBytes | Buffer): Buffer {
  return Buffer.isBuffer(key) ? key : key.unsafeBytes();
}
