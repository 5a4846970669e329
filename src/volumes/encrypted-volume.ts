import { randomBytes } from 'node:crypto';
import { link, open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import type { BlockDevice, WriteOptions } from './block-device.js';
import { VolumeClosedError, VolumeRangeError, VolumeReadOnlyError } from './errors.js';
import { RangeLock } from './range-lock.js';
import { SectorCipher, VOLUME_BLOCK_SIZE } from './sector-cipher.js';
import { decodeHeader, encodeHeader, HEADER_BYTES } from './volume-header.js';
import { readFully, writeFully } from './file-io.js';
import { XtsWorkerPool } from './xts-pool.js';

const BS = VOLUME_BLOCK_SIZE;
const ZERO_BLOCK = Buffer.alloc(BS);
/** Large requests are cut into chunks of this many blocks to bound memory (1 MiB). */
const CHUNK_BLOCKS = 256;
/**
 * Runs of at least this many blocks (64 KiB) get a worker message of their own; shorter
 * ones are batched with the other short requests of the same event-loop turn.
 */
const POOL_MIN_BLOCKS = 16;

/**
 * An encrypted block device stored in one sparse backing file: a 4 KiB header
 * (`volume-header.ts`), then block n of the volume at byte 4096 + n * 4096, encrypted
 * with AES-256-XTS under the volume key with n as the tweak.
 *
 * Unwritten blocks: a block whose stored bytes are all zero is "unwritten" and reads as
 * zeros. We detect it from the ciphertext instead of keeping an allocation bitmap: a new
 * volume is a sparse file (its holes read as zeros), there is no second structure to keep
 * crash-consistent with the data, and the chance that a real XTS ciphertext block is all
 * zeros is 2^-32768. A written block of zeros is encrypted like any other, so it is never
 * stored as zeros. TRIM and WRITE_ZEROES (without NO_HOLE) turn whole blocks back into
 * unwritten ones by storing zeros; Node has no fallocate(PUNCH_HOLE), so that space is not
 * returned to the filesystem until the volume is copied (`copyTo` writes holes).
 *
 * Concurrency: every request locks the blocks it touches (shared for reads, exclusive
 * for writes) in arrival order, so read-modify-write of unaligned edges never loses a
 * concurrent write, and overlapping requests apply in the order they were issued. The
 * lock is held across the crypto too, also when a worker thread does it (`xts-pool.ts`).
 */
export class EncryptedVolume implements BlockDevice {
  readonly size: number;
  readonly readOnly: boolean;
  readonly #file: FileHandle;
  readonly #key: SecretBytes;
  readonly #cipher: SectorCipher;
  readonly #lock = new RangeLock();
  /** Started on the first read or write, so an idle volume costs no threads. */
  #workers: XtsWorkerPool | undefined;
  #closing: Promise<void> | undefined;

  private constructor(file: FileHandle, key: SecretBytes, size: number, readOnly: boolean) {
    this.#file = file;
    this.#key = key;
    this.#cipher = new SectorCipher(key);
    this.size = size;
    this.readOnly = readOnly;
  }

  /**
   * Creates a new volume file of `size` bytes (a multiple of 4096) at `path`, which must
   * not exist. Takes ownership of `key` (64 bytes), also when it fails; `close()` zeroes it.
   *
   * @throws VolumeRangeError for a bad size; SectorCipherKeyError for a bad key; the fs
   *   error (EEXIST, …) if the file cannot be created.
   */
  static async create(path: string, size: number, key: SecretBytes): Promise<EncryptedVolume> {
    if (!Number.isSafeInteger(size) || size <= 0 || size % BS !== 0) {
      key.dispose();
      throw new VolumeRangeError('a volume size is a positive multiple of 4096 bytes');
    }
    let file: FileHandle | undefined;
    try {
      new SectorCipher(key);
      file = await open(path, 'wx+', 0o600);
      await writeFully(file, [encodeHeader(size, key)], 0);
      await file.truncate(HEADER_BYTES + size);
      await file.sync();
      return new EncryptedVolume(file, key, size, false);
    } catch (err) {
      key.dispose();
      if (file !== undefined) {
        await file.close();
        await unlink(path).catch(() => undefined);
      }
      throw err;
    }
  }

  /**
   * Opens an existing volume file. Takes ownership of `key`, also when it fails.
   *
   * @throws VolumeFormatError, VolumeKeyMismatchError, or the fs error.
   */
  static async open(path: string, key: SecretBytes, options: { readOnly?: boolean } = {}): Promise<EncryptedVolume> {
    const readOnly = options.readOnly === true;
    let file: FileHandle | undefined;
    try {
      file = await open(path, readOnly ? 'r' : 'r+');
      const header = Buffer.alloc(HEADER_BYTES);
      await readFully(file, header, 0);
      const { size } = decodeHeader(header, key);
      return new EncryptedVolume(file, key, size, readOnly);
    } catch (err) {
      key.dispose();
      await file?.close();
      throw err;
    }
  }

  /** See `BlockDevice.read`. Unwritten blocks read as zeros. */
  async read(offset: number, length: number): Promise<Buffer> {
    this.#checkRange(offset, length);
    if (length === 0) return Buffer.alloc(0);
    const [first, last] = blockSpan(offset, length);
    const release = this.#lock.tryAcquire(first, last, false) ?? (await this.#lock.acquire(first, last, false));
    try {
      const data = await this.#readPlain(first, last - first + 1);
      return data.subarray(offset - first * BS, offset - first * BS + length);
    } finally {
      release();
    }
  }

  /** See `BlockDevice.write`. Partial edge blocks are read, patched and re-encrypted. */
  async write(offset: number, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    this.#checkWritable(offset, data.length);
    if (data.length === 0) return;
    const [first, last] = blockSpan(offset, data.length);
    const release = this.#lock.tryAcquire(first, last, true) ?? (await this.#lock.acquire(first, last, true));
    try {
      const endInLast = offset + data.length - last * BS;
      const headPartial = offset !== first * BS || (first === last && endInLast !== BS);
      const tailPartial = first !== last && endInLast !== BS;
      const head = headPartial ? await this.#patchedBlock(first, offset, data) : undefined;
      const tail = tailPartial ? await this.#patchedBlock(last, offset, data) : undefined;
      const midFirst = headPartial ? first + 1 : first;
      const midCount = (tailPartial ? last - 1 : last) - midFirst + 1;
      const run = data.subarray(midFirst * BS - offset, midFirst * BS - offset + Math.max(0, midCount) * BS);
      if (midCount >= POOL_MIN_BLOCKS) {
        // Only a buffer that is nothing but `data` may be handed over without a copy.
        const donate = options.donate === true && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
        await this.#writeLargeRun(first, last, head, midFirst, run, tail, donate);
      } else if (head === undefined && tail === undefined) {
        await this.#pool().encryptWriteBatched(this.#file.fd, HEADER_BYTES + first * BS, first, run);
      } else {
        const mid = midCount > 0 ? this.#cipher.encryptBlocks(midFirst, run) : [];
        await writeFully(this.#file, [...(head ? [head] : []), ...mid, ...(tail ? [tail] : [])], HEADER_BYTES + first * BS);
      }
      if (options.fua === true) await this.#file.datasync();
    } finally {
      release();
    }
  }

  /**
   * See `BlockDevice.writeParts`. A block-aligned run of at least POOL_MIN_BLOCKS goes to
   * a worker as its parts (`XtsWorkerPool.encryptWriteParts`); anything else is joined
   * and written as `write` does.
   */
  async writeParts(offset: number, parts: readonly Uint8Array[], options: WriteOptions = {}): Promise<void> {
    let length = 0;
    for (const part of parts) length += part.length;
    if (parts.length === 1 || offset % BS !== 0 || length % BS !== 0 || length < POOL_MIN_BLOCKS * BS) {
      const data = parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, length);
      // A join is ours to give away; a single part is as the caller said.
      await this.write(offset, data, parts.length === 1 ? options : { ...options, donate: true });
      return;
    }
    this.#checkWritable(offset, length);
    const [first, last] = blockSpan(offset, length);
    const release = this.#lock.tryAcquire(first, last, true) ?? (await this.#lock.acquire(first, last, true));
    try {
      await this.#pool().encryptWriteParts(this.#file.fd, HEADER_BYTES + offset, first, parts, options.donate === true);
      if (options.fua === true) await this.#file.datasync();
    } finally {
      release();
    }
  }

  /**
   * A long run is encrypted and written by a worker (one pwrite, no hop through the libuv
   * pool); the patched edge blocks, if any, are written here at the same time. Settles
   * only when every part has, so the caller's lock covers all of them.
   */
  async #writeLargeRun(
    first: number, last: number, head: Buffer | undefined, midFirst: number, run: Uint8Array, tail: Buffer | undefined, donate: boolean,
  ): Promise<void> {
    const writes = [this.#pool().encryptWrite(this.#file.fd, HEADER_BYTES + midFirst * BS, midFirst, run, donate)];
    if (head !== undefined) writes.push(writeFully(this.#file, [head], HEADER_BYTES + first * BS));
    if (tail !== undefined) writes.push(writeFully(this.#file, [tail], HEADER_BYTES + last * BS));
    for (const result of await Promise.allSettled(writes)) {
      if (result.status === 'rejected') throw result.reason;
    }
  }

  /** fsync of the backing file: every write completed before the call is durable. */
  async flush(): Promise<void> {
    this.#checkOpen();
    await this.#file.sync();
  }

  /**
   * Whole blocks inside the range become unwritten (read as zeros); partial edge blocks
   * are left as they are, which NBD allows for a trim.
   */
  async trim(offset: number, length: number, options: WriteOptions = {}): Promise<void> {
    this.#checkWritable(offset, length);
    const first = Math.ceil(offset / BS);
    const end = Math.floor((offset + length) / BS);
    if (end <= first) return;
    await this.#zeroWholeBlocks(first, end - 1, false, options);
  }

  /**
   * The range reads as zeros afterwards. Whole blocks become unwritten unless `noHole`,
   * in which case encrypted zeros are stored; partial edges are patched.
   */
  async writeZeroes(offset: number, length: number, options: WriteOptions = {}): Promise<void> {
    this.#checkWritable(offset, length);
    if (length === 0) return;
    const first = Math.ceil(offset / BS);
    const end = Math.floor((offset + length) / BS);
    if (end <= first) {
      await this.write(offset, Buffer.alloc(length), options);
      return;
    }
    if (offset < first * BS) await this.write(offset, Buffer.alloc(first * BS - offset));
    if (offset + length > end * BS) await this.write(end * BS, Buffer.alloc(offset + length - end * BS));
    await this.#zeroWholeBlocks(first, end - 1, options.noHole === true, options);
  }

  /**
   * Writes a point-in-time copy of this volume, under the same key, to a new file at
   * `path` (which must not exist). Writes wait while the copy runs; reads do not.
   * Unwritten blocks stay holes in the copy. The copy is written to a temporary file,
   * fsynced, then linked into place, so a half-made copy is never visible at `path`.
   */
  async copyTo(path: string): Promise<void> {
    await this.#copyBlocks(path, undefined, (_n, block) => block);
  }

  /**
   * Like `copyTo`, but the copy is encrypted under `newKey` (64 bytes): each written
   * block is decrypted with this volume's key and re-encrypted with the new one. Borrows
   * `newKey`; the caller disposes it.
   */
  async reencryptTo(path: string, newKey: SecretBytes): Promise<void> {
    const target = new SectorCipher(newKey);
    try {
      const header = encodeHeader(this.size, newKey);
      await this.#copyBlocks(path, header, (n, block) =>
        target.encryptBlock(n, this.#cipher.decryptBlock(n, block)),
      );
    } finally {
      target.dispose();
    }
  }

  /**
   * Waits for requests in flight, fsyncs, closes the file and zeroes the key. Idempotent.
   * Requests made after `close()` was called reject with VolumeClosedError.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const release = await this.#lock.acquire(0, Number.MAX_SAFE_INTEGER, true);
      try {
        if (!this.readOnly) await this.#file.sync();
        await this.#file.close();
      } finally {
        await this.#workers?.close();
        this.#cipher.dispose();
        this.#key.dispose();
        release();
      }
    })();
    return this.#closing;
  }

  /** `header` undefined: copy this volume's own header (same key). */
  async #copyBlocks(path: string, header: Buffer | undefined, transform: (n: number, block: Buffer) => Buffer): Promise<void> {
    this.#checkOpen();
    const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    const blocks = this.size / BS;
    // The lock is queued before any await: the copy is of the volume as it is now.
    const release = await this.#lock.acquire(0, blocks - 1, false);
    let out: FileHandle;
    try {
      out = await open(temp, 'wx', 0o600);
    } catch (err) {
      release();
      throw err;
    }
    try {
      if (header === undefined) {
        header = Buffer.alloc(HEADER_BYTES);
        await readFully(this.#file, header, 0);
      }
      await writeFully(out, [header], 0);
      await out.truncate(HEADER_BYTES + this.size);
      for (let first = 0; first < blocks; first += CHUNK_BLOCKS) {
        const count = Math.min(CHUNK_BLOCKS, blocks - first);
        const chunk = Buffer.allocUnsafe(count * BS);
        await readFully(this.#file, chunk, HEADER_BYTES + first * BS);
        for (let i = 0; i < count; i++) {
          const block = chunk.subarray(i * BS, (i + 1) * BS);
          if (block.equals(ZERO_BLOCK)) continue;
          await writeFully(out, [transform(first + i, block)], HEADER_BYTES + (first + i) * BS);
        }
      }
      await out.sync();
      await out.close();
      await link(temp, path);
    } catch (err) {
      await out.close().catch(() => undefined);
      throw err;
    } finally {
      release();
      await unlink(temp).catch(() => undefined);
    }
  }

  async #zeroWholeBlocks(first: number, last: number, encrypted: boolean, options: WriteOptions): Promise<void> {
    const release = await this.#lock.acquire(first, last, true);
    try {
      for (let start = first; start <= last; start += CHUNK_BLOCKS) {
        const count = Math.min(CHUNK_BLOCKS, last - start + 1);
        const out: Buffer[] = [];
        for (let i = 0; i < count; i++) {
          out.push(encrypted ? this.#cipher.encryptBlock(start + i, ZERO_BLOCK) : ZERO_BLOCK);
        }
        await writeFully(this.#file, out, HEADER_BYTES + start * BS);
      }
      if (options.fua === true) await this.#file.datasync();
    } finally {
      release();
    }
  }

  /**
   * Reads and decrypts blocks [first, first + count); unwritten ones stay zero. Always on
   * a worker: one pread there, no hop through the libuv pool, and the decryption runs
   * beside the event loop; short runs share one message per event-loop turn.
   */
  #readPlain(first: number, count: number): Promise<Buffer> {
    const pool = this.#pool();
    const position = HEADER_BYTES + first * BS;
    if (count >= POOL_MIN_BLOCKS) return pool.readDecrypt(this.#file.fd, position, first, count * BS);
    return pool.readDecryptBatched(this.#file.fd, position, first, count * BS);
  }

  #pool(): XtsWorkerPool {
    this.#workers ??= new XtsWorkerPool(this.#key, BS);
    return this.#workers;
  }

  /** Block `n` as plaintext with the part of `data` (written at `offset`) that covers it. */
  async #patchedBlock(n: number, offset: number, data: Uint8Array): Promise<Buffer> {
    const plain = await this.#readPlain(n, 1);
    const blockStart = n * BS;
    const from = Math.max(offset, blockStart);
    const to = Math.min(offset + data.length, blockStart + BS);
    plain.set(data.subarray(from - offset, to - offset), from - blockStart);
    return this.#cipher.encryptBlock(n, plain);
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new VolumeClosedError('the volume is closed');
  }

  #checkRange(offset: number, length: number): void {
    this.#checkOpen();
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new VolumeRangeError('the request is outside the volume');
    }
  }

  #checkWritable(offset: number, length: number): void {
    this.#checkRange(offset, length);
    if (this.readOnly) throw new VolumeReadOnlyError('the volume is read-only');
  }
}

/** The first and last block numbers touched by a non-empty byte range. */
function blockSpan(offset: number, length: number): [number, number] {
  return [Math.floor(offset / BS), Math.floor((offset + length - 1) / BS)];
}
