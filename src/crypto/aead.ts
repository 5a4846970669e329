import { createCipheriv, createDecipheriv } from 'node:crypto';
import { nativeGcm } from './native-gcm/binding.js';
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
 * is given (callers that give one must guarantee it is never reused under the key). With the
 * native addon loaded (src/crypto/native-gcm/) one native call writes the result, node:crypto
 * otherwise, with the same bytes: this runs for every SSE PUT (the object key's seal).
 */
export function gcmSeal(key: SecretBytes | Buffer, plaintext: Uint8Array, aad: Uint8Array, iv: Buffer = publicRandomBytes(GCM_IV_BYTES)): Buffer {
  const native = nativeGcm();
  if (native !== undefined) {
    const out = Buffer.allocUnsafe(iv.length + plaintext.length + GCM_TAG_BYTES);
    iv.copy(out, 0);
    native.seal(raw(key), iv, aad, plaintext, out, iv.length);
    return out;
  }
  const cipher = createCipheriv('aes-256-gcm', raw(key), iv);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return Buffer.concat([iv, body, final, cipher.getAuthTag()]);
}

/**
 * AES-256-GCM open of iv ‖ ciphertext ‖ tag. Raises AeadError on any failure (a wrong key
 * length included) and never returns plaintext whose tag did not verify. The plaintext (a
 * key, for every caller) is a buffer of its own, not a slice of a shared pool.
 */
export function gcmOpen(key: SecretBytes | Buffer, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw new AeadError();
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const iv = buf.subarray(0, GCM_IV_BYTES);
  const tag = buf.subarray(buf.length - GCM_TAG_BYTES);
  const body = buf.subarray(GCM_IV_BYTES, buf.length - GCM_TAG_BYTES);
  const native = nativeGcm();
  let out: Buffer | undefined;
  try {
    if (native !== undefined) {
      out = Buffer.allocUnsafeSlow(body.length);
      // On a bad tag the addon has zeroed out already.
      if (!native.open(raw(key), iv, aad, body, tag, out)) throw new AeadError();
      return out;
    }
    const decipher = createDecipheriv('aes-256-gcm', raw(key), iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    out = decipher.update(body);
    decipher.final();
    return out;
  } catch {
    // update wrote the plaintext before final checked the tag: zeroed, as the addon does.
    out?.fill(0);
    throw new AeadError();
  }
}

function raw(key: SecretBytes | Buffer): Buffer {
  return Buffer.isBuffer(key) ? key : key.unsafeBytes();
}
