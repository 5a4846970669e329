import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SECRET_DRAW, publicRandomBytes, secretRandomBytes } from './random-pool.js';
import { SecretBytes } from './secret-bytes.js';

describe('publicRandomBytes', () => {
  it('hands out each value once, across many pool refills', () => {
    // 5,000 draws of 16 bytes span about twenty 4 KiB refills; a pool reused without
    // refilling, or a draw that overlaps the previous one, repeats a value.
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const b = publicRandomBytes(16);
      assert.equal(b.length, 16);
      seen.add(b.toString('hex'));
    }
    assert.equal(seen.size, 5000);
  });

  it('returns the caller its own copy: changing it changes no other value', () => {
    const a = publicRandomBytes(12);
    const b = publicRandomBytes(12);
    const before = Buffer.from(b);
    a.fill(0xff);
    assert.deepEqual(b, before);
    assert.ok(a.buffer !== b.buffer || a.byteOffset + a.length <= b.byteOffset);
  });

  it('serves any size up to the pool, even when the pool is nearly used up, and refuses bad sizes', () => {
    for (const size of [0, 1, 7, 45, 4095, 4096, 3]) assert.equal(publicRandomBytes(size).length, size);
    for (const bad of [-1, 4097, 1.5, Number.NaN]) assert.throws(() => publicRandomBytes(bad), RangeError);
  });
});

describe('secretRandomBytes (SecretBytes.random)', () => {
  it('returns the requested length, pooled or not, and refuses bad sizes', () => {
    for (const n of [0, 1, 16, 32, MAX_SECRET_DRAW, MAX_SECRET_DRAW + 1, 1024]) assert.equal(secretRandomBytes(n).length, n);
    for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => secretRandomBytes(bad), RangeError);
  });

  it('never hands out the same key twice, across many refills of the pool', () => {
    // 3,000 keys of 32 bytes span about ninety 1 KiB refills.
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) seen.add(SecretBytes.random(32).unsafeBytes().toString('hex'));
    assert.equal(seen.size, 3000);
    assert.ok(!seen.has('00'.repeat(32)), 'a zeroed (already handed out) region was returned');
  });

  it('gives each key memory of its own: disposing one, or drawing and refilling after it, leaves the others as they were', () => {
    const a = secretRandomBytes(32);
    const b = SecretBytes.random(32);
    const before = Buffer.from(b.unsafeBytes());
    // Not a slice of a shared allocation (Buffer's 8 KiB pool or the random pool).
    assert.equal(a.byteOffset, 0);
    assert.equal(a.buffer.byteLength, 32);
    assert.equal(b.unsafeBytes().buffer.byteLength, 32);
    a.fill(0);
    for (let i = 0; i < 100; i++) SecretBytes.random(32).dispose(); // about three refills
    assert.deepEqual(b.unsafeBytes(), before);
    assert.notEqual(before.toString('hex'), '00'.repeat(32));
  });
});
