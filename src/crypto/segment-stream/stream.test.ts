import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { DecryptionError, InvalidCryptoArgumentError } from '../errors.js';
import { SecretBytes } from '../secret-bytes.js';
import { DEFAULT_SEGMENT_SIZE, headerSize, parseSegmentHeader } from './format.js';
import { encryptedSize, planRange } from './sizes.js';
import { createSegmentDecryptor, createSegmentEncryptor, openBuffer, openSegments, sealBuffer } from './streams.js';

const key = SecretBytes.random(32);
const aad = Buffer.from('bucket\0key\0upload');

function randomChunks(data: Buffer, seed: number, max: number): Buffer[] {
  const out: Buffer[] = [];
  let x = seed;
  for (let i = 0; i < data.length; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % max);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

async function through(chunks: Iterable<Buffer>, stage: Transform): Promise<Buffer> {
  const got: Buffer[] = [];
  await pipeline(Readable.from(chunks), stage, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) got.push(c);
  });
  return Buffer.concat(got);
}

describe('segment stream round trips', () => {
  for (const seg of [16, DEFAULT_SEGMENT_SIZE]) {
    // Several MiB only at the reference size: at 16-byte segments it would be ~200k cipher calls.
    const big = seg === DEFAULT_SEGMENT_SIZE ? 5 * 1024 * 1024 + 5 : 4099;
    for (const size of [0, 1, seg - 1, seg, seg + 1, 3 * seg, 3 * seg + 7, big]) {
      it(`size ${size}, segment ${seg}`, async () => {
        const plain = Buffer.alloc(size);
        for (let i = 0; i < size; i++) plain[i] = (i * 13 + 5) & 0xff;
        const maxChunk = size < 4096 ? 3 : 200_000;
        const sealed = await through(randomChunks(plain, size + 1, maxChunk), createSegmentEncryptor(key, { segmentSize: seg, aad }));
        assert.equal(sealed.length, encryptedSize(size, seg));
        assert.equal(parseSegmentHeader(sealed).segmentSize, seg);
        const opened = await through(randomChunks(sealed, size + 2, maxChunk), createSegmentDecryptor(key, { aad }));
        assert.deepEqual(opened, plain);
        assert.deepEqual(openBuffer(key, sealed, { aad }), plain);
      });
    }
  }

  it('streams 160 MiB through encrypt then decrypt', async () => {
    const block = Buffer.alloc(1024 * 1024 + 3);
    for (let i = 0; i < block.length; i++) block[i] = (i * 7) & 0xff;
    const blocks = 160;
    const expected = createHash('sha256');
    for (let i = 0; i < blocks; i++) expected.update(block);
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < blocks; i++) yield block; // never mutated, so sharing it is safe
    }
    const actual = createHash('sha256');
    let total = 0;
    await pipeline(source(), createSegmentEncryptor(key, { aad }), createSegmentDecryptor(key, { aad }), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) {
        actual.update(c);
        total += c.length;
      }
    });
    assert.equal(total, blocks * block.length);
    assert.equal(actual.digest('hex'), expected.digest('hex'));
  });

  it('shows every plaintext chunk, in order, to observePlaintext before sealing it; its error fails the stream', async () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff));
    const seen: Buffer[] = [];
    const sealed = await through(randomChunks(data, 7, 50_000), createSegmentEncryptor(key, { aad, segmentSize: 65536 }, (c) => seen.push(Buffer.from(c))));
    assert.deepEqual(Buffer.concat(seen), data);
    assert.deepEqual(openBuffer(key, sealed, { aad }), data);
    const refused = new Error('observer refused');
    await assert.rejects(through([data], createSegmentEncryptor(key, { aad }, () => { throw refused; })), (err) => err === refused);
  });

  it('uses a fresh salt and nonce prefix for every object', () => {
    const a = sealBuffer(key, Buffer.from('same'), { aad });
    const b = sealBuffer(key, Buffer.from('same'), { aad });
    assert.notDeepEqual(a.subarray(5, headerSize), b.subarray(5, headerSize));
    assert.notDeepEqual(a.subarray(headerSize), b.subarray(headerSize));
  });

  it('accepts Uint8Array input and never disposes the caller key', () => {
    const sealed = sealBuffer(key, new Uint8Array([1, 2, 3]));
    assert.deepEqual(openBuffer(key, new Uint8Array(sealed)), Buffer.from([1, 2, 3]));
    assert.equal(key.disposed, false);
  });

  it('rejects bad arguments synchronously', () => {
    for (const bad of [SecretBytes.random(16), SecretBytes.random(33)]) {
      assert.throws(() => createSegmentEncryptor(bad), InvalidCryptoArgumentError);
      assert.throws(() => createSegmentDecryptor(bad), InvalidCryptoArgumentError);
    }
    const gone = SecretBytes.random(32);
    gone.dispose();
    assert.throws(() => sealBuffer(gone, Buffer.alloc(1)), InvalidCryptoArgumentError);
    assert.throws(() => createSegmentEncryptor(key, { segmentSize: 8 }), InvalidCryptoArgumentError);
    const plan = planRange(0, 0, 10, 16);
    assert.throws(() => createSegmentDecryptor(key, { range: { header: Buffer.alloc(headerSize), plan } }), DecryptionError);
  });

  it('refuses a hostile header before allocating for its segment size', () => {
    const sealed = sealBuffer(key, Buffer.alloc(10));
    const header = Buffer.from(sealed.subarray(0, headerSize));
    header.writeUInt32BE(0xffffffff, 1);
    assert.throws(() => openBuffer(key, Buffer.concat([header, sealed.subarray(headerSize)])), DecryptionError);
  });
});

describe('openSegments', () => {
  it('returns one verified piece per segment, nothing when any byte is wrong or the end is missing', () => {
    const plain = Buffer.alloc(3 * 1000 + 7, 0x5a);
    const sealed = sealBuffer(key, plain, { aad, segmentSize: 1000 });
    const pieces = openSegments(key, sealed, { aad });
    assert.deepEqual(pieces.map((p) => p.length), [1000, 1000, 1000, 7]);
    assert.ok(Buffer.concat(pieces).equals(plain));
    const flipped = Buffer.from(sealed);
    flipped[sealed.length - 1] = flipped[sealed.length - 1]! ^ 1;
    assert.throws(() => openSegments(key, flipped, { aad }), DecryptionError);
    assert.throws(() => openSegments(key, sealed.subarray(0, headerSize + 2 * 1016), { aad }), DecryptionError);
    assert.throws(() => openSegments(key, Buffer.concat([sealed, Buffer.alloc(1)]), { aad }), DecryptionError);
  });
});
