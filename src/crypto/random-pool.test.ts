import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SECRET_DRAW, publicRandomBytes, randomUuid, secretRandomBytes } from './random-pool.js';
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

describe('randomUuid', () => {
  const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('returns RFC 4122 version 4 UUIDs, each once, across many pool refills and draws of other sizes', () => {
    // 3,000 UUIDs of 16 bytes plus odd-sized draws between them span about fifteen 4 KiB
    // refills; a reused text buffer returned as is, or a pool region handed out twice, repeats a value.
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const u = randomUuid();
      assert.match(u, V4);
      seen.add(u);
      if (i % 7 === 0) publicRandomBytes(5);
    }
    assert.equal(seen.size, 3000);
  });

  it('sets every one of the 122 random bits in some UUIDs and clears it in others', () => {
    // A digit written from the wrong byte or nibble, or a byte masked too much, leaves some bit fixed.
    const ones = new Array<number>(128).fill(0);
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const bytes = Buffer.from(randomUuid().replaceAll('-', ''), 'hex');
      for (let bit = 0; bit < 128; bit++) if ((bytes[bit >> 3] as number) & (0x80 >> (bit & 7))) (ones[bit] as number)++;
    }
    const fixed = new Map([[48, 0], [49, 1], [50, 0], [51, 0], [64, 1], [65, 0]]); // version 0100, variant 10
    for (let bit = 0; bit < 128; bit++) {
      const count = ones[bit] as number;
      const want = fixed.get(bit);
      if (want !== undefined) assert.equal(count, want * n, `bit ${bit}`);
      else assert.ok(count > n / 4 && count < (3 * n) / 4, `bit ${bit} set in ${count} of ${n}`);
    }
  });

  it('hands out bytes no publicRandomBytes draw gets', () => {
    // The UUID takes its 16 bytes from the pool and moves past them: the next draw starts after.
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const hex = randomUuid().replaceAll('-', '');
      const drawn = publicRandomBytes(16).toString('hex');
      // The UUID's bytes other than the version and variant ones, compared as the draw's would be.
      seen.add(hex.slice(0, 12) + hex.slice(20));
      assert.ok(!seen.has(drawn.slice(0, 12) + drawn.slice(20)));
      seen.add(drawn.slice(0, 12) + drawn.slice(20));
    }
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
