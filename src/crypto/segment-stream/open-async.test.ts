import { strict as assert } from 'node:assert';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { DecryptionError } from '../errors.js';
import { nativeGcm } from '../native-gcm/binding.js';
import { SecretBytes } from '../secret-bytes.js';
import { DEFAULT_SEGMENT_SIZE, TAG_SIZE, headerSize } from './format.js';
import { SegmentOpener } from './opener.js';
import { planRange } from './sizes.js';
import { openBuffer, sealBuffer } from './streams.js';

// SegmentOpener.updateAsync: the segments of each call opened on the thread pool when the addon
// is loaded (and the call holds at least 128 KiB of them), on this thread otherwise; .ci/run
// runs this file on both paths. Its answers must be update()/final()'s, batch for batch.

const key = randomBytes(32);
const aad = Buffer.from('bucket\0key\0version');
const unit = DEFAULT_SEGMENT_SIZE + TAG_SIZE;
/** The read size of src/s3/operations/read-large.ts: 16 sealed segments. */
const BATCH = 16 * unit;

function seal(plain: Buffer): Buffer {
  return sealBuffer(SecretBytes.copyOf(key), plain, { aad });
}

/** `body` cut into chunks: whole batches of 16 segments (as read-large reads) or random sizes. */
function chunks(body: Buffer, random: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const n = random ? randomInt(1, 3 * unit) : BATCH;
    out.push(body.subarray(at, at + n));
    at += n;
  }
  return out.length > 0 ? out : [body];
}

/** An opener of the whole of `sealed` as read-large makes it: the header given, segments counted from the plan. */
function wholeOpener(sealed: Buffer, size: number): SegmentOpener {
  return new SegmentOpener(SecretBytes.copyOf(key), { aad, range: { header: sealed.subarray(0, headerSize), plan: planRange(0, size - 1, size) } });
}

/** Feeds `parts` through updateAsync (the last with end) and returns each call's plaintext. */
async function openAsync(opener: SegmentOpener, parts: readonly Buffer[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < parts.length; i++) out.push(Buffer.concat(await opener.updateAsync(parts[i]!, i === parts.length - 1)));
  return out;
}

describe('SegmentOpener.updateAsync', () => {
  it(`opens what openBuffer opens, whole and ranged, in batches and random chunks (${nativeGcm() === undefined ? 'node:crypto' : 'the addon, on the thread pool'})`, async () => {
    for (const size of [0, 1, 1000, DEFAULT_SEGMENT_SIZE, 200_001, 3 * 1024 * 1024 + 5]) {
      const plain = randomBytes(size);
      const sealed = seal(plain);
      assert.ok(openBuffer(SecretBytes.copyOf(key), sealed, { aad }).equals(plain));
      for (const random of [false, true]) {
        const got = await openAsync(new SegmentOpener(SecretBytes.copyOf(key), { aad }), chunks(sealed, random));
        assert.ok(Buffer.concat(got).equals(plain), `size ${size}, ${random ? 'random chunks' : 'batches'}`);
      }
      if (size === 0) continue;
      for (const [a, b] of [[0, size - 1], [1, size - 1], [size >> 1, size - 1], [0, Math.min(size - 1, 1_100_000)], [DEFAULT_SEGMENT_SIZE - 1, size - 2]] as const) {
        if (!(a <= b && b < size && a >= 0)) continue;
        const plan = planRange(a, b, size);
        const header = sealed.subarray(plan.headerRange.start, plan.headerRange.endInclusive + 1);
        const body = sealed.subarray(plan.segmentRange.start, plan.segmentRange.endInclusive + 1);
        const got = await openAsync(new SegmentOpener(SecretBytes.copyOf(key), { aad, range: { header, plan } }), chunks(body, false));
        assert.ok(Buffer.concat(got).equals(plain.subarray(a, b + 1)), `size ${size}, bytes ${a}-${b}`);
      }
    }
  });

  it('a flipped byte in any batch of a 3-batch object: the batches before it are returned, nothing of it, and the opener is dead', async () => {
    const size = 2 * 16 * DEFAULT_SEGMENT_SIZE + 5 * DEFAULT_SEGMENT_SIZE + 77;
    const plain = randomBytes(size);
    const sealed = seal(plain);
    assert.equal(chunks(sealed.subarray(headerSize), false).length, 3);
    // A byte of the first, a middle and the last segment's ciphertext or tag in each batch.
    const targets = [headerSize + 5, headerSize + 7 * unit + 100, headerSize + 16 * unit - 1, headerSize + 16 * unit + 3, headerSize + 24 * unit + unit - 10, headerSize + 32 * unit + 1, sealed.length - 1];
    for (const at of targets) {
      const bad = Buffer.from(sealed);
      bad[at] = bad[at]! ^ 0x10;
      const parts = chunks(bad.subarray(headerSize), false);
      const badBatch = Math.floor((at - headerSize) / BATCH);
      const opener = wholeOpener(bad, size);
      let delivered = 0;
      for (let i = 0; i < badBatch; i++) {
        const out = Buffer.concat(await opener.updateAsync(parts[i]!, false));
        assert.ok(out.equals(plain.subarray(delivered, delivered + out.length)), `flip at ${at}: batch ${i} verified`);
        delivered += out.length;
      }
      await assert.rejects(opener.updateAsync(parts[badBatch]!, badBatch === parts.length - 1), DecryptionError, `flip at ${at}`);
      assert.equal(delivered, badBatch * 16 * DEFAULT_SEGMENT_SIZE, `flip at ${at}: only the batches before the bad one`);
      await assert.rejects(opener.updateAsync(Buffer.alloc(0), true), DecryptionError, 'dead after a failure');
    }
  });

  it('refuses a call while one is in flight, and returns nothing after a dispose made while one was', async () => {
    const size = 20 * DEFAULT_SEGMENT_SIZE;
    const sealed = seal(randomBytes(size));
    const opener = wholeOpener(sealed, size);
    const first = opener.updateAsync(sealed.subarray(headerSize, headerSize + BATCH), false);
    if (nativeGcm() !== undefined) {
      // On the thread pool: still in flight here.
      await assert.rejects(opener.updateAsync(sealed.subarray(headerSize + BATCH), true), DecryptionError);
      assert.throws(() => opener.update(sealed.subarray(headerSize + BATCH)), DecryptionError);
    }
    assert.equal(Buffer.concat(await first).length, 16 * DEFAULT_SEGMENT_SIZE);
    const second = wholeOpener(sealed, size);
    const inFlight = second.updateAsync(sealed.subarray(headerSize, headerSize + BATCH), false);
    second.dispose();
    if (nativeGcm() !== undefined) await assert.rejects(inFlight, DecryptionError);
    else assert.equal(Buffer.concat(await inFlight).length, 16 * DEFAULT_SEGMENT_SIZE); // opened on this thread, before the dispose
    await assert.rejects(second.updateAsync(sealed.subarray(headerSize + BATCH), true), DecryptionError);
  });

  it('refuses a stream cut at a batch boundary, one byte too long, or ended without its header', async () => {
    const sealed = seal(randomBytes(40 * DEFAULT_SEGMENT_SIZE + 3));
    const cut = sealed.subarray(0, headerSize + 2 * BATCH);
    await assert.rejects(openAsync(new SegmentOpener(SecretBytes.copyOf(key), { aad }), [cut.subarray(0, headerSize + BATCH), cut.subarray(headerSize + BATCH)]), DecryptionError);
    const long = Buffer.concat([sealed, Buffer.from([0])]);
    await assert.rejects(openAsync(new SegmentOpener(SecretBytes.copyOf(key), { aad }), chunks(long, false)), DecryptionError);
    await assert.rejects(new SegmentOpener(SecretBytes.copyOf(key), { aad }).updateAsync(sealed.subarray(0, headerSize - 1), true), DecryptionError);
  });
});
