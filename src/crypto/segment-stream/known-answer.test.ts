import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SecretBytes } from '../secret-bytes.js';
import { NONCE_PREFIX_SIZE, SALT_SIZE, headerSize, parseSegmentHeader } from './format.js';
import { SegmentSealer } from './sealer.js';
import type { RandomSource } from './sealer.js';
import { encryptedSize, plaintextSize } from './sizes.js';
import { openBuffer } from './streams.js';

interface Vector {
  name: string;
  objectKey: string;
  salt: string;
  noncePrefix: string;
  segmentSize: number;
  aad: string;
  plaintext: string;
  sealed: string;
}

const doc = JSON.parse(readFileSync(new URL('../testdata/segment-stream-v1.json', import.meta.url), 'utf8')) as {
  version: number;
  vectors: Vector[];
};
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Hands out the vector's salt, then its nonce prefix, and refuses anything else. */
function fixedRandom(v: Vector): RandomSource {
  const queue = [hex(v.salt), hex(v.noncePrefix)];
  return (size) => {
    const next = queue.shift();
    assert.ok(next !== undefined && next.length === size, 'unexpected randomness request');
    return next;
  };
}

function sealInChunks(v: Vector, chunkSize: number): Buffer {
  const sealer = new SegmentSealer(SecretBytes.copyOf(hex(v.objectKey)), { segmentSize: v.segmentSize, aad: hex(v.aad) }, fixedRandom(v));
  const plain = hex(v.plaintext);
  const out: Buffer[] = [];
  for (let i = 0; i < plain.length; i += chunkSize) out.push(...sealer.update(plain.subarray(i, i + chunkSize)));
  out.push(...sealer.final());
  return Buffer.concat(out);
}

describe('segment stream v1 known-answer vectors', () => {
  it('covers the cases FORMAT.md lists', () => {
    assert.equal(doc.version, 1);
    assert.ok(doc.vectors.length >= 8);
    assert.ok(doc.vectors.some((v) => v.plaintext === ''), 'an empty object vector');
  });

  for (const v of doc.vectors) {
    it(`seals: ${v.name}`, () => {
      for (const chunkSize of [1, 7, v.segmentSize, 1 << 20]) {
        assert.equal(sealInChunks(v, chunkSize).toString('hex'), v.sealed, `chunk size ${chunkSize}`);
      }
    });

    it(`opens: ${v.name}`, () => {
      const sealed = hex(v.sealed);
      const key = SecretBytes.copyOf(hex(v.objectKey));
      assert.equal(openBuffer(key, sealed, { aad: hex(v.aad) }).toString('hex'), v.plaintext);
      assert.equal(sealed.length, encryptedSize(v.plaintext.length / 2, v.segmentSize));
      assert.equal(plaintextSize(sealed.length, v.segmentSize), v.plaintext.length / 2);
      const header = parseSegmentHeader(sealed.subarray(0, headerSize));
      assert.equal(header.segmentSize, v.segmentSize);
      assert.equal(header.salt.toString('hex'), v.salt);
      assert.equal(header.noncePrefix.toString('hex'), v.noncePrefix);
    });
  }

  it('asks the random source for exactly a salt and a nonce prefix', () => {
    const sizes: number[] = [];
    const sealer = new SegmentSealer(SecretBytes.random(32), {}, (n) => {
      sizes.push(n);
      return Buffer.alloc(n, 1);
    });
    sealer.final();
    assert.deepEqual(sizes, [SALT_SIZE, NONCE_PREFIX_SIZE]);
  });
});
