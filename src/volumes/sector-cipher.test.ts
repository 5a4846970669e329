import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { SectorCipher, tweakFor, VOLUME_BLOCK_SIZE } from './sector-cipher.js';
import { SectorCipherKeyError, VolumeRangeError } from './errors.js';

interface Vectors {
  ieee1619: Array<{ key1: string; key2: string; dataUnit: number; ciphertext: string }>;
  cipherlake4k: {
    key: string;
    vectors: Array<{ block: number; ciphertextHead: string; ciphertextSha256: string }>;
  };
}

const vectors = JSON.parse(
  readFileSync(new URL('./testdata/xts-vectors.json', import.meta.url), 'utf8'),
) as Vectors;

function counterBytes(length: number, step: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * step) & 0xff;
  return out;
}

describe('SectorCipher known answers', () => {
  for (const v of vectors.ieee1619) {
    it(`IEEE 1619 data unit ${v.dataUnit}`, () => {
      const key = SecretBytes.copyOf(Buffer.from(v.key1 + v.key2, 'hex'));
      const cipher = new SectorCipher(key, 512);
      const pt = counterBytes(512, 1);
      const ct = cipher.encryptBlock(v.dataUnit, pt);
      assert.equal(ct.toString('hex'), v.ciphertext);
      assert.deepEqual(cipher.decryptBlock(v.dataUnit, ct), pt);
    });
  }

  for (const v of vectors.cipherlake4k.vectors) {
    it(`4 KiB block ${v.block}`, () => {
      const cipher = new SectorCipher(SecretBytes.copyOf(Buffer.from(vectors.cipherlake4k.key, 'hex')));
      const pt = counterBytes(VOLUME_BLOCK_SIZE, 7);
      const ct = cipher.encryptBlock(v.block, pt);
      assert.equal(ct.subarray(0, 32).toString('hex'), v.ciphertextHead);
      assert.equal(createHash('sha256').update(ct).digest('hex'), v.ciphertextSha256);
      assert.deepEqual(cipher.decryptBlock(v.block, ct), pt);
    });
  }
});

describe('SectorCipher position binding', () => {
  const cipher = new SectorCipher(SecretBytes.random(64));
  const block = Buffer.alloc(VOLUME_BLOCK_SIZE, 0x41);

  it('changes the ciphertext when only the block number changes', () => {
    const a = cipher.encryptBlock(10, block);
    const b = cipher.encryptBlock(11, block);
    assert.notDeepEqual(a, b);
    // Decrypting at the wrong number gives garbage, never the plaintext.
    assert.notDeepEqual(cipher.decryptBlock(11, a), block);
  });

  it('gives different ciphertext for identical blocks in one run', () => {
    const run = Buffer.concat([block, block, block]);
    const [c0, c1, c2] = cipher.encryptBlocks(100, run);
    assert.ok(c0 && c1 && c2);
    assert.notDeepEqual(c0, c1);
    assert.notDeepEqual(c1, c2);
    assert.deepEqual(c1, cipher.encryptBlock(101, block));
  });

  it('round-trips a run in place and leaves skipped blocks alone', () => {
    const pt = counterBytes(VOLUME_BLOCK_SIZE * 4, 3);
    const ct = Buffer.concat(cipher.encryptBlocks(5, pt));
    assert.deepEqual(pt, counterBytes(VOLUME_BLOCK_SIZE * 4, 3), 'input untouched');
    const work = Buffer.from(ct);
    cipher.decryptBlocksInPlace(5, work, (i) => i === 2);
    assert.deepEqual(work.subarray(0, 2 * VOLUME_BLOCK_SIZE), pt.subarray(0, 2 * VOLUME_BLOCK_SIZE));
    assert.deepEqual(work.subarray(2 * VOLUME_BLOCK_SIZE, 3 * VOLUME_BLOCK_SIZE), ct.subarray(2 * VOLUME_BLOCK_SIZE, 3 * VOLUME_BLOCK_SIZE));
    assert.deepEqual(work.subarray(3 * VOLUME_BLOCK_SIZE), pt.subarray(3 * VOLUME_BLOCK_SIZE));
  });

  it('an empty run is no blocks, at any start', () => {
    assert.deepEqual(cipher.encryptBlocks(0, Buffer.alloc(0)), []);
    const empty = Buffer.alloc(0);
    cipher.decryptBlocksInPlace(0, empty);
    assert.equal(empty.length, 0);
  });

  it('a different key gives different ciphertext', () => {
    const other = new SectorCipher(SecretBytes.random(64));
    assert.notDeepEqual(other.encryptBlock(1, block), cipher.encryptBlock(1, block));
  });
});

describe('SectorCipher input checks', () => {
  it('refuses keys of the wrong length or with equal halves', () => {
    assert.throws(() => new SectorCipher(SecretBytes.random(32)), SectorCipherKeyError);
    assert.throws(() => new SectorCipher(SecretBytes.copyOf(Buffer.alloc(64, 7))), SectorCipherKeyError);
  });

  it('refuses partial blocks and bad block numbers', () => {
    const cipher = new SectorCipher(SecretBytes.random(64));
    assert.throws(() => cipher.encryptBlock(0, Buffer.alloc(100)), VolumeRangeError);
    assert.throws(() => cipher.encryptBlocks(0, Buffer.alloc(VOLUME_BLOCK_SIZE + 1)), VolumeRangeError);
    assert.throws(() => tweakFor(-1), VolumeRangeError);
    assert.throws(() => tweakFor(2 ** 53), VolumeRangeError);
    // A run's last block must be safe too (2^53 - 1 + 2 rounds to 2^53 in a double).
    assert.throws(() => cipher.encryptBlocks(Number.MAX_SAFE_INTEGER, Buffer.alloc(2 * VOLUME_BLOCK_SIZE)), VolumeRangeError);
    assert.throws(() => cipher.decryptBlocksInPlace(Number.MAX_SAFE_INTEGER, Buffer.alloc(2 * VOLUME_BLOCK_SIZE)), VolumeRangeError);
    assert.equal(cipher.encryptBlocks(Number.MAX_SAFE_INTEGER - 1, Buffer.alloc(2 * VOLUME_BLOCK_SIZE)).length, 2);
  });

  it('encodes the tweak as 128-bit little-endian', () => {
    assert.equal(tweakFor(0x0102_0304_0506).toString('hex'), '06050403020100000000000000000000');
  });

  it('fails once the key is disposed', () => {
    const key = SecretBytes.random(64);
    const cipher = new SectorCipher(key);
    key.dispose();
    assert.throws(() => cipher.encryptBlock(0, Buffer.alloc(VOLUME_BLOCK_SIZE)));
  });

  it('fails once the key is disposed, also after its cipher objects were made', () => {
    const key = SecretBytes.random(64);
    const cipher = new SectorCipher(key);
    cipher.encryptBlock(0, Buffer.alloc(VOLUME_BLOCK_SIZE));
    key.dispose();
    assert.throws(() => cipher.encryptBlock(0, Buffer.alloc(VOLUME_BLOCK_SIZE)), /after dispose/);
  });

  it('dispose() drops the cipher objects; a later call makes new ones from the live key', () => {
    const key = SecretBytes.random(64);
    const cipher = new SectorCipher(key);
    const block = counterBytes(VOLUME_BLOCK_SIZE, 5);
    const before = cipher.encryptBlock(42, block);
    cipher.dispose();
    cipher.dispose();
    assert.deepEqual(cipher.encryptBlock(42, block), before);
    const tweak = tweakFor(42);
    assert.deepEqual(before, createCipheriv('aes-256-xts', key.unsafeBytes(), tweak).update(block));
  });
});
