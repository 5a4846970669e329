import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { DecryptionError } from '../errors.js';
import { SecretBytes } from '../secret-bytes.js';
import { TAG_SIZE, headerSize } from './format.js';
import { SegmentOpener } from './opener.js';
import { createSegmentDecryptor, openBuffer, sealBuffer } from './streams.js';

const SEG = 16;
const UNIT = SEG + TAG_SIZE;
const key = SecretBytes.copyOf(Buffer.alloc(32, 0x42));
const aad = Buffer.from('bucket\0object\0version-1');
const plain = Buffer.from('0123456789abcdef0123456789ABCDEF01234'); // 3 segments, last one 5 bytes
const sealed = sealBuffer(key, plain, { segmentSize: SEG, aad });

function assertFails(bytes: Buffer, options: { aad?: Buffer; key?: SecretBytes } = {}): void {
  assert.throws(
    () => openBuffer(options.key ?? key, bytes, { aad: options.aad ?? aad }),
    (err: unknown) => err instanceof DecryptionError && err.message === 'decryption failed' && err.cause === undefined,
  );
}

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 1;
  return copy;
}

function segment(bytes: Buffer, i: number): Buffer {
  return bytes.subarray(headerSize + i * UNIT, headerSize + (i + 1) * UNIT);
}

describe('segment stream tamper detection', () => {
  it('opens the untampered object (the control for every case below)', () => {
    assert.equal(sealed.length, headerSize + 3 * TAG_SIZE + plain.length);
    assert.deepEqual(openBuffer(key, sealed, { aad }), plain);
  });

  it('fails on every single bit flip', () => {
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const bad = Buffer.from(sealed);
      bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      assertFails(bad);
    }
  });

  it('fails on truncation at every length, including every segment boundary', () => {
    for (let len = 0; len < sealed.length; len++) assertFails(sealed.subarray(0, len));
  });

  it('fails on an empty object truncated at every length', () => {
    const empty = sealBuffer(key, Buffer.alloc(0), { segmentSize: SEG, aad });
    assert.equal(openBuffer(key, empty, { aad }).length, 0);
    for (let len = 0; len < empty.length; len++) assertFails(empty.subarray(0, len));
  });

  it('fails when two segments are swapped', () => {
    const head = sealed.subarray(0, headerSize);
    const [s0, s1, s2] = [0, 1, 2].map((i) => segment(sealed, i)) as [Buffer, Buffer, Buffer];
    assertFails(Buffer.concat([head, s1, s0, s2]));
    const full = sealBuffer(key, Buffer.alloc(3 * SEG, 9), { segmentSize: SEG, aad });
    const [f0, f1, f2] = [0, 1, 2].map((i) => segment(full, i)) as [Buffer, Buffer, Buffer];
    assertFails(Buffer.concat([full.subarray(0, headerSize), f0, f2, f1]));
  });

  it('fails when a segment is dropped', () => {
    const head = sealed.subarray(0, headerSize);
    const [s0, s1, s2] = [0, 1, 2].map((i) => segment(sealed, i)) as [Buffer, Buffer, Buffer];
    assertFails(Buffer.concat([head, s1, s2]));
    assertFails(Buffer.concat([head, s0, s2]));
    assertFails(Buffer.concat([head, s0, s1]));
  });

  it('fails when extended with a duplicate segment or trailing bytes', () => {
    const [s0, , s2] = [0, 1, 2].map((i) => segment(sealed, i)) as [Buffer, Buffer, Buffer];
    assertFails(Buffer.concat([sealed, s2]));
    assertFails(Buffer.concat([sealed, s0]));
    assertFails(Buffer.concat([sealed, Buffer.alloc(1)]));
    const [h, d0] = [sealed.subarray(0, headerSize), s0];
    assertFails(Buffer.concat([h, d0, sealed.subarray(headerSize)]));
  });

  it('fails when a whole-segment object is extended by an empty final segment from another object', () => {
    const full = sealBuffer(key, Buffer.alloc(SEG, 1), { segmentSize: SEG, aad });
    assertFails(Buffer.concat([full, Buffer.alloc(TAG_SIZE)]));
  });

  it('fails with a wrong aad: each row changes one thing', () => {
    const rows: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('bucket\0object\0version-2'),
      Buffer.from('bucket\0object\0version-1\0'),
      Buffer.from('Bucket\0object\0version-1'),
      aad.subarray(0, aad.length - 1),
    ];
    for (const wrong of rows) assertFails(sealed, { aad: wrong });
  });

  it('fails with a wrong key', () => {
    assertFails(sealed, { key: SecretBytes.copyOf(Buffer.alloc(32, 0x43)) });
    const other = Buffer.alloc(32, 0x42);
    other[31] = 0x43;
    assertFails(sealed, { key: SecretBytes.copyOf(other) });
  });

  it('fails when a header is spliced from another object sealed under the same key', () => {
    const other = sealBuffer(key, plain, { segmentSize: SEG, aad });
    assertFails(Buffer.concat([other.subarray(0, headerSize), sealed.subarray(headerSize)]));
  });

  it('returns every verified segment and nothing of the one whose tag fails (core, 5-byte chunks)', () => {
    for (let bad = 0; bad < 3; bad++) {
      const tampered = flipByte(sealed, headerSize + bad * UNIT + 2);
      const opener = new SegmentOpener(key, { aad });
      const got: Buffer[] = [];
      assert.throws(() => {
        for (let i = 0; i < tampered.length; i += 5) got.push(...opener.update(tampered.subarray(i, i + 5)));
        got.push(...opener.final());
      }, DecryptionError);
      assert.deepEqual(Buffer.concat(got), plain.subarray(0, bad * SEG), `tampered segment ${bad}`);
    }
  });

  it('never streams plaintext of a segment whose tag fails', async () => {
    for (let bad = 0; bad < 3; bad++) {
      const tampered = flipByte(sealed, headerSize + bad * UNIT + 2);
      const chunks = Array.from({ length: Math.ceil(tampered.length / 5) }, (_, i) => tampered.subarray(i * 5, i * 5 + 5));
      const got: Buffer[] = [];
      const run = pipeline(Readable.from(chunks), createSegmentDecryptor(key, { aad }), async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) got.push(chunk);
      });
      await assert.rejects(run, DecryptionError);
      const out = Buffer.concat(got);
      assert.ok(out.length <= bad * SEG, `segment ${bad}: emitted ${out.length} bytes`);
      assert.deepEqual(out, plain.subarray(0, out.length));
    }
  });

  it('fails at end of stream when the final segment is missing', async () => {
    const cut = sealed.subarray(0, headerSize + 2 * UNIT);
    const got: Buffer[] = [];
    const run = pipeline(Readable.from([cut]), createSegmentDecryptor(key, { aad }), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) got.push(chunk);
    });
    await assert.rejects(run, DecryptionError);
  });
});
