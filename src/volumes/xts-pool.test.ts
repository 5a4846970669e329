import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { VolumeClosedError, VolumeRangeError } from './errors.js';
import { SectorCipher, VOLUME_BLOCK_SIZE } from './sector-cipher.js';
import { XtsWorkerPool } from './xts-pool.js';

const BS = VOLUME_BLOCK_SIZE;

function pattern(blocks: number): Buffer {
  const out = Buffer.alloc(blocks * BS);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7 + (i >> 12)) & 0xff;
  return out;
}

/** The independent reference: node's own aes-256-xts, one cipher object per block. */
function nodeXts(key: SecretBytes, firstBlock: number, plain: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i * BS < plain.length; i++) {
    const tweak = Buffer.alloc(16);
    tweak.writeBigUInt64LE(BigInt(firstBlock + i));
    out.push(createCipheriv('aes-256-xts', key.unsafeBytes(), tweak).update(plain.subarray(i * BS, (i + 1) * BS)));
  }
  return Buffer.concat(out);
}

function owned(data: Buffer): Buffer {
  const out = Buffer.from(new ArrayBuffer(data.length));
  data.copy(out);
  return out;
}

describe('XtsWorkerPool', () => {
  const key = SecretBytes.random(64);
  const cipher = new SectorCipher(key);
  const pool = new XtsWorkerPool(key, BS, 2);
  after(async () => {
    await pool.close();
    key.dispose();
  });

  it('encrypts exactly as SectorCipher does, block number as tweak, input untouched', async () => {
    const plain = pattern(20);
    const ct = await pool.encrypt(1_000_000, plain);
    assert.deepEqual(plain, pattern(20));
    assert.deepEqual(ct, Buffer.concat(cipher.encryptBlocks(1_000_000, plain)));
    assert.deepEqual(ct, nodeXts(key, 1_000_000, plain));
  });

  it('decrypts, leaving all-zero (unwritten) blocks as zeros', async () => {
    const plain = pattern(18);
    const stored = Buffer.concat(cipher.encryptBlocks(2 ** 40, plain));
    stored.fill(0, 3 * BS, 4 * BS);
    const out = await pool.decrypt(2 ** 40, owned(stored));
    const expected = Buffer.from(plain);
    expected.fill(0, 3 * BS, 4 * BS);
    assert.deepEqual(out, expected);
  });

  it('keeps concurrent jobs apart', async () => {
    const runs = Array.from({ length: 8 }, (_, i) => pattern(16 + i));
    const cts = await Promise.all(runs.map((r, i) => pool.encrypt(i * 100, r)));
    const back = await Promise.all(cts.map((c, i) => pool.decrypt(i * 100, owned(c))));
    back.forEach((b, i) => assert.deepEqual(b, runs[i]));
  });

  it('writes and reads files on the worker: one pwrite/pread, zeros past the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-xts-pool-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    try {
      const plain = pattern(17);
      await pool.encryptWrite(fd, 100, 40, plain);
      const stored = readFileSync(join(dir, 'f'));
      assert.equal(stored.length, 100 + plain.length);
      assert.deepEqual(stored.subarray(100), Buffer.concat(cipher.encryptBlocks(40, plain)));
      // Beyond the end of the file: zeros, which read back as unwritten blocks.
      const back = await pool.readDecrypt(fd, 100, 40, plain.length + 2 * BS);
      assert.deepEqual(back, Buffer.concat([plain, Buffer.alloc(2 * BS)]));
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes and reads runs above 1 MiB (chunked crypto, several pwritevs); a reused read buffer never shows an earlier read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-xts-large-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    try {
      const blocks = 2 * 256 + 37; // 2 MiB + 37 blocks
      const plain = pattern(blocks);
      await pool.encryptWrite(fd, 0, 7, plain);
      assert.deepEqual(readFileSync(join(dir, 'f')), nodeXts(key, 7, plain));
      assert.deepEqual(await pool.readDecrypt(fd, 0, 7, plain.length), plain, 'one read above 1 MiB');
      // Every worker reads 1 MiB, then a shorter range partly past the end of the file.
      for (let round = 0; round < 2; round++) {
        const big = await Promise.all([0, 1, 2, 3].map((i) => pool.readDecrypt(fd, i * BS, 7 + i, 256 * BS)));
        big.forEach((b, i) => assert.deepEqual(b, plain.subarray(i * BS, (i + 256) * BS), `1 MiB read ${i}`));
        const tails = await Promise.all([0, 1, 2, 3].map((i) => pool.readDecrypt(fd, (blocks - 2 - i) * BS, 7 + blocks - 2 - i, 8 * BS)));
        tails.forEach((t, i) => {
          const expected = Buffer.concat([plain.subarray((blocks - 2 - i) * BS), Buffer.alloc((6 - i) * BS)]);
          assert.deepEqual(t, expected, `read ${i} past the end`);
        });
      }
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('batches short reads and writes of one turn; each settles on its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-xts-batch-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    try {
      const plain = pattern(6);
      // Same turn: three writes, then a write to a bad descriptor, in one batch.
      const writes = [0, 2, 4].map((b) => pool.encryptWriteBatched(fd, b * BS, b, plain.subarray(b * BS, (b + 2) * BS)));
      const bad = pool.encryptWriteBatched(1_000_000, 0, 0, plain.subarray(0, BS));
      await Promise.all(writes);
      await assert.rejects(bad, { code: 'EBADF' });
      assert.deepEqual(plain, pattern(6), 'input untouched');
      assert.deepEqual(readFileSync(join(dir, 'f')), Buffer.concat(cipher.encryptBlocks(0, plain)));
      // Reads in one turn, one of them past the end (unwritten: zeros), one failing.
      const reads = [pool.readDecryptBatched(fd, 0, 0, 3 * BS), pool.readDecryptBatched(fd, 5 * BS, 5, 3 * BS)];
      const failing = pool.readDecryptBatched(1_000_000, 0, 0, BS);
      const [a, b] = await Promise.all(reads);
      await assert.rejects(failing, { code: 'EBADF' });
      assert.deepEqual(a, plain.subarray(0, 3 * BS));
      assert.deepEqual(b, Buffer.concat([plain.subarray(5 * BS), Buffer.alloc(2 * BS)]));
      await assert.rejects(pool.readDecryptBatched(fd, 0, 0, BS + 1), VolumeRangeError);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs a batch of mixed reads and writes (runs of each kind, failures inside runs) like separate requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-xts-mixed-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    try {
      const plain = pattern(12);
      await pool.encryptWrite(fd, 0, 0, plain.subarray(0, 6 * BS));
      // One turn: read, read, write, bad write, write, read (bad fd), read past the end, write.
      const r0 = pool.readDecryptBatched(fd, 0, 0, 2 * BS);
      const r1 = pool.readDecryptBatched(fd, 3 * BS, 3, BS);
      const w0 = pool.encryptWriteBatched(fd, 6 * BS, 6, plain.subarray(6 * BS, 8 * BS));
      const bad = pool.encryptWriteBatched(1_000_000, 0, 0, plain.subarray(0, BS));
      const w1 = pool.encryptWriteBatched(fd, 8 * BS, 8, plain.subarray(8 * BS, 9 * BS));
      const badRead = pool.readDecryptBatched(1_000_000, 0, 0, BS);
      const r2 = pool.readDecryptBatched(fd, 20 * BS, 20, 2 * BS);
      const w2 = pool.encryptWriteBatched(fd, 9 * BS, 9, plain.subarray(9 * BS, 12 * BS));
      assert.deepEqual(await r0, plain.subarray(0, 2 * BS));
      assert.deepEqual(await r1, plain.subarray(3 * BS, 4 * BS));
      assert.deepEqual(await r2, Buffer.alloc(2 * BS));
      await Promise.all([w0, w1, w2]);
      await assert.rejects(bad, { code: 'EBADF' });
      await assert.rejects(badRead, { code: 'EBADF' });
      assert.deepEqual(readFileSync(join(dir, 'f')), nodeXts(key, 0, plain));
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('batches block numbers past 2^32 with the whole 64-bit tweak (a run across 2^32, another far above)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-xts-high-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    try {
      const plain = pattern(5);
      // The file offset and the block number are independent: blocks 2^32 - 2 ... and 2^33 + 1 ... at offset 0.
      const low = 2 ** 32 - 2;
      const high = 2 ** 33 + 1;
      await Promise.all([
        pool.encryptWriteBatched(fd, 0, low, plain.subarray(0, 2 * BS)),
        pool.encryptWriteBatched(fd, 2 * BS, low + 2, plain.subarray(2 * BS, 3 * BS)),
        pool.encryptWriteBatched(fd, 3 * BS, high, plain.subarray(3 * BS)),
      ]);
      const stored = readFileSync(join(dir, 'f'));
      assert.deepEqual(stored.subarray(0, 3 * BS), nodeXts(key, low, plain.subarray(0, 3 * BS)));
      assert.deepEqual(stored.subarray(3 * BS), nodeXts(key, high, plain.subarray(3 * BS)));
      const reads = [pool.readDecryptBatched(fd, 0, low, 3 * BS), pool.readDecryptBatched(fd, 3 * BS, high, 2 * BS)];
      assert.deepEqual(Buffer.concat(await Promise.all(reads)), plain);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes over a donated buffer instead of copying it, writing only the given window', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-xts-donate-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    try {
      const plain = pattern(18);
      const donated = Buffer.from(new ArrayBuffer(plain.length + 100));
      plain.copy(donated, 100);
      const window = donated.subarray(100);
      await pool.encryptWrite(fd, 0, 9, window, true);
      assert.equal(donated.buffer.byteLength, 0, 'the ArrayBuffer was transferred');
      assert.deepEqual(readFileSync(join(dir, 'f')), Buffer.concat(cipher.encryptBlocks(9, plain)));
      const kept = Buffer.from(plain);
      await pool.encryptWrite(fd, 0, 9, kept);
      assert.deepEqual(kept, plain, 'not donated: copied, untouched');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('encrypts and writes a run given as parts, blocks across part boundaries included; transfers only whole donated parts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-xts-parts-'));
    const fd = openSync(join(dir, 'f'), 'w+');
    try {
      // 300 blocks: more than one pwritev's worth; cuts inside blocks and an empty part.
      const plain = pattern(300);
      const cuts = [0, 100, 100, 5000, 4096 * 7 + 1, 4096 * 290 + 3, plain.length];
      const own = (b: Buffer): Buffer => {
        const out = Buffer.from(new ArrayBuffer(b.length));
        b.copy(out);
        return out;
      };
      const parts = cuts.slice(1).map((end, i) => own(plain.subarray(cuts[i], end)));
      const shared = Buffer.from(new ArrayBuffer(parts[2]!.length + 10)).subarray(10);
      parts[2]!.copy(shared);
      parts[2] = shared;
      await pool.encryptWriteParts(fd, 4096, 3, parts, true);
      const written = readFileSync(join(dir, 'f'));
      assert.deepEqual(written.subarray(4096), Buffer.concat(cipher.encryptBlocks(3, plain)));
      assert.deepEqual(written.subarray(4096), nodeXts(key, 3, plain));
      assert.deepEqual(await pool.readDecrypt(fd, 4096, 3, plain.length), plain);
      assert.equal(parts[0]!.buffer.byteLength, 0, 'a whole donated part was transferred');
      assert.deepEqual(shared, plain.subarray(cuts[2], cuts[3]), 'a view into a larger buffer was copied, untouched');
      const kept = [Buffer.from(plain.subarray(0, 4096)), Buffer.from(plain.subarray(4096, 8192))];
      await pool.encryptWriteParts(fd, 0, 0, kept);
      assert.deepEqual(Buffer.concat(kept), plain.subarray(0, 8192), 'not donated: copied, untouched');
      await assert.rejects(pool.encryptWriteParts(fd, 0, 0, [Buffer.alloc(BS), Buffer.alloc(1)]), VolumeRangeError);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes file errors back with their code', async () => {
    await assert.rejects(pool.readDecrypt(1_000_000, 0, 0, 16 * BS), { code: 'EBADF' });
    await assert.rejects(pool.encryptWrite(1_000_000, 0, 0, pattern(16)), { code: 'EBADF' });
  });

  it('refuses partial blocks and buffers it cannot take over', async () => {
    await assert.rejects(pool.encrypt(0, Buffer.alloc(BS + 1)), VolumeRangeError);
    const shared = Buffer.from(new ArrayBuffer(3 * BS));
    await assert.rejects(pool.decrypt(0, shared.subarray(BS)), VolumeRangeError);
  });

  it('refuses block numbers that are no tweak: negative, fractional, not a number, or a run past 2^53 - 1', async () => {
    const data = Buffer.alloc(2 * BS, 7);
    for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER]) {
      await assert.rejects(pool.encrypt(bad, data), VolumeRangeError, `encrypt at ${bad}`);
      await assert.rejects(pool.decrypt(bad, Buffer.from(data)), VolumeRangeError, `decrypt at ${bad}`);
      await assert.rejects(pool.encryptWriteBatched(-1, 0, bad, data), VolumeRangeError, `batched write at ${bad}`);
      await assert.rejects(pool.readDecryptBatched(-1, 0, bad, 2 * BS), VolumeRangeError, `batched read at ${bad}`);
    }
    // The last block that still is one: a single block at 2^53 - 1 is accepted.
    assert.equal((await pool.encrypt(Number.MAX_SAFE_INTEGER, Buffer.alloc(BS, 7))).length, BS);
  });

  it('shares its threads with other keys without mixing them; closing one leaves the other', async () => {
    const otherKey = SecretBytes.random(64);
    const other = new XtsWorkerPool(otherKey, BS);
    try {
      const plain = pattern(16);
      const [a, b] = await Promise.all([pool.encrypt(7, plain), other.encrypt(7, plain)]);
      assert.deepEqual(a, Buffer.concat(cipher.encryptBlocks(7, plain)));
      assert.deepEqual(b, Buffer.concat(new SectorCipher(otherKey).encryptBlocks(7, plain)));
      assert.notDeepEqual(a, b);
      await other.close();
      await assert.rejects(other.encrypt(0, plain), VolumeClosedError);
      assert.deepEqual(await pool.decrypt(7, owned(a)), plain);
    } finally {
      await other.close();
      otherKey.dispose();
    }
  });

  it('refuses work once closed', async () => {
    const other = new XtsWorkerPool(key, BS, 1);
    await other.close();
    await assert.rejects(other.encrypt(0, pattern(16)), VolumeClosedError);
  });
});
