import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { NATIVE_GCM_ENV, nativeGcm, nativeGcmStatus } from './binding.js';
import { addonUnderTest, nodeGcm as reference } from './test-support.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const fallbackExpected = process.env[NATIVE_GCM_ENV] === 'off';
const loaded = nativeGcm();
const { skip, addon } = addonUnderTest();

/** `data` cut at every offset in `cuts` below its length (an empty piece included). */
function split(data: Buffer, cuts: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let at = 0;
  for (const cut of cuts) {
    if (cut > data.length || cut < at) continue;
    pieces.push(data.subarray(at, cut));
    at = cut;
  }
  pieces.push(data.subarray(at));
  return pieces;
}

const SIZES = [0, 1, 15, 16, 17, 4096, 65536];
const SPLITS: ReadonlyArray<readonly number[]> = [[], [1], [0, 7, 7, 13], [3, 17, 33, 4097, 4099, 40000], [15, 16, 31, 65535]];

describe('native AES-256-GCM addon', () => {
  it(`is loaded, unless ${NATIVE_GCM_ENV}=off says the node:crypto fallback is expected`, () => {
    const status = nativeGcmStatus();
    if (fallbackExpected) {
      assert.equal(loaded, undefined);
      assert.equal(status.loaded, false);
      return;
    }
    assert.ok(status.loaded, `native AES-GCM addon not loaded: ${JSON.stringify(status)}`);
    assert.equal(typeof loaded?.GcmKey, 'function');
  });

  it('matches the McGrew-Viega AES-256 vectors (96-bit IVs), sealing and opening', { skip }, () => {
    const doc = JSON.parse(readFileSync(new URL('../testdata/aes-256-gcm-mcgrew-viega.json', import.meta.url), 'utf8')) as {
      vectors: Array<Record<'name' | 'key' | 'iv' | 'aad' | 'plaintext' | 'ciphertext' | 'tag', string>>;
    };
    assert.equal(doc.vectors.length, 4);
    const { GcmKey, seal, open } = addon();
    for (const v of doc.vectors) {
      const plain = hex(v.plaintext);
      const out = Buffer.alloc(plain.length + 16);
      assert.equal(seal(hex(v.key), hex(v.iv), hex(v.aad), plain, out), plain.length + 16, v.name);
      assert.equal(out.toString('hex'), v.ciphertext + v.tag, v.name);
      const sealer = new GcmKey(hex(v.key), true);
      out.fill(0);
      sealer.seal(hex(v.iv), hex(v.aad), split(plain, [5, 16, 17]), out);
      assert.equal(out.toString('hex'), v.ciphertext + v.tag, `${v.name}, pieces`);
      const back = Buffer.alloc(plain.length);
      assert.equal(open(hex(v.key), hex(v.iv), hex(v.aad), hex(v.ciphertext), hex(v.tag), back), true, v.name);
      assert.equal(back.toString('hex'), v.plaintext, v.name);
    }
  });

  it('seals byte-identically to node:crypto for every size and split, at an offset, touching nothing else', { skip }, () => {
    const { GcmKey, seal } = addon();
    const key = randomBytes(32);
    const sealer = new GcmKey(key, true);
    for (const aad of [Buffer.alloc(0), randomBytes(61)]) {
      for (const size of SIZES) {
        const plain = randomBytes(size);
        const nonce = randomBytes(12);
        const expected = reference(key, nonce, aad, plain);
        for (const cuts of SPLITS) {
          const out = Buffer.alloc(size + 16 + 9, 0xa5);
          assert.equal(sealer.seal(nonce, aad, split(plain, cuts), out, 5), size + 16);
          assert.ok(out.subarray(5, 5 + size + 16).equals(expected), `size ${size} cuts ${cuts.join(',')}`);
          assert.ok(out.subarray(0, 5).every((b) => b === 0xa5) && out.subarray(5 + size + 16).every((b) => b === 0xa5), 'bytes outside the window');
        }
        const one = Buffer.alloc(size + 16);
        seal(key, nonce, aad, plain, one);
        assert.ok(one.equals(expected), `one-shot, size ${size}`);
      }
    }
    sealer.dispose();
  });

  it('opens node:crypto output for every size and split, at an offset', { skip }, () => {
    const { GcmKey, open } = addon();
    const key = randomBytes(32);
    const opener = new GcmKey(key, false);
    const aad = randomBytes(33);
    for (const size of SIZES) {
      const plain = randomBytes(size);
      const nonce = randomBytes(12);
      const sealed = reference(key, nonce, aad, plain);
      const body = sealed.subarray(0, size);
      const tag = sealed.subarray(size);
      for (const cuts of SPLITS) {
        const out = Buffer.alloc(size + 7, 0x5a);
        assert.equal(opener.open(nonce, aad, split(body, cuts), tag, out, 3), true, `size ${size} cuts ${cuts.join(',')}`);
        assert.ok(out.subarray(3, 3 + size).equals(plain));
        assert.ok(out.subarray(0, 3).every((b) => b === 0x5a) && out.subarray(3 + size).every((b) => b === 0x5a));
      }
      const one = Buffer.alloc(size);
      assert.equal(open(key, nonce, aad, body, tag, one), true);
      assert.ok(one.equals(plain));
    }
    opener.dispose();
  });

  it('keeps one key across many nonces, and after a failed open, as the segment stream does', { skip }, () => {
    const { GcmKey } = addon();
    const key = randomBytes(32);
    const sealer = new GcmKey(key, true);
    const opener = new GcmKey(key, false);
    const nonce = randomBytes(12);
    for (let segment = 0; segment < 20; segment++) {
      nonce.writeUInt32BE(segment, 8);
      const plain = randomBytes(1000 + segment);
      const aad = Buffer.from([segment & 1]);
      const out = Buffer.alloc(plain.length + 16);
      sealer.seal(nonce, aad, plain, out);
      assert.ok(out.equals(reference(key, nonce, aad, plain)), `segment ${segment}`);
      const back = Buffer.alloc(plain.length);
      const tag = out.subarray(plain.length);
      tag[0] = (tag[0] ?? 0) ^ 1;
      assert.equal(opener.open(nonce, aad, out.subarray(0, plain.length), tag, back), false);
      tag[0] = (tag[0] ?? 0) ^ 1;
      assert.equal(opener.open(nonce, aad, out.subarray(0, plain.length), tag, back), true);
      assert.ok(back.equals(plain));
    }
  });

  it('seals in place (out is the plaintext itself)', { skip }, () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const buf = Buffer.alloc(4096 + 16);
    randomBytes(4096).copy(buf);
    const expected = reference(key, nonce, Buffer.alloc(0), buf.subarray(0, 4096));
    addon().seal(key, nonce, Buffer.alloc(0), buf.subarray(0, 4096), buf);
    assert.ok(buf.equals(expected));
  });
});

describe('native AES-256-GCM addon: tampering', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = randomBytes(20);
  const plain = randomBytes(100);
  const sealed = reference(key, nonce, aad, plain);

  /** Opens with the given inputs into an out pre-filled with 0xee; returns the result and out. */
  function tryOpen(k: Buffer, n: Buffer, a: Buffer, body: Buffer, tag: Buffer): [boolean, Buffer] {
    const out = Buffer.alloc(body.length + 4, 0xee);
    const ok = addon().open(k, n, a, split(body, [33]), tag, out, 2);
    return [ok, out];
  }

  function assertRefused(result: [boolean, Buffer], what: string): void {
    const [ok, out] = result;
    assert.equal(ok, false, what);
    assert.ok(out.subarray(2, out.length - 2).every((b) => b === 0), `${what}: out not zeroed`);
    assert.deepEqual([...out.subarray(0, 2), ...out.subarray(out.length - 2)], [0xee, 0xee, 0xee, 0xee], `${what}: wrote outside the window`);
  }

  const flipped = (b: Buffer, i: number, bit: number): Buffer => {
    const c = Buffer.from(b);
    c[i] = (c[i] ?? 0) ^ bit;
    return c;
  };

  it('opens the untouched inputs (so the refusals below are the tampering)', { skip }, () => {
    const [ok, out] = tryOpen(key, nonce, aad, sealed.subarray(0, 100), sealed.subarray(100));
    assert.equal(ok, true);
    assert.ok(out.subarray(2, 102).equals(plain));
  });

  it('refuses a flip of any byte of ciphertext, tag, aad or nonce, and zeroes out', { skip }, () => {
    const body = sealed.subarray(0, 100);
    const tag = sealed.subarray(100);
    for (let i = 0; i < body.length; i++) assertRefused(tryOpen(key, nonce, aad, flipped(body, i, 1 << (i % 8)), tag), `ciphertext byte ${i}`);
    for (let i = 0; i < tag.length; i++) assertRefused(tryOpen(key, nonce, aad, body, flipped(tag, i, 0x80 >> (i % 8))), `tag byte ${i}`);
    for (let i = 0; i < aad.length; i++) assertRefused(tryOpen(key, nonce, flipped(aad, i, 1), body, tag), `aad byte ${i}`);
    for (let i = 0; i < nonce.length; i++) assertRefused(tryOpen(key, flipped(nonce, i, 2), aad, body, tag), `nonce byte ${i}`);
    assertRefused(tryOpen(flipped(key, 31, 1), nonce, aad, body, tag), 'wrong key');
    assertRefused(tryOpen(key, nonce, Buffer.concat([aad, Buffer.from([0])]), body, tag), 'longer aad');
    assertRefused(tryOpen(key, nonce, aad.subarray(1), body, tag), 'shorter aad');
    assertRefused(tryOpen(key, nonce, aad, body.subarray(0, 99), tag), 'truncated ciphertext');
    assertRefused(tryOpen(key, nonce, aad, Buffer.concat([body, Buffer.from([0])]), tag), 'extended ciphertext');
  });
});

describe('native AES-256-GCM addon: bad arguments throw, never crash', () => {
  it('refuses wrong types, lengths, windows and states', { skip }, () => {
    const { GcmKey, seal, open } = addon();
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = Buffer.alloc(0);
    const plain = randomBytes(40);
    const out = Buffer.alloc(56);
    const tag = Buffer.alloc(16);
    const cases: Array<[string, () => unknown, ErrorConstructor]> = [
      ['short key', () => seal(key.subarray(1), nonce, aad, plain, out), RangeError],
      ['long key', () => seal(Buffer.alloc(33), nonce, aad, plain, out), RangeError],
      ['string key', () => seal('k'.repeat(32) as unknown as Buffer, nonce, aad, plain, out), TypeError],
      ['Uint16Array key', () => seal(new Uint16Array(16) as unknown as Buffer, nonce, aad, plain, out), TypeError],
      ['short nonce', () => seal(key, nonce.subarray(1), aad, plain, out), RangeError],
      ['long nonce', () => seal(key, Buffer.alloc(13), aad, plain, out), RangeError],
      ['aad not bytes', () => seal(key, nonce, null as unknown as Buffer, plain, out), TypeError],
      ['pieces not bytes', () => seal(key, nonce, aad, 'plain' as unknown as Buffer, out), TypeError],
      ['a piece not bytes', () => seal(key, nonce, aad, [plain, {} as Buffer], out), TypeError],
      ['too many pieces', () => seal(key, nonce, aad, Array.from({ length: 257 }, () => Buffer.alloc(0)), out), RangeError],
      ['out one byte short', () => seal(key, nonce, aad, plain, Buffer.alloc(55)), RangeError],
      ['out short at offset', () => seal(key, nonce, aad, plain, out, 1), RangeError],
      ['negative offset', () => seal(key, nonce, aad, plain, out, -1), RangeError],
      ['fractional offset', () => seal(key, nonce, aad, plain, Buffer.alloc(100), 1.5), RangeError],
      ['NaN offset', () => seal(key, nonce, aad, plain, out, Number.NaN), RangeError],
      ['infinite offset', () => seal(key, nonce, aad, plain, out, Number.POSITIVE_INFINITY), RangeError],
      ['offset past the end', () => seal(key, nonce, aad, plain, out, 57), RangeError],
      ['string offset', () => seal(key, nonce, aad, plain, out, '0' as unknown as number), TypeError],
      ['out overlapping the input', () => seal(key, nonce, aad, out.subarray(0, 40), out, 1), RangeError],
      ['missing arguments', () => (seal as unknown as (k: Buffer) => number)(key), TypeError],
      ['short tag', () => open(key, nonce, aad, plain, tag.subarray(1), out), RangeError],
      ['open: out too small', () => open(key, nonce, aad, plain, tag, Buffer.alloc(39)), RangeError],
      ['open: out holding the tag', () => open(key, nonce, aad, plain, out.subarray(0, 16), out), RangeError],
      ['GcmKey without new', () => (GcmKey as unknown as (k: Buffer, e: boolean) => unknown)(key, true), TypeError],
      ['GcmKey with a short key', () => new GcmKey(Buffer.alloc(16), true), RangeError],
      ['GcmKey with a non-boolean direction', () => new GcmKey(key, 1 as unknown as boolean), TypeError],
      ['open on a sealing key', () => new GcmKey(key, true).open(nonce, aad, plain, tag, out), TypeError],
      ['seal on an opening key', () => new GcmKey(key, false).seal(nonce, aad, plain, out), TypeError],
      ['a method on a foreign object', () => GcmKey.prototype.seal.call({}, nonce, aad, plain, out), Error],
    ];
    for (const [what, call, type] of cases) assert.throws(call, type, what);
    const disposed = new GcmKey(key, true);
    disposed.dispose();
    disposed.dispose();
    assert.throws(() => disposed.seal(nonce, aad, plain, out), /after dispose/);
  });

  it('retainFreedHeap refuses a byte count that is not an integer in [0, 2^31) (a valid one is not set here: it is process-wide)', { skip }, () => {
    const { retainFreedHeap } = addon();
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31, Number.POSITIVE_INFINITY]) assert.throws(() => retainFreedHeap(bad), RangeError, String(bad));
    assert.throws(() => retainFreedHeap('1' as unknown as number), TypeError);
    assert.throws(() => (retainFreedHeap as unknown as () => boolean)(), TypeError);
  });

  it('zeroes nothing and writes nothing when it refuses an argument', { skip }, () => {
    const out = Buffer.alloc(60, 0x33);
    assert.throws(() => addon().seal(randomBytes(32), randomBytes(11), Buffer.alloc(0), randomBytes(40), out), RangeError);
    assert.ok(out.every((b) => b === 0x33));
  });
});
