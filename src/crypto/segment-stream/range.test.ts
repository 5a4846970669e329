import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { DecryptionError, InvalidCryptoArgumentError } from '../errors.js';
import { SecretBytes } from '../secret-bytes.js';
import { DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, TAG_SIZE, headerSize } from './format.js';
import { encryptedSize, planRange, plaintextSize } from './sizes.js';
import type { RangePlan } from './sizes.js';
import { createSegmentDecryptor, openBuffer, sealBuffer } from './streams.js';

const key = SecretBytes.copyOf(Buffer.alloc(32, 7));
const aad = Buffer.from('b\0k\0v');

/** Deterministic xorshift32 so a failing range can be reproduced from the seed. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

function slices(sealed: Buffer, plan: RangePlan): { header: Buffer; body: Buffer } {
  return {
    header: sealed.subarray(plan.headerRange.start, plan.headerRange.endInclusive + 1),
    body: sealed.subarray(plan.segmentRange.start, plan.segmentRange.endInclusive + 1),
  };
}

function readRange(sealed: Buffer, plan: RangePlan, bindAad = aad): Buffer {
  const { header, body } = slices(sealed, plan);
  return openBuffer(key, body, { aad: bindAad, range: { header, plan } });
}

function ranges(size: number, seed: number, count: number): Array<[number, number]> {
  const r = rng(seed);
  const out: Array<[number, number]> = [[0, size - 1], [0, 0], [size - 1, size - 1]];
  for (let k = 1; k <= Math.min(size, 40); k += 13) out.push([size - k, size - 1]); // suffix ranges
  for (let i = 0; i < count; i++) {
    const a = r(size);
    out.push(i % 4 === 0 ? [a, a] : [a, a + r(size - a)]);
  }
  return out;
}

describe('encryptedSize / plaintextSize', () => {
  it('are inverse for every small size', () => {
    for (const seg of [16, 17, 64]) {
      for (let n = 0; n <= 300; n++) assert.equal(plaintextSize(encryptedSize(n, seg), seg), n);
    }
  });

  it('match the reference segment size', () => {
    assert.equal(encryptedSize(0), headerSize + TAG_SIZE);
    assert.equal(encryptedSize(DEFAULT_SEGMENT_SIZE), headerSize + DEFAULT_SEGMENT_SIZE + TAG_SIZE);
    assert.equal(encryptedSize(DEFAULT_SEGMENT_SIZE + 1), headerSize + DEFAULT_SEGMENT_SIZE + 1 + 2 * TAG_SIZE);
    assert.equal(encryptedSize(5 * 2 ** 40), headerSize + 5 * 2 ** 40 + 5 * 2 ** 24 * TAG_SIZE);
  });

  it('rejects every sealed size that no plaintext has', () => {
    const valid = new Set<number>();
    for (let n = 0; n <= 400; n++) valid.add(encryptedSize(n, 16));
    for (let e = 0; e <= 400; e++) {
      if (valid.has(e)) continue;
      assert.throws(() => plaintextSize(e, 16), DecryptionError, `sealed size ${e}`);
    }
  });

  it('reject bad arguments', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => encryptedSize(bad), InvalidCryptoArgumentError);
      assert.throws(() => plaintextSize(bad), InvalidCryptoArgumentError);
    }
    for (const seg of [0, 15, MAX_SEGMENT_SIZE + 1, 16.5]) assert.throws(() => encryptedSize(1, seg), InvalidCryptoArgumentError);
    assert.throws(() => encryptedSize(2 ** 32 * 16 + 1, 16), InvalidCryptoArgumentError);
    assert.doesNotThrow(() => encryptedSize(2 ** 32 * 16, 16));
  });
});

describe('planRange', () => {
  it('rejects ranges outside the object', () => {
    for (const [s, e, size] of [[0, 0, 0], [5, 4, 10], [0, 10, 10], [-1, 3, 10], [10, 10, 10]] as const) {
      assert.throws(() => planRange(s, e, size, 16), InvalidCryptoArgumentError);
    }
  });

  it('covers only the segments holding the range', () => {
    const p = planRange(20, 40, 100, 16);
    assert.deepEqual([p.firstSegment, p.lastSegment, p.includesFinal, p.skip, p.keep], [1, 2, false, 4, 21]);
    assert.deepEqual(p.segmentRange, { start: headerSize + 32, endInclusive: headerSize + 3 * 32 - 1 });
    const tail = planRange(99, 99, 100, 16);
    assert.deepEqual([tail.firstSegment, tail.lastSegment, tail.includesFinal], [6, 6, true]);
    assert.equal(tail.segmentRange.endInclusive, encryptedSize(100, 16) - 1);
    const head = planRange(0, 0, 100, 16);
    assert.equal(head.headerRange.endInclusive + 1, head.segmentRange.start);
  });

  it('decrypts exactly the plaintext slice for many random ranges', () => {
    for (const [seg, size, seed] of [[16, 1, 1], [16, 15, 2], [16, 16, 3], [16, 17, 4], [16, 333, 5], [17, 1000, 6], [DEFAULT_SEGMENT_SIZE, 300_000, 7]] as const) {
      const plain = pattern(size);
      const sealed = sealBuffer(key, plain, { segmentSize: seg, aad });
      for (const [s, e] of ranges(size, seed, 150)) {
        const plan = planRange(s, e, size, seg);
        assert.ok(plan.segmentRange.endInclusive < sealed.length);
        assert.deepEqual(readRange(sealed, plan), plain.subarray(s, e + 1), `seg ${seg} size ${size} range ${s}-${e}`);
      }
    }
  });

  it('streams a range fed in odd-sized chunks', async () => {
    const size = 5 * DEFAULT_SEGMENT_SIZE + 123;
    const plain = pattern(size);
    const sealed = sealBuffer(key, plain, { aad });
    for (const [s, e] of ranges(size, 11, 12)) {
      const plan = planRange(s, e, size);
      const { header, body } = slices(sealed, plan);
      const chunks: Buffer[] = [];
      for (let i = 0; i < body.length; i += 10_007) chunks.push(body.subarray(i, i + 10_007));
      const got: Buffer[] = [];
      await pipeline(Readable.from(chunks), createSegmentDecryptor(key, { aad, range: { header, plan } }), async (src: AsyncIterable<Buffer>) => {
        for await (const c of src) got.push(c);
      });
      assert.deepEqual(Buffer.concat(got), plain.subarray(s, e + 1));
    }
  });

  it('fails when the slice or its plan does not match the object', () => {
    const size = 100;
    const sealed = sealBuffer(key, pattern(size), { segmentSize: 16, aad });
    const plan = planRange(20, 40, size, 16);
    const { header, body } = slices(sealed, plan);
    const open = (b: Buffer, p: RangePlan, h = header, a = aad): Buffer => openBuffer(key, b, { aad: a, range: { header: h, plan: p } });
    assert.deepEqual(open(body, plan), pattern(size).subarray(20, 41)); // control
    assert.throws(() => open(body.subarray(0, body.length - 1), plan), DecryptionError);
    assert.throws(() => open(body.subarray(0, 32), plan), DecryptionError); // cut at a segment boundary
    assert.throws(() => open(Buffer.concat([body, Buffer.alloc(1)]), plan), DecryptionError);
    assert.throws(() => open(body, plan, header, Buffer.from('b\0k\0w')), DecryptionError);
    assert.throws(() => open(body, { ...plan, firstSegment: 2, lastSegment: 3 }), DecryptionError);
    const other = sealBuffer(key, pattern(size), { segmentSize: 16, aad });
    assert.throws(() => open(body, plan, other.subarray(0, headerSize)), DecryptionError);
    // A plan built from a wrong (smaller) plain size marks a non-final segment final.
    const lying = planRange(20, 40, 41, 16);
    assert.throws(() => open(sealed.subarray(lying.segmentRange.start, lying.segmentRange.endInclusive + 1), lying), DecryptionError);
    // A plan built from a wrong (larger) plain size treats the final segment as non-final.
    const tail = planRange(96, 99, size, 16);
    const tooBig = planRange(96, 99, 113, 16);
    assert.equal(tooBig.includesFinal, false);
    const tailBody = sealed.subarray(tail.segmentRange.start, tail.segmentRange.endInclusive + 1);
    assert.throws(() => open(tailBody, tooBig), DecryptionError);
    assert.throws(() => open(Buffer.concat([tailBody, Buffer.alloc(12)]), tooBig), DecryptionError);
    assert.throws(() => open(body, { ...plan, segmentSize: 17 }), DecryptionError);
  });
});
