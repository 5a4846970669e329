import { strict as assert } from 'node:assert';
import { createCipheriv } from 'node:crypto';
import { nativeGcm, nativeGcmStatus, type NativeGcmBinding } from './binding.js';

// For tests of the addon and of the code that runs on it or on node:crypto.

/** node:crypto's AES-256-GCM ciphertext ‖ tag: the independent reference either path must match. */
export function nodeGcm(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/**
 * The addon as a test file sees it: `skip` for node:test when it is not in use (saying why),
 * and `addon()`, which asserts it is. Whether it must be in use is native-gcm.test.ts's check.
 */
export function addonUnderTest(): { readonly skip: string | false; addon(): NativeGcmBinding } {
  const loaded = nativeGcm();
  return {
    skip: loaded === undefined ? `addon not in use (${JSON.stringify(nativeGcmStatus())})` : false,
    addon() {
      assert.ok(loaded !== undefined);
      return loaded;
    },
  };
}
