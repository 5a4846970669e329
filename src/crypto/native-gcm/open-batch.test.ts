import { strict as assert } from 'node:assert';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SecretBytes } from '../secret-bytes.js';
import { deriveContentKey, headerSize, parseSegmentHeader, segmentAads } from '../segment-stream/format.js';
import { hasEveryEntryPoint, type NativeGcmKey } from './binding.js';
import { addonUnderTest, nodeGcm as reference } from './test-support.js';

// GcmKey#openBatch: a batch of segments opened on the libuv thread pool. Skipped when the
// addon is not in use (native-gcm.test.ts fails then, unless the fallback is expected).
const { skip, addon } = addonUnderTest();
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Segments sealed by node:crypto the way openBatch opens them: number first + i in the nonce's last 4 bytes. */
interface Batch {
  readonly key: Buffer;
  readonly nonce: Buffer;
  readonly first: number;
  readonly aad: Buffer;
  readonly finalAad: Buffer;
  readonly finalLast: boolean;
  readonly plains: Buffer[];
  readonly ciphertexts: Buffer[];
  readonly tags: Buffer[];
}

function makeBatch(sizes: readonly number[], options: { first?: number; finalLast?: boolean; aadSize?: number; key?: Buffer } = {}): Batch {
  const key = options.key ?? randomBytes(32);
  const nonce = randomBytes(12);
  const first = options.first ?? randomInt(0, 1000);
  const finalLast = options.finalLast ?? true;
  const aad = randomBytes(options.aadSize ?? 46);
  const finalAad = Buffer.from(aad);
  finalAad[0] = finalAad[0]! ^ 0x01;
  const plains = sizes.map((n) => randomBytes(n));
  const sealed = plains.map((p, i) => {
    const n = Buffer.from(nonce);
    n.writeUInt32BE(first + i, 8);
    return reference(key, n, finalLast && i === sizes.length - 1 ? finalAad : aad, p);
  });
  return {
    key,
    nonce,
    first,
    aad,
    finalAad,
    finalLast,
    plains,
    ciphertexts: sealed.map((s) => s.subarray(0, s.length - 16)),
    tags: sealed.map((s) => s.subarray(s.length - 16)),
  };
}

function opener(b: Batch): NativeGcmKey {
  return new (addon().GcmKey)(b.key, false);
}

/** Opens `b` into fresh outs pre-filled with 0xa5; returns the result and the outs. */
async function open(b: Batch, change: Partial<Batch> = {}): Promise<{ ok: boolean; outs: Buffer[] }> {
  const c = { ...b, ...change };
  const outs = c.ciphertexts.map((ct) => Buffer.alloc(ct.length, 0xa5));
  const key = opener(b);
  try {
    return { ok: await key.openBatch(c.nonce, c.first, c.aad, c.finalAad, c.finalLast, c.ciphertexts, c.tags, outs), outs };
  } finally {
    key.dispose();
  }
}

const zeroed = (outs: readonly Buffer[]): boolean => outs.every((o) => o.every((x) => x === 0));

describe('native GcmKey#openBatch (segments opened on the thread pool)', () => {
  it('an addon without openBatch (built from an older aes_gcm.c) is refused whole', () => {
    const fn = (): void => undefined;
    class Key {
      seal(): void {}
      open(): void {}
      dispose(): void {}
    }
    class KeyWithBatch extends Key {
      openBatch(): void {}
    }
    const current = { GcmKey: KeyWithBatch, seal: fn, open: fn, hkdfGcmSeal: fn, hkdfGcmOpen: fn, retainFreedHeap: fn };
    assert.equal(hasEveryEntryPoint(current), true);
    assert.equal(hasEveryEntryPoint({ ...current, GcmKey: Key }), false, 'no GcmKey#openBatch');
    const { hkdfGcmSeal: _, ...withoutHkdf } = current;
    assert.equal(hasEveryEntryPoint(withoutHkdf), false, 'no hkdfGcmSeal');
    assert.equal(hasEveryEntryPoint(undefined), false);
  });

  it('the addon in use has every entry point', { skip }, () => {
    assert.equal(hasEveryEntryPoint(addon()), true);
  });

  it('opens the McGrew-Viega AES-256 vectors, the IV\'s last 4 bytes as the segment number', { skip }, async () => {
    const doc = JSON.parse(readFileSync(new URL('../testdata/aes-256-gcm-mcgrew-viega.json', import.meta.url), 'utf8')) as {
      vectors: Array<Record<'name' | 'key' | 'iv' | 'aad' | 'plaintext' | 'ciphertext' | 'tag', string>>;
    };
    for (const v of doc.vectors) {
      const iv = hex(v.iv);
      const nonce = Buffer.concat([iv.subarray(0, 8), randomBytes(4)]); // the last 4 bytes are replaced
      const key = new (addon().GcmKey)(hex(v.key), false);
      const other = randomBytes(7);
      for (const finalLast of [false, true]) {
        const out = Buffer.alloc(v.plaintext.length / 2, 0xa5);
        // The vector's aad where the flag says it applies, another one where it does not.
        const [aad, finalAad] = finalLast ? [other, hex(v.aad)] : [hex(v.aad), other];
        assert.equal(await key.openBatch(nonce, iv.readUInt32BE(8), aad, finalAad, finalLast, [hex(v.ciphertext)], [hex(v.tag)], [out]), true, v.name);
        assert.equal(out.toString('hex'), v.plaintext, v.name);
        assert.equal(await key.openBatch(nonce, iv.readUInt32BE(8), finalAad, aad, finalLast, [hex(v.ciphertext)], [hex(v.tag)], [out]), false, `${v.name}, aads swapped`);
      }
      key.dispose();
    }
  });

  it('opens the segment stream v1 vectors (every segment of each, the last as final)', { skip }, async () => {
    const doc = JSON.parse(readFileSync(new URL('../testdata/segment-stream-v1.json', import.meta.url), 'utf8')) as {
      vectors: Array<{ name: string; objectKey: string; segmentSize: number; aad: string; plaintext: string; sealed: string }>;
    };
    for (const v of doc.vectors) {
      const sealed = hex(v.sealed);
      const header = parseSegmentHeader(sealed);
      const key = deriveContentKey(SecretBytes.copyOf(hex(v.objectKey)), header.salt);
      const [aad, finalAad] = segmentAads(sealed.subarray(0, headerSize), hex(v.aad));
      const ciphertexts: Buffer[] = [];
      const tags: Buffer[] = [];
      for (let at = headerSize; at < sealed.length; at += v.segmentSize + 16) {
        const unit = sealed.subarray(at, Math.min(sealed.length, at + v.segmentSize + 16));
        ciphertexts.push(unit.subarray(0, unit.length - 16));
        tags.push(unit.subarray(unit.length - 16));
      }
      const outs = ciphertexts.map((c) => Buffer.alloc(c.length));
      const gcm = new (addon().GcmKey)(key, false);
      key.fill(0);
      const nonce = Buffer.concat([header.noncePrefix, Buffer.alloc(4)]);
      assert.equal(await gcm.openBatch(nonce, 0, aad, finalAad, true, ciphertexts, tags, outs), true, v.name);
      assert.equal(Buffer.concat(outs).toString('hex'), v.plaintext, v.name);
      // Not final: the last segment's flag no longer matches.
      assert.equal(await gcm.openBatch(nonce, 0, aad, finalAad, false, ciphertexts, tags, outs), false, `${v.name}, last not final`);
      assert.ok(zeroed(outs), `${v.name}: a refused batch leaves zeroes`);
      gcm.dispose();
    }
  });

  it('matches node:crypto and the synchronous open on random batches (sizes, counts, numbers up to 2^32 - 1)', { skip }, async () => {
    for (let round = 0; round < 60; round++) {
      const count = randomInt(1, 20);
      const size = [0, 1, 16, 17, 1000, 65536][round % 6]!;
      const sizes = Array.from({ length: count }, (_, i) => (i === count - 1 ? randomInt(0, size + 1) : size));
      const first = round % 5 === 0 ? 2 ** 32 - count : randomInt(0, 2 ** 32 - count);
      const b = makeBatch(sizes, { first, finalLast: round % 2 === 0, aadSize: randomInt(0, 200) });
      const { ok, outs } = await open(b);
      assert.equal(ok, true, `round ${round}`);
      outs.forEach((o, i) => assert.ok(o.equals(b.plains[i]!), `round ${round}, segment ${i}`));
      const sync = opener(b);
      b.ciphertexts.forEach((ct, i) => {
        const n = Buffer.from(b.nonce);
        n.writeUInt32BE(first + i, 8);
        const out = Buffer.alloc(ct.length);
        assert.equal(sync.open(n, b.finalLast && i === count - 1 ? b.finalAad : b.aad, ct, b.tags[i]!, out), true);
        assert.ok(out.equals(outs[i]!), `round ${round}, segment ${i}: the same bytes as open`);
      });
      sync.dispose();
    }
  });

  it('opens the untouched batch (so the refusals below are the tampering)', { skip }, async () => {
    const b = makeBatch([64, 64, 64, 64, 33]);
    const { ok, outs } = await open(b);
    assert.equal(ok, true);
    outs.forEach((o, i) => assert.ok(o.equals(b.plains[i]!)));
  });

  it('refuses the whole batch for a flipped bit in any byte of any segment or tag, and zeroes every out', { skip }, async () => {
    const b = makeBatch([64, 64, 64, 64, 33]);
    for (let s = 0; s < b.ciphertexts.length; s++) {
      for (const which of ['ciphertexts', 'tags'] as const) {
        const original = b[which][s]!;
        for (let at = 0; at < original.length; at++) {
          const changed = Buffer.from(original);
          changed[at] = changed[at]! ^ (1 << at % 8);
          const list = b[which].map((x, i) => (i === s ? changed : x));
          const { ok, outs } = await open(b, { [which]: list });
          assert.equal(ok, false, `${which} ${s} byte ${at}`);
          assert.ok(zeroed(outs), `${which} ${s} byte ${at}: no plaintext of the batch stays`);
        }
      }
    }
  });

  it('refuses a wrong segment number, nonce, aad, final flag, reordered, dropped or swapped-in segments', { skip }, async () => {
    const b = makeBatch([64, 64, 64, 20], { first: 5 });
    const other = makeBatch([64], { first: 5 });
    const flip = (x: Buffer, at: number): Buffer => {
      const c = Buffer.from(x);
      c[at] = c[at]! ^ 0x80;
      return c;
    };
    const swap = <T>(list: T[]): T[] => [list[1]!, list[0]!, ...list.slice(2)];
    const cases: Array<[string, Partial<Batch>]> = [
      ['first segment + 1', { first: 6 }],
      ['first segment - 1', { first: 4 }],
      ['nonce byte 0', { nonce: flip(b.nonce, 0) }],
      ['nonce byte 7', { nonce: flip(b.nonce, 7) }],
      ['aad', { aad: flip(b.aad, 10) }],
      ['final aad', { finalAad: flip(b.finalAad, 45) }],
      ['aads swapped', { aad: b.finalAad, finalAad: b.aad }],
      ['last not final', { finalLast: false }],
      ['segments 0 and 1 swapped', { ciphertexts: swap(b.ciphertexts), tags: swap(b.tags) }],
      ['segment 1 dropped', { ciphertexts: b.ciphertexts.filter((_, i) => i !== 1), tags: b.tags.filter((_, i) => i !== 1) }],
      ['last dropped (an earlier one taken as final)', { ciphertexts: b.ciphertexts.slice(0, 3), tags: b.tags.slice(0, 3) }],
      ['a segment of another object', { ciphertexts: [other.ciphertexts[0]!, ...b.ciphertexts.slice(1)], tags: [other.tags[0]!, ...b.tags.slice(1)] }],
    ];
    for (const [name, change] of cases) {
      const { ok, outs } = await open(b, change);
      assert.equal(ok, false, name);
      assert.ok(zeroed(outs), `${name}: zeroed`);
    }
    const wrongKey = new (addon().GcmKey)(randomBytes(32), false);
    const outs = b.ciphertexts.map((c) => Buffer.alloc(c.length, 1));
    assert.equal(await wrongKey.openBatch(b.nonce, b.first, b.aad, b.finalAad, true, b.ciphertexts, b.tags, outs), false, 'wrong key');
    assert.ok(zeroed(outs));
    wrongKey.dispose();
  });

  it('opens exactly in place, and zeroes in place on a refusal', { skip }, async () => {
    const b = makeBatch([100, 100, 7]);
    const ciphertexts = b.ciphertexts.map((c) => Buffer.from(c));
    const key = opener(b);
    assert.equal(await key.openBatch(b.nonce, b.first, b.aad, b.finalAad, true, ciphertexts, b.tags, ciphertexts), true);
    ciphertexts.forEach((c, i) => assert.ok(c.equals(b.plains[i]!)));
    const again = b.ciphertexts.map((c) => Buffer.from(c));
    again[2]![3] = again[2]![3]! ^ 1;
    assert.equal(await key.openBatch(b.nonce, b.first, b.aad, b.finalAad, true, again, b.tags, again), false);
    assert.ok(zeroed(again));
    key.dispose();
  });

  it('runs on its own copy of the key: a dispose right after the call, and many batches at once, change nothing', { skip }, async () => {
    const shared = randomBytes(32);
    const batches = Array.from({ length: 40 }, (_, i) => makeBatch([4096, 4096, 4096, i], { first: i, key: shared }));
    const key = new (addon().GcmKey)(shared, false);
    const outs = batches.map((b) => b.ciphertexts.map((c) => Buffer.alloc(c.length)));
    const same = batches.map((b, i) => key.openBatch(b.nonce, b.first, b.aad, b.finalAad, true, b.ciphertexts, b.tags, outs[i]!));
    key.dispose();
    assert.throws(() => key.openBatch(batches[0]!.nonce, 0, Buffer.alloc(0), Buffer.alloc(0), true, [Buffer.alloc(0)], [Buffer.alloc(16)], [Buffer.alloc(0)]), /dispose/);
    assert.deepEqual(await Promise.all(same), batches.map(() => true));
    outs.forEach((o, i) => o.forEach((p, s) => assert.ok(p.equals(batches[i]!.plains[s]!), `batch ${i} segment ${s}`)));
  });

  it('keeps every buffer it was given alive until it completes (a collection meanwhile changes nothing)', { skip }, async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const b = makeBatch(Array.from({ length: 16 }, () => 65536));
    const key = opener(b);
    const results: Array<Promise<boolean>> = [];
    const outsSeen: Array<WeakRef<Buffer>> = [];
    const expected: Buffer[] = [];
    for (let r = 0; r < 8; r++) {
      // Copies only the call holds: without its references they could be collected (and
      // their memory reused) while the pool thread reads and writes them.
      const outs = b.ciphertexts.map((c) => Buffer.alloc(c.length));
      outs.forEach((o) => outsSeen.push(new WeakRef(o)));
      expected.push(...b.plains);
      results.push(key.openBatch(Buffer.from(b.nonce), b.first, Buffer.from(b.aad), Buffer.from(b.finalAad), true, b.ciphertexts.map((c) => Buffer.from(c)), b.tags.map((t) => Buffer.from(t)), outs));
    }
    for (let i = 0; i < 3; i++) gc();
    assert.deepEqual(await Promise.all(results), results.map(() => true));
    // The outs were kept alive by the work; each holds its plaintext.
    outsSeen.forEach((w, i) => {
      const o = w.deref();
      if (o !== undefined) assert.ok(o.equals(expected[i]!), `out ${i}`);
    });
    key.dispose();
  });

  it('refuses wrong types, lengths, overlaps and states synchronously (nothing scheduled, nothing written)', { skip }, () => {
    const b = makeBatch([64, 64, 10]);
    const key = opener(b);
    const outs = (): Buffer[] => b.ciphertexts.map((c) => Buffer.alloc(c.length, 0xa5));
    const args = (change: Record<string, unknown> = {}): unknown[] => {
      const a: Record<string, unknown> = { nonce: b.nonce, first: b.first, aad: b.aad, finalAad: b.finalAad, finalLast: true, ciphertexts: b.ciphertexts, tags: b.tags, outs: outs(), ...change };
      return [a.nonce, a.first, a.aad, a.finalAad, a.finalLast, a.ciphertexts, a.tags, a.outs];
    };
    const call = (a: unknown[]): Promise<boolean> => (key.openBatch as (...x: unknown[]) => Promise<boolean>)(...a);
    const shared = Buffer.alloc(200, 0xa5);
    const refused: Array<[string, unknown[], RegExp]> = [
      ['nonce of 11 bytes', args({ nonce: Buffer.alloc(11) }), /nonce must be 12 bytes/],
      ['nonce not bytes', args({ nonce: 'x'.repeat(12) }), /nonce must be a Uint8Array/],
      ['first -1', args({ first: -1 }), /firstSegment/],
      ['first 1.5', args({ first: 1.5 }), /firstSegment/],
      ['first 2^32', args({ first: 2 ** 32 }), /firstSegment/],
      ['first a string', args({ first: '1' }), /firstSegment/],
      ['numbers past 2^32 - 1', args({ first: 2 ** 32 - 2 }), /2\^32/],
      ['aad a DataView', args({ aad: new DataView(new ArrayBuffer(4)) }), /aad must be a Uint8Array/],
      ['finalAad of 1 MiB + 1', args({ finalAad: Buffer.alloc(2 ** 20 + 1) }), /at most 1 MiB/],
      ['finalLast a number', args({ finalLast: 1 }), /finalLast/],
      ['ciphertexts not an array', args({ ciphertexts: b.ciphertexts[0] }), /ciphertexts must be an array/],
      ['an element not bytes', args({ tags: [b.tags[0], 'x', b.tags[2]] }), /tags must be an array of Uint8Arrays/],
      ['no segments', args({ ciphertexts: [], tags: [], outs: [] }), /1 to 256/],
      ['257 segments', args({ ciphertexts: Array(257).fill(Buffer.alloc(0)), tags: Array(257).fill(b.tags[0]), outs: Array.from({ length: 257 }, () => Buffer.alloc(0)) }), /1 to 256/],
      ['lists of different lengths', args({ tags: b.tags.slice(1) }), /same length/],
      ['tag of 15 bytes', args({ tags: [b.tags[0], b.tags[1]!.subarray(1), b.tags[2]] }), /tag must be 16 bytes/],
      ['an out too short', args({ outs: [Buffer.alloc(64, 0xa5), Buffer.alloc(63, 0xa5), Buffer.alloc(10, 0xa5)] }), /as long as its ciphertext/],
      ['outs overlapping', args({ outs: [shared.subarray(0, 64), shared.subarray(60, 124), Buffer.alloc(10, 0xa5)] }), /outs overlap/],
      ['an out over a tag', args({ tags: [shared.subarray(0, 16), b.tags[1], b.tags[2]], outs: [Buffer.alloc(64, 0xa5), shared.subarray(10, 74), Buffer.alloc(10, 0xa5)] }), /out overlaps a tag/],
      ['an out over another segment\'s ciphertext', args({ ciphertexts: [shared.subarray(0, 64), b.ciphertexts[1], b.ciphertexts[2]], outs: [Buffer.alloc(64, 0xa5), shared.subarray(1, 65), Buffer.alloc(10, 0xa5)] }), /out overlaps the input/],
      ['an out over its own ciphertext, shifted', args({ ciphertexts: [shared.subarray(0, 64), b.ciphertexts[1], b.ciphertexts[2]], outs: [shared.subarray(1, 65), Buffer.alloc(64, 0xa5), Buffer.alloc(10, 0xa5)] }), /out overlaps the input/],
      ['too few arguments', args().slice(0, 7), /openBatch\(/],
    ];
    for (const [name, a, message] of refused) {
      assert.throws(() => call(a), message, name);
      const written = a[7];
      if (Array.isArray(written)) assert.ok(written.every((o: unknown) => !(o instanceof Buffer) || o.every((x) => x === 0xa5)), `${name}: nothing written`);
    }
    assert.ok(shared.every((x) => x === 0xa5), 'nothing written into the shared buffer');
    const sealer = new (addon().GcmKey)(b.key, true);
    assert.throws(() => (sealer.openBatch as (...x: unknown[]) => Promise<boolean>)(...args()), /made for seal/);
    sealer.dispose();
    key.dispose();
    assert.throws(() => call(args()), /dispose/);
  });
});
