import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { xtsApply, xtsApplyTweaks, xtsEcbClose, xtsEcbOpen, XTS_MODE_SOURCE } from './xts-mode.js';
import type { XtsEcb } from './xts-mode.js';
import { xtsSimdApply, xtsSimdCreate, XTS_SIMD_SOURCE } from './xts-simd.js';
import type { XtsSimd } from './xts-simd.js';

interface Vectors {
  ieee1619: Array<{ name: string; key1: string; key2: string; dataUnit: number; ciphertext: string }>;
  cipherlake4k: { key: string; vectors: Array<{ block: number; ciphertextHead: string; ciphertextSha256: string }> };
}

const vectors = JSON.parse(readFileSync(new URL('./testdata/xts-vectors.json', import.meta.url), 'utf8')) as Vectors;

function counterBytes(length: number, step: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * step) & 0xff;
  return out;
}

/** The reference: node's own aes-256-xts, one cipher object per unit. */
function reference(key: Buffer, encrypt: boolean, data: Buffer, tweaks: Buffer, unitSize: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i * unitSize < data.length; i++) {
    const make = encrypt ? createCipheriv : createDecipheriv;
    out.push(make('aes-256-xts', key, tweaks.subarray(i * 16, i * 16 + 16)).update(data.subarray(i * unitSize, (i + 1) * unitSize)));
  }
  return Buffer.concat(out);
}

function tweaksOf(first: number, units: number): Buffer {
  const out = Buffer.alloc(units * 16);
  for (let i = 0; i < units; i++) out.writeBigUInt64LE(BigInt(first + i), i * 16);
  return out;
}

/** A random XTS key whose halves differ (OpenSSL refuses equal halves). */
function xtsKey(): Buffer {
  for (;;) {
    const key = randomBytes(64);
    if (!key.subarray(0, 32).equals(key.subarray(32))) return key;
  }
}

const kernel = xtsSimdCreate();
const MODES: Array<[string, XtsSimd | 'js' | 'per-unit']> = [['js', 'js'], ['per-unit', 'per-unit']];
if (kernel !== undefined) MODES.push(['simd', kernel]);

it('this Node has WebAssembly SIMD (else the SIMD passes would go untested)', () => {
  assert.ok(kernel !== undefined);
});

for (const [label, passes] of MODES) {
  const open = (key: Uint8Array): XtsEcb => xtsEcbOpen(key, passes);

  describe(`xtsApply known answers (${label} passes)`, () => {
    for (const v of vectors.ieee1619) {
      it(v.name, () => {
        const ecb = open(Buffer.from(v.key1 + v.key2, 'hex'));
        const pt = counterBytes(512, 1);
        const ct = xtsApply(ecb, true, pt, v.dataUnit, 512, false);
        assert.equal(ct.toString('hex'), v.ciphertext);
        assert.deepEqual(xtsApply(ecb, false, ct, v.dataUnit, 512, false), pt);
        xtsEcbClose(ecb);
      });
    }

    it('the 4 KiB vectors, alone and as one run with their neighbours', () => {
      const ecb = open(Buffer.from(vectors.cipherlake4k.key, 'hex'));
      const pt = counterBytes(4096, 7);
      for (const v of vectors.cipherlake4k.vectors) {
        const run = xtsApply(ecb, true, Buffer.concat([pt, pt, pt]), v.block - 1, 4096, false);
        const ct = run.subarray(4096, 8192);
        assert.equal(ct.subarray(0, 32).toString('hex'), v.ciphertextHead);
        assert.equal(createHash('sha256').update(ct).digest('hex'), v.ciphertextSha256);
        assert.deepEqual(xtsApply(ecb, false, ct, v.block, 4096, false), pt);
      }
      xtsEcbClose(ecb);
    });
  });

  describe(`xtsApply equals node aes-256-xts (${label} passes)`, () => {
    it('on random data, keys and unit numbers (up to 2^53), both directions, several unit sizes', () => {
      for (let round = 0; round < 40; round++) {
        const key = xtsKey();
        const ecb = open(key);
        const unitSize = [16, 32, 512, 4096][round % 4] ?? 4096;
        const units = 1 + randomInt(12);
        const first = round % 5 === 0 ? Number.MAX_SAFE_INTEGER - units + 1 : randomInt(2 ** 47) * (round % 3 === 0 ? 64 : 1);
        const data = randomBytes(units * unitSize);
        const ct = xtsApply(ecb, true, data, first, unitSize, false);
        assert.deepEqual(ct, reference(key, true, data, tweaksOf(first, units), unitSize), `round ${round}`);
        assert.deepEqual(xtsApply(ecb, false, ct, first, unitSize, false), data);
        xtsEcbClose(ecb);
      }
    });

    it('with arbitrary 128-bit tweaks, high bits set, the tweak chain crossing its reduction', () => {
      const key = xtsKey();
      const ecb = open(key);
      const special = [Buffer.alloc(16, 0xff), Buffer.concat([Buffer.alloc(15), Buffer.from([0x80])]), Buffer.alloc(16)];
      const tweaks = Buffer.concat([...special, randomBytes(16 * 29)]);
      const data = randomBytes(32 * 4096);
      const ct = xtsApplyTweaks(ecb, true, data, tweaks, 4096, false);
      assert.deepEqual(ct, reference(key, true, data, tweaks, 4096));
      assert.deepEqual(xtsApplyTweaks(ecb, false, ct, tweaks, 4096, false), data);
      xtsEcbClose(ecb);
    });

    it('reuses its scratch across calls of different sizes without mixing them', () => {
      const key = xtsKey();
      const ecb = open(key);
      for (const units of [64, 1, 300, 2, 64]) {
        const data = randomBytes(units * 4096);
        assert.deepEqual(xtsApply(ecb, true, data, units * 1000, 4096, false), reference(key, true, data, tweaksOf(units * 1000, units), 4096));
      }
      xtsEcbClose(ecb);
    });

    it('reads unaligned and shared input views and never modifies them', () => {
      const key = xtsKey();
      const ecb = open(key);
      const backing = randomBytes(3 * 4096 + 3);
      const before = Buffer.from(backing);
      for (const offset of [1, 2, 3]) {
        const view = backing.subarray(offset, offset + 3 * 4096);
        const ct = xtsApply(ecb, true, view, 5, 4096, false);
        assert.deepEqual(ct, reference(key, true, Buffer.from(view), tweaksOf(5, 3), 4096));
        assert.equal(ct.byteOffset, 0);
        assert.equal(ct.buffer.byteLength, ct.length);
      }
      assert.deepEqual(backing, before);
      xtsEcbClose(ecb);
    });

    it('gives the bytes of the per-unit path, zero units kept or not', () => {
      const key = xtsKey();
      const fast = open(key);
      const perUnit = xtsEcbOpen(key, 'per-unit');
      const data = Buffer.concat([randomBytes(4096), Buffer.alloc(4096), randomBytes(4096)]);
      for (const keepZero of [false, true]) {
        assert.deepEqual(xtsApply(perUnit, true, data, 77, 4096, keepZero), xtsApply(fast, true, data, 77, 4096, keepZero));
        assert.deepEqual(xtsApply(perUnit, false, data, 77, 4096, keepZero), xtsApply(fast, false, data, 77, 4096, keepZero));
      }
      xtsEcbClose(fast);
      xtsEcbClose(perUnit);
    });
  });

  describe(`xtsApply zero units, tampering, close (${label} passes)`, () => {
    it('keeps all-zero units zero only when asked, and only those', () => {
      const key = xtsKey();
      const ecb = open(key);
      const pt = Buffer.concat([randomBytes(4096), Buffer.alloc(4096), randomBytes(4096)]);
      const ct = xtsApply(ecb, true, pt, 9, 4096, false);
      // A written block of zeros is encrypted like any other.
      assert.notDeepEqual(ct.subarray(4096, 8192), Buffer.alloc(4096));
      const stored = Buffer.from(ct);
      stored.fill(0, 4096, 8192);
      const read = xtsApply(ecb, false, stored, 9, 4096, true);
      assert.deepEqual(read.subarray(0, 4096), pt.subarray(0, 4096));
      assert.deepEqual(read.subarray(4096, 8192), Buffer.alloc(4096));
      assert.deepEqual(read.subarray(8192), pt.subarray(8192));
      assert.notDeepEqual(xtsApply(ecb, false, stored, 9, 4096, false).subarray(4096, 8192), Buffer.alloc(4096));
      xtsEcbClose(ecb);
    });

    it('a flipped ciphertext bit garbles exactly its own 16-byte block, as in node aes-256-xts', () => {
      const key = xtsKey();
      const ecb = open(key);
      const pt = randomBytes(2 * 4096);
      const ct = xtsApply(ecb, true, pt, 3, 4096, false);
      for (const bit of [0, 7, 8 * 4095 + 7, 8 * 4096, 8 * 5000 + 3, 8 * 8191 + 7]) {
        const bad = Buffer.from(ct);
        bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        const out = xtsApply(ecb, false, bad, 3, 4096, true);
        assert.deepEqual(out, reference(key, false, bad, tweaksOf(3, 2), 4096));
        const block = (bit >> 3) & ~15;
        assert.notDeepEqual(out.subarray(block, block + 16), pt.subarray(block, block + 16));
        assert.deepEqual(out.subarray(0, block), pt.subarray(0, block));
        assert.deepEqual(out.subarray(block + 16), pt.subarray(block + 16));
      }
      xtsEcbClose(ecb);
    });

    it('decrypting at another unit number or under another key never gives the plaintext', () => {
      const key = xtsKey();
      const ecb = open(key);
      const other = open(xtsKey());
      const pt = randomBytes(4096);
      const ct = xtsApply(ecb, true, pt, 100, 4096, false);
      assert.notDeepEqual(xtsApply(ecb, false, ct, 101, 4096, false), pt);
      assert.notDeepEqual(xtsApply(other, false, ct, 100, 4096, false), pt);
      xtsEcbClose(ecb);
      xtsEcbClose(other);
    });

    it('leaves no intermediate behind (SIMD memory zeroed per call, scratch on close), closes once, refuses later use', () => {
      const ecb: XtsEcb = open(xtsKey());
      xtsApply(ecb, true, randomBytes(8192), 0, 4096, false);
      const scratch = ecb.scratch;
      if (typeof passes === 'object') {
        assert.deepEqual(Buffer.from(passes.memory.buffer), Buffer.alloc(passes.memory.buffer.byteLength));
      } else if (passes === 'js') {
        assert.notDeepEqual(scratch, Buffer.alloc(scratch.length));
      }
      xtsEcbClose(ecb);
      xtsEcbClose(ecb);
      assert.deepEqual(scratch, Buffer.alloc(scratch.length));
      assert.throws(() => xtsApply(ecb, true, Buffer.alloc(4096), 0, 4096, false), /closed/);
      // The cipher objects were finalised (Node frees their contexts, OpenSSL cleanses them).
      for (const c of [ecb.tweak, ecb.encrypt, ecb.decrypt]) assert.throws(() => c.update(Buffer.alloc(16)), /state/i);
    });

    it('refuses a key that is not 64 bytes', () => {
      assert.throws(() => open(randomBytes(32)), /64 bytes/);
    });
  });
}

describe('XTS_MODE_SOURCE (what the workers run)', () => {
  it('defines the same functions, which give node aes-256-xts output', () => {
    type Mode = { xtsEcbOpen: typeof xtsEcbOpen; xtsApply: typeof xtsApply; xtsEcbClose: typeof xtsEcbClose; xtsSimdCreate: typeof xtsSimdCreate };
    const load = new Function('require', 'function __name(f) { return f; }\n'
      + "const { createCipheriv, createDecipheriv } = require('node:crypto');\n"
      + `${XTS_SIMD_SOURCE}\n${XTS_MODE_SOURCE}\nreturn { xtsEcbOpen, xtsApply, xtsEcbClose, xtsSimdCreate };`) as (r: NodeJS.Require) => Mode;
    const mode = load(createRequire(import.meta.url));
    const key = xtsKey();
    const simd = mode.xtsSimdCreate();
    assert.ok(simd !== undefined);
    // Every kind of passes: a worker on an engine without SIMD runs the JavaScript ones.
    for (const passes of [simd, 'js', 'per-unit'] as const) {
      const ecb = mode.xtsEcbOpen(key, passes);
      const data = randomBytes(5 * 4096);
      const ct = mode.xtsApply(ecb, true, data, 2 ** 33 + 1, 4096, false);
      assert.deepEqual(ct, reference(key, true, data, tweaksOf(2 ** 33 + 1, 5), 4096));
      assert.deepEqual(mode.xtsApply(ecb, false, ct, 2 ** 33 + 1, 4096, true), data);
      mode.xtsEcbClose(ecb);
    }
  });
});

describe('xtsSimdApply when the cipher throws', () => {
  it('still zeroes the module memory (no tweak or plaintext left behind)', (t) => {
    const simd = xtsSimdCreate();
    if (simd === undefined) return t.skip('no WebAssembly SIMD on this engine');
    const cipher = createCipheriv('aes-256-ecb', randomBytes(32), null).setAutoPadding(false);
    cipher.final(); // a finalised cipher throws on update, in the middle of the call
    const plaintext = Buffer.alloc(8192, 0x5a);
    assert.throws(() => xtsSimdApply(simd, cipher, randomBytes(16), plaintext, 4096, false), /state/i);
    assert.deepEqual(Buffer.from(simd.memory.buffer), Buffer.alloc(simd.memory.buffer.byteLength));
  });
});
