import { strict as assert } from 'node:assert';
import { hkdfSync, randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { addonUnderTest, nodeGcm as gcm } from './test-support.js';

// The addon's one-call HKDF-SHA256 + AES-256-GCM (hkdfGcmSeal / hkdfGcmOpen), which KMS
// ciphertext blobs use. Whether the addon must be loaded is native-gcm.test.ts's to check.

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const { skip, addon } = addonUnderTest();

/** node:crypto's HKDF then AES-GCM: what hkdfGcmSeal must write, byte for byte. */
function reference(ikm: Buffer, salt: Buffer, info: Buffer, nonce: Buffer, aad: Buffer, plain: Buffer): Buffer {
  return gcm(Buffer.from(hkdfSync('sha256', ikm, salt, info, 32)), nonce, aad, plain);
}

const range = (from: number, to: number): Buffer => Buffer.from(Array.from({ length: to - from + 1 }, (_, i) => from + i));

// RFC 5869 appendix A, SHA-256 cases 1-3, OKM truncated to L = 32 (HKDF's first block is the
// same for any L >= 32). Case 2's 80-byte salt is longer than SHA-256's block (hashed as key);
// case 3 has an empty salt and info.
const RFC5869 = [
  { name: 'A.1', ikm: Buffer.alloc(22, 0x0b), salt: range(0x00, 0x0c), info: range(0xf0, 0xf9), okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf' },
  { name: 'A.2', ikm: range(0x00, 0x4f), salt: range(0x60, 0xaf), info: range(0xb0, 0xff), okm: 'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c' },
  { name: 'A.3', ikm: Buffer.alloc(22, 0x0b), salt: Buffer.alloc(0), info: Buffer.alloc(0), okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d' },
];

describe('native HKDF-SHA256 + AES-256-GCM (hkdfGcmSeal / hkdfGcmOpen)', () => {
  it('derives the RFC 5869 keys (SHA-256, L = 32): the output is AES-GCM under the RFC OKM', { skip }, () => {
    const { hkdfGcmSeal, hkdfGcmOpen } = addon();
    const nonce = randomBytes(12);
    const aad = Buffer.from('aad');
    const plain = Buffer.from('plaintext of some bytes');
    // Twice over: the second round follows other keys through the addon's one HMAC context.
    for (let round = 0; round < 2; round++) {
      for (const v of RFC5869) {
        const out = Buffer.alloc(plain.length + 16);
        assert.equal(hkdfGcmSeal(v.ikm, v.salt, v.info, nonce, aad, plain, out), plain.length + 16);
        assert.ok(out.equals(gcm(hex(v.okm), nonce, aad, plain)), `${v.name} round ${round}`);
        const back = Buffer.alloc(plain.length);
        assert.equal(hkdfGcmOpen(v.ikm, v.salt, v.info, nonce, aad, out.subarray(0, plain.length), out.subarray(plain.length), back), true);
        assert.ok(back.equals(plain), v.name);
      }
    }
  });

  it('is byte-identical to node:crypto HKDF + AES-GCM over random inputs, and opens what node:crypto sealed', { skip }, () => {
    const { hkdfGcmSeal, hkdfGcmOpen } = addon();
    const pick = (sizes: readonly number[]): number => (sizes[randomInt(sizes.length)] ?? 0) + randomInt(3);
    for (let i = 0; i < 300; i++) {
      const ikm = randomBytes(pick([0, 16, 32, 63, 64, 65, 200]));
      const salt = randomBytes(pick([0, 16, 32, 63, 64, 65, 200]));
      const info = randomBytes(pick([0, 22, 64, 300]));
      const aad = randomBytes(pick([0, 4, 49, 53, 200, 1024, 4096, 6000]));
      const plain = randomBytes(pick([0, 1, 15, 16, 32, 64, 1000, 4093]));
      const nonce = randomBytes(12);
      const expected = reference(ikm, salt, info, nonce, aad, plain);
      const out = Buffer.alloc(7 + plain.length + 16 + 5, 0xa5);
      assert.equal(hkdfGcmSeal(ikm, salt, info, nonce, aad, plain, out, 7), plain.length + 16);
      const sizes = `ikm ${ikm.length} salt ${salt.length} info ${info.length} aad ${aad.length} plaintext ${plain.length}`;
      assert.ok(out.subarray(7, 7 + plain.length + 16).equals(expected), sizes);
      assert.ok(out.subarray(0, 7).every((b) => b === 0xa5) && out.subarray(7 + plain.length + 16).every((b) => b === 0xa5), `${sizes}: wrote outside the window`);
      const back = Buffer.alloc(plain.length + 3, 0x5a);
      assert.equal(hkdfGcmOpen(ikm, salt, info, nonce, aad, expected.subarray(0, plain.length), expected.subarray(plain.length), back, 3), true, sizes);
      assert.ok(back.subarray(3).equals(plain) && back.subarray(0, 3).every((b) => b === 0x5a), sizes);
    }
  });

  it('seals pieces and in place as the one-buffer form does', { skip }, () => {
    const { hkdfGcmSeal } = addon();
    const [ikm, salt, info, nonce, aad] = [randomBytes(32), randomBytes(16), randomBytes(22), randomBytes(12), randomBytes(53)];
    const buf = Buffer.alloc(100 + 16);
    randomBytes(100).copy(buf);
    const expected = reference(ikm, salt, info, nonce, aad, buf.subarray(0, 100));
    const out = Buffer.alloc(116);
    hkdfGcmSeal(ikm, salt, info, nonce, aad, [buf.subarray(0, 33), buf.subarray(33, 33), buf.subarray(33, 100)], out);
    assert.ok(out.equals(expected), 'pieces');
    hkdfGcmSeal(ikm, salt, info, nonce, aad, buf.subarray(0, 100), buf);
    assert.ok(buf.equals(expected), 'in place');
  });
});

describe('native HKDF-SHA256 + AES-256-GCM: tampering', () => {
  const ikm = randomBytes(32);
  const salt = randomBytes(16);
  const info = Buffer.from('cipherlake/kms/blob/v1');
  const nonce = randomBytes(12);
  const aad = randomBytes(53);
  const plain = randomBytes(32);
  const sealed = reference(ikm, salt, info, nonce, aad, plain);
  const body = sealed.subarray(0, 32);
  const tag = sealed.subarray(32);

  const flipped = (b: Buffer, i: number, bit: number): Buffer => {
    const c = Buffer.from(b);
    c[i] = (c[i] ?? 0) ^ bit;
    return c;
  };

  /** Opens into an out pre-filled with 0xee: refused, with the window zeroed and nothing else touched. */
  function assertRefused(inputs: [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer], what: string): void {
    const out = Buffer.alloc(inputs[5].length + 4, 0xee);
    assert.equal(addon().hkdfGcmOpen(...inputs, out, 2), false, what);
    assert.ok(out.subarray(2, out.length - 2).every((b) => b === 0), `${what}: out not zeroed`);
    assert.deepEqual([...out.subarray(0, 2), ...out.subarray(out.length - 2)], [0xee, 0xee, 0xee, 0xee], `${what}: wrote outside the window`);
  }

  it('opens the untouched inputs (so the refusals below are the tampering)', { skip }, () => {
    const out = Buffer.alloc(32);
    assert.equal(addon().hkdfGcmOpen(ikm, salt, info, nonce, aad, body, tag, out), true);
    assert.ok(out.equals(plain));
  });

  it('refuses a flip of any byte of ikm, salt, info, nonce, aad, ciphertext or tag, and zeroes out', { skip }, () => {
    const inputs = [ikm, salt, info, nonce, aad, body, tag] as const;
    inputs.forEach((input, which) => {
      for (let i = 0; i < input.length; i++) {
        const changed = [...inputs] as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
        changed[which] = flipped(input, i, 1 << (i % 8));
        assertRefused(changed, `input ${which} byte ${i}`);
      }
    });
    assertRefused([ikm, salt, info, nonce, aad, body.subarray(0, 31), tag], 'truncated ciphertext');
    assertRefused([ikm, salt, info, nonce, aad, Buffer.concat([body, Buffer.of(0)]), tag], 'extended ciphertext');
    assertRefused([ikm, salt, Buffer.concat([info, Buffer.of(1)]), nonce, aad, body, tag], 'info ‖ 0x01 (the expand input is not confused with info)');
    assertRefused([ikm, Buffer.alloc(0), info, nonce, aad, body, tag], 'empty salt');
  });
});

describe('native HKDF-SHA256 + AES-256-GCM: bad arguments throw, never crash', () => {
  it('refuses wrong types, lengths, windows and overlaps, writing nothing', { skip }, () => {
    const { hkdfGcmSeal, hkdfGcmOpen } = addon();
    const [ikm, salt, info, nonce, aad, plain, tag] = [randomBytes(32), randomBytes(16), randomBytes(22), randomBytes(12), randomBytes(10), randomBytes(40), randomBytes(16)];
    const out = Buffer.alloc(56, 0x33);
    const big = Buffer.alloc((1 << 20) + 1);
    const roomy = Buffer.alloc(100);
    const seal = hkdfGcmSeal as (...a: unknown[]) => number;
    const open = hkdfGcmOpen as (...a: unknown[]) => boolean;
    const cases: Array<[string, () => unknown, ErrorConstructor]> = [
      ['string ikm', () => seal('k', salt, info, nonce, aad, plain, out), TypeError],
      ['Uint16Array salt', () => seal(ikm, new Uint16Array(8), info, nonce, aad, plain, out), TypeError],
      ['info null', () => seal(ikm, salt, null, nonce, aad, plain, out), TypeError],
      ['DataView ikm', () => seal(new DataView(ikm.buffer), salt, info, nonce, aad, plain, out), TypeError],
      ['ikm over 1 MiB', () => seal(big, salt, info, nonce, aad, plain, out), RangeError],
      ['salt over 1 MiB', () => seal(ikm, big, info, nonce, aad, plain, out), RangeError],
      ['info over 1 MiB', () => seal(ikm, salt, big, nonce, aad, plain, out), RangeError],
      ['short nonce', () => seal(ikm, salt, info, nonce.subarray(1), aad, plain, out), RangeError],
      ['aad not bytes', () => seal(ikm, salt, info, nonce, 'aad', plain, out), TypeError],
      ['plaintext not bytes', () => seal(ikm, salt, info, nonce, aad, 'plain', out), TypeError],
      ['too many pieces', () => seal(ikm, salt, info, nonce, aad, Array.from({ length: 257 }, () => Buffer.alloc(0)), out), RangeError],
      ['out one byte short', () => seal(ikm, salt, info, nonce, aad, plain, Buffer.alloc(55)), RangeError],
      ['out short at offset', () => seal(ikm, salt, info, nonce, aad, plain, out, 1), RangeError],
      ['negative offset', () => seal(ikm, salt, info, nonce, aad, plain, out, -1), RangeError],
      ['string offset', () => seal(ikm, salt, info, nonce, aad, plain, out, '0'), TypeError],
      ['out partly over the plaintext', () => seal(ikm, salt, info, nonce, aad, roomy.subarray(0, 40), roomy, 1), RangeError],
      ['out over the ikm', () => seal(out.subarray(0, 32), salt, info, nonce, aad, plain, out), RangeError],
      ['out over the salt', () => seal(ikm, out.subarray(40, 56), info, nonce, aad, plain, out), RangeError],
      ['out over the aad', () => seal(ikm, salt, info, nonce, out.subarray(50, 56), plain, out), RangeError],
      ['missing arguments', () => seal(ikm, salt, info, nonce, aad, plain), TypeError],
      ['open: short tag', () => open(ikm, salt, info, nonce, aad, plain, tag.subarray(1), out), RangeError],
      ['open: out too small', () => open(ikm, salt, info, nonce, aad, plain, tag, Buffer.alloc(39)), RangeError],
      ['open: out over the tag', () => open(ikm, salt, info, nonce, aad, plain, out.subarray(24, 40), out), RangeError],
      ['open: out over the nonce', () => open(ikm, salt, info, out.subarray(0, 12), aad, plain, tag, out), RangeError],
      ['open: out over the info', () => open(ikm, salt, out.subarray(0, 22), nonce, aad, plain, tag, out), RangeError],
      ['open: in place (a failure would zero the ciphertext)', () => open(ikm, salt, info, nonce, aad, out.subarray(0, 40), tag, out), RangeError],
      ['open: missing arguments', () => open(ikm, salt, info, nonce, aad, plain, tag), TypeError],
    ];
    for (const [what, call, type] of cases) {
      out.fill(0x33);
      assert.throws(call, type, what);
      assert.ok(out.every((b) => b === 0x33), `${what}: wrote into out`);
    }
  });
});
