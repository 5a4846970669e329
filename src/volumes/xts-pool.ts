import type { SecretBytes } from '../crypto/secret-bytes.js';
import { VolumeClosedError, VolumeRangeError } from './errors.js';
import { acquireXtsThreads, releaseXtsThreads } from './xts-threads.js';
import type { XtsThreads } from './xts-threads.js';

let nextKeyId = 0;

/**
 * AES-256-XTS over long runs of 4 KiB blocks on worker threads, for one volume key, so
 * that large requests use more than one core: node:crypto is synchronous, and creating one
 * cipher per block (XTS with a per-block tweak cannot do otherwise in Node) is the dominant
 * cost of sequential I/O. The workers can also do the request's one pread or pwrite
 * themselves (`readDecrypt`, `encryptWrite`), which spares the event loop a hop through
 * the libuv pool. Small requests are better done inline (a round trip to a worker costs
 * tens of microseconds); the caller decides.
 *
 * The threads are shared by every pool in the process (`xts-threads.ts`: one per core, at
 * most 4), started with the first pool and stopped with the last. Each thread holds a copy
 * of this pool's key (transferred, so no serialized copy is left behind) until `close()`,
 * which has every thread zero it. The pool borrows `key`: it never disposes it.
 */
export class XtsWorkerPool {
  readonly #threads: XtsThreads;
  readonly #keyId = nextKeyId++;
  readonly #blockSize: number;
  readonly #registered: Promise<unknown>;
  #closed: Promise<void> | undefined;

  /**
   * Registers a copy of `key` (64 bytes, already validated by SectorCipher) with the
   * shared threads, starting `threads` of them (default: cores, at most 4) if none run.
   */
  constructor(key: SecretBytes, blockSize: number, threads?: number) {
    this.#blockSize = blockSize;
    this.#threads = acquireXtsThreads(threads);
    const added: Array<Promise<unknown>> = [];
    for (let i = 0; i < this.#threads.size; i++) {
      const copy = new Uint8Array(key.unsafeBytes()).buffer;
      added.push(this.#threads.run({ op: 'add-key', keyId: this.#keyId, key: copy, blockSize }, [copy], i));
    }
    // Jobs need not wait: a worker handles its messages in order. A failure shows in them.
    this.#registered = Promise.allSettled(added);
  }

  /**
   * Encrypts whole blocks of `plaintext`, block i under tweak `firstBlock + i`. Returns a
   * new buffer; `plaintext` is never modified.
   *
   * @throws VolumeRangeError for a partial block; VolumeClosedError after close or if a
   *   worker dies.
   */
  encrypt(firstBlock: number, plaintext: Uint8Array): Promise<Buffer> {
    const copy = copyOf(plaintext);
    return this.#run({ op: 'encrypt', firstBlock, buffer: copy }, copy.byteLength, [copy]).then(defined);
  }

  /**
   * Decrypts whole blocks; all-zero blocks (unwritten) stay zeros. `ciphertext` must own
   * its whole ArrayBuffer, which is transferred to the worker: the caller must not use
   * `ciphertext` afterwards, only the returned buffer.
   *
   * @throws VolumeRangeError for a partial block or a shared ArrayBuffer; VolumeClosedError
   *   after close or if a worker dies.
   */
  decrypt(firstBlock: number, ciphertext: Buffer): Promise<Buffer> {
    if (!ownsBuffer(ciphertext)) return Promise.reject(new VolumeRangeError('the buffer must own its memory'));
    const buffer = ciphertext.buffer as ArrayBuffer;
    return this.#run({ op: 'decrypt', firstBlock, buffer }, buffer.byteLength, [buffer]).then(defined);
  }

  /**
   * Reads `length` bytes (whole blocks) at byte `position` of the open descriptor `fd`
   * with one pread on a worker, decrypts them as blocks `firstBlock`… (all-zero blocks
   * stay zeros) and resolves with the plaintext. Bytes past the end of the file read as
   * zeros. The caller keeps `fd` open and the range locked until it settles.
   *
   * @throws VolumeRangeError for a partial block; VolumeClosedError after close or if a
   *   worker dies; an Error with the fs `code` if the read fails.
   */
  readDecrypt(fd: number, position: number, firstBlock: number, length: number): Promise<Buffer> {
    return this.#run({ op: 'read-decrypt', fd, position, firstBlock, length }, length, []).then(defined);
  }

  /**
   * Encrypts whole blocks of `plaintext` as blocks `firstBlock`… and writes them at byte
   * `position` of `fd` on a worker (pwrite, continued after short writes). `plaintext`
   * is copied, never modified. Resolves once written (not synced).
   *
   * @throws as `readDecrypt`, with the fs `code` if the write fails.
   */
  async encryptWrite(fd: number, position: number, firstBlock: number, plaintext: Uint8Array): Promise<void> {
    const copy = copyOf(plaintext);
    await this.#run({ op: 'encrypt-write', fd, position, firstBlock, buffer: copy }, copy.byteLength, [copy]);
  }

  /**
   * Has every thread zero and forget this key, then gives the threads back (the last
   * pool stops them). Call it with no job running (the volume's lock guarantees that).
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#registered;
      const drops = [];
      for (let i = 0; i < this.#threads.size; i++) {
        drops.push(this.#threads.run({ op: 'drop-key', keyId: this.#keyId }, [], i));
      }
      // A dead thread took its copy with it; the others must still drop theirs.
      await Promise.allSettled(drops);
      await releaseXtsThreads(this.#threads);
    })();
    return this.#closed;
  }

  #run(message: Record<string, unknown>, length: number, transfer: ArrayBuffer[]): Promise<Buffer | undefined> {
    if (this.#closed !== undefined) return Promise.reject(new VolumeClosedError('the volume is closed'));
    if (length % this.#blockSize !== 0) {
      return Promise.reject(new VolumeRangeError('the data is not a whole number of blocks'));
    }
    return this.#threads.run({ ...message, keyId: this.#keyId }, transfer);
  }
}

function copyOf(data: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(data.length);
  copy.set(data);
  return copy.buffer;
}

function defined(b: Buffer | undefined): Buffer {
  if (b === undefined) throw new VolumeClosedError('an XTS worker sent no data');
  return b;
}

function ownsBuffer(b: Buffer): boolean {
  return b.byteOffset === 0 && b.buffer.byteLength === b.length && b.buffer instanceof ArrayBuffer;
}
