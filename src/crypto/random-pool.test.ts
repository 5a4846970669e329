import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { publicRandomBytes } from './random-pool.js';

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
