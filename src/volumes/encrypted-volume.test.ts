import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { EncryptedVolume } from './encrypted-volume.js';
import { VolumeClosedError, VolumeKeyMismatchError, VolumeRangeError, VolumeReadOnlyError } from './errors.js';
import { HEADER_BYTES } from './volume-header.js';

const BS = 4096;
const SIZE = 64 * BS;
let dir: string;
let keyBytes: Buffer;
let counter = 0;

function key(bytes: Buffer = keyBytes): SecretBytes {
  return SecretBytes.copyOf(bytes);
}

function pattern(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff || 1;
  return out;
}

async function fresh(): Promise<{ volume: EncryptedVolume; path: string }> {
  const path = join(dir, `vol-${counter++}.img`);
  return { volume: await EncryptedVolume.create(path, SIZE, key()), path };
}

/** The stored bytes of block n, straight from the backing file. */
function storedBlock(path: string, n: number): Buffer {
  return readFileSync(path).subarray(HEADER_BYTES + n * BS, HEADER_BYTES + (n + 1) * BS);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cl-volume-'));
  keyBytes = SecretBytes.random(64).unsafeBytes();
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('EncryptedVolume', () => {
  it('reads unwritten space as zeros and round-trips unaligned writes', async () => {
    const { volume } = await fresh();
    assert.deepEqual(await volume.read(0, SIZE), Buffer.alloc(SIZE));
    const data = pattern(3 * BS + 123, 5);
    await volume.write(BS - 77, data);
    assert.deepEqual(await volume.read(BS - 77, data.length), data);
    assert.deepEqual(await volume.read(0, BS - 77), Buffer.alloc(BS - 77), 'bytes before the write stay zero');
    const tail = BS - 77 + data.length;
    assert.deepEqual(await volume.read(tail, 100), Buffer.alloc(100), 'bytes after the write stay zero');
    await volume.write(10, Buffer.from('xy'));
    assert.equal((await volume.read(8, 4)).toString('latin1'), '\0\0xy');
    await volume.close();
  });

  it('round-trips large unaligned writes and reads (worker-thread path) around unwritten blocks', async () => {
    const { volume } = await fresh();
    const data = pattern(40 * BS + 123, 9);
    await volume.write(5 * BS + 77, data);
    assert.deepEqual(await volume.read(5 * BS + 77, data.length), data);
    const whole = await volume.read(0, SIZE);
    assert.deepEqual(whole.subarray(0, 5 * BS + 77), Buffer.alloc(5 * BS + 77));
    assert.deepEqual(whole.subarray(5 * BS + 77, 5 * BS + 77 + data.length), data);
    assert.deepEqual(whole.subarray(5 * BS + 77 + data.length), Buffer.alloc(SIZE - 5 * BS - 77 - data.length));
    await volume.close();
  });

  it('writeParts writes the parts back to back, aligned long runs and unaligned ones alike', async () => {
    const { volume } = await fresh();
    const data = pattern(20 * BS, 3);
    const cut = (b: Buffer, at: readonly number[]): Buffer[] => [0, ...at].map((from, i) => b.subarray(from, at[i] ?? b.length));
    await volume.writeParts(2 * BS, cut(data, [1, 4097, 50_000]), { donate: true });
    assert.deepEqual(await volume.read(2 * BS, data.length), data, 'aligned run of 20 blocks (worker, parts)');
    const odd = pattern(17 * BS + 9, 4);
    await volume.writeParts(30 * BS + 3, cut(odd, [BS, 3 * BS + 1]));
    assert.deepEqual(await volume.read(30 * BS + 3, odd.length), odd, 'unaligned: joined, edges patched');
    await volume.writeParts(0, []);
    assert.deepEqual(await volume.read(0, 2 * BS), Buffer.alloc(2 * BS), 'an empty write touches nothing');
    await assert.rejects(volume.writeParts(SIZE - BS, cut(pattern(20 * BS, 1), [BS])), VolumeRangeError);
    await volume.close();
  });

  it('stores written zeros encrypted and trims back to unwritten', async () => {
    const { volume, path } = await fresh();
    await volume.write(2 * BS, Buffer.alloc(2 * BS));
    await volume.flush();
    assert.notDeepEqual(storedBlock(path, 2), Buffer.alloc(BS));
    assert.notDeepEqual(storedBlock(path, 3), Buffer.alloc(BS));
    assert.deepEqual(storedBlock(path, 4), Buffer.alloc(BS));
    await volume.trim(2 * BS + 1, 2 * BS - 1);
    await volume.flush();
    assert.notDeepEqual(storedBlock(path, 2), Buffer.alloc(BS), 'partial block is not trimmed');
    assert.deepEqual(storedBlock(path, 3), Buffer.alloc(BS));
    await volume.close();
  });

  it('writeZeroes zeroes unaligned ranges, with and without holes', async () => {
    const { volume, path } = await fresh();
    await volume.write(0, pattern(8 * BS, 9));
    await volume.writeZeroes(100, 3 * BS);
    const after1 = await volume.read(0, 8 * BS);
    assert.deepEqual(after1.subarray(100, 100 + 3 * BS), Buffer.alloc(3 * BS));
    assert.deepEqual(after1.subarray(0, 100), pattern(8 * BS, 9).subarray(0, 100));
    assert.deepEqual(after1.subarray(100 + 3 * BS), pattern(8 * BS, 9).subarray(100 + 3 * BS));
    await volume.writeZeroes(5 * BS, 2 * BS, { noHole: true, fua: true });
    assert.deepEqual(await volume.read(5 * BS, 2 * BS), Buffer.alloc(2 * BS));
    assert.notDeepEqual(storedBlock(path, 5), Buffer.alloc(BS), 'NO_HOLE keeps the block allocated');
    assert.deepEqual(storedBlock(path, 1), Buffer.alloc(BS), 'whole blocks became unwritten');
    await volume.close();
  });

  it('keeps every byte of concurrent unaligned writes to one block', async () => {
    const { volume } = await fresh();
    const writes = [];
    for (let i = 0; i < 200; i++) writes.push(volume.write(BS + i * 7, Buffer.from([i + 1])));
    await Promise.all(writes);
    const block = await volume.read(BS, BS);
    for (let i = 0; i < 200; i++) assert.equal(block[i * 7], i + 1, `byte ${i * 7}`);
    await volume.close();
  });

  it('applies overlapping concurrent writes in issue order', async () => {
    const { volume } = await fresh();
    await Promise.all([volume.write(0, Buffer.alloc(3 * BS, 1)), volume.write(BS + 5, Buffer.alloc(10, 2))]);
    const got = await volume.read(BS, 20);
    assert.deepEqual(got, Buffer.concat([Buffer.alloc(5, 1), Buffer.alloc(10, 2), Buffer.alloc(5, 1)]));
    await volume.close();
  });

  it('never stores plaintext', async () => {
    const { volume, path } = await fresh();
    const marker = Buffer.from('CIPHERLAKE-PLAINTEXT-MARKER-'.repeat(200));
    await volume.write(3000, marker);
    // Every write path: edges patched here (above), a short aligned run (batched to a
    // worker) and a long one (its own worker job, donated).
    const aligned = (blocks: number): Buffer => Buffer.from(marker.toString('latin1').repeat(10).slice(0, blocks * BS), 'latin1');
    await volume.write(8 * BS, aligned(2));
    await volume.write(16 * BS, aligned(20), { donate: true });
    // writeParts: a long aligned run as parts (the worker gathers blocks across them)
    // and a short one (joined, then batched).
    const run = aligned(17);
    await volume.writeParts(40 * BS, [run.subarray(0, 100), run.subarray(100, 9000), run.subarray(9000)], { donate: true });
    await volume.writeParts(60 * BS, [run.subarray(0, 5), run.subarray(5, BS)]);
    await volume.close();
    assert.equal(readFileSync(path).includes(Buffer.from('CIPHERLAKE-PLAINTEXT-MARKER')), false);
  });

  it('takes over only a donated buffer that is nothing but the data, never a window of a larger one', async () => {
    const { volume } = await fresh();
    const data = pattern(20 * BS, 3);
    const backing = Buffer.from(new ArrayBuffer(21 * BS));
    data.copy(backing, BS);
    const window = backing.subarray(BS);
    await volume.write(0, window, { donate: true });
    assert.equal(backing.buffer.byteLength, 21 * BS, 'a window is copied, its ArrayBuffer left alone');
    assert.deepEqual(window, data);
    const whole = Buffer.from(new ArrayBuffer(20 * BS));
    data.copy(whole);
    await volume.write(20 * BS, whole, { donate: true });
    assert.deepEqual(await volume.read(0, 40 * BS), Buffer.concat([data, data]));
    await volume.close();
  });

  it('reads blocks stored by per-block node aes-256-xts (the on-disk format), and writes the same bytes', async () => {
    const { volume, path } = await fresh();
    await volume.close();
    // Blocks 3..40 as node's own aes-256-xts stores them, one cipher object per block
    // (what every earlier version wrote); block 10 left unwritten.
    const plain = pattern(38 * BS, 5);
    const fd = openSync(path, 'r+');
    for (let n = 3; n <= 40; n++) {
      if (n === 10) continue;
      const tweak = Buffer.alloc(16);
      tweak.writeUInt32LE(n);
      const ct = createCipheriv('aes-256-xts', keyBytes, tweak).update(plain.subarray((n - 3) * BS, (n - 2) * BS));
      writeSync(fd, ct, 0, BS, HEADER_BYTES + n * BS);
    }
    closeSync(fd);
    const expected = Buffer.from(plain);
    expected.fill(0, 7 * BS, 8 * BS);
    const reopened = await EncryptedVolume.open(path, key());
    assert.deepEqual(await reopened.read(3 * BS, 38 * BS), expected, 'one long read');
    assert.deepEqual(await reopened.read(5 * BS + 7, 3 * BS), expected.subarray(2 * BS + 7, 5 * BS + 7), 'a short unaligned read');
    const stored = storedBlock(path, 20);
    await reopened.write(3 * BS, plain);
    await reopened.close();
    assert.deepEqual(storedBlock(path, 20), stored, 'rewriting the same plaintext stores the same bytes');
  });

  it('reopens with the right key and refuses a wrong one', async () => {
    const { volume, path } = await fresh();
    await volume.write(BS * 9, pattern(BS, 3));
    await volume.close();
    await assert.rejects(EncryptedVolume.open(path, SecretBytes.random(64)), VolumeKeyMismatchError);
    const again = await EncryptedVolume.open(path, key(), { readOnly: true });
    assert.equal(again.size, SIZE);
    assert.deepEqual(await again.read(BS * 9, BS), pattern(BS, 3));
    await assert.rejects(again.write(0, Buffer.alloc(1)), VolumeReadOnlyError);
    await again.close();
  });

  it('refuses out-of-range requests and use after close, and disposes the key', async () => {
    const path = join(dir, `vol-${counter++}.img`);
    const k = key();
    const volume = await EncryptedVolume.create(path, SIZE, k);
    await assert.rejects(volume.read(SIZE - 1, 2), VolumeRangeError);
    await assert.rejects(volume.write(-1, Buffer.alloc(1)), VolumeRangeError);
    await assert.rejects(volume.trim(0, SIZE + 1), VolumeRangeError);
    await volume.close();
    assert.equal(k.disposed, true);
    await assert.rejects(volume.read(0, 1), VolumeClosedError);
    await volume.close();
  });

  it('copyTo makes a sparse point-in-time copy under the same key', async () => {
    const { volume, path } = await fresh();
    await volume.write(BS * 4, pattern(2 * BS, 1));
    const copyPath = `${path}.copy`;
    const copying = volume.copyTo(copyPath);
    const later = volume.write(BS * 4, pattern(BS, 2));
    await Promise.all([copying, later]);
    await assert.rejects(volume.copyTo(copyPath), { code: 'EEXIST' });
    const copy = await EncryptedVolume.open(copyPath, key());
    assert.deepEqual(await copy.read(BS * 4, 2 * BS), pattern(2 * BS, 1), 'copy predates the later write');
    assert.deepEqual(await volume.read(BS * 4, BS), pattern(BS, 2));
    assert.ok(statSync(copyPath).blocks * 512 < SIZE, 'unwritten blocks are holes');
    await copy.close();
    await volume.close();
  });

  it('reencryptTo produces the same plaintext under a new key', async () => {
    const { volume, path } = await fresh();
    const data = pattern(5 * BS, 4);
    await volume.write(BS, data);
    const newKeyBytes = SecretBytes.random(64).unsafeBytes();
    const newKey = key(newKeyBytes);
    await volume.reencryptTo(`${path}.re`, newKey);
    assert.equal(newKey.disposed, false, 'borrowed, not disposed');
    await assert.rejects(EncryptedVolume.open(`${path}.re`, key()), VolumeKeyMismatchError);
    const re = await EncryptedVolume.open(`${path}.re`, key(newKeyBytes));
    assert.deepEqual(await re.read(0, 7 * BS), Buffer.concat([Buffer.alloc(BS), data, Buffer.alloc(BS)]));
    assert.notDeepEqual(storedBlock(`${path}.re`, 1), storedBlock(path, 1));
    await re.close();
    await volume.close();
  });
});
