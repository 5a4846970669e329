import type { SecretBytes } from '../crypto/secret-bytes.js';
import { XtsBatcher } from './xts-batch.js';
import { VolumeClosedError, VolumeRangeError } from './errors.js';
import { acquireXtsThreads, releaseXtsThreads } from './xts-threads.js';
import type { WorkerResult, XtsThreads } from './xts-threads.js';

let nextKeyId = 0;

/**
 * AES-256-XTS over runs of 4 KiB blocks on worker threads, for one volume key, so that
 * the crypto uses more than one core and stays off the event loop: node:crypto is
 * synchronous, and the XTS (`xts-mode.ts`, about 1 ms of CPU per MiB here) is the
 * dominant cost of sequential I/O. The workers also do the
 * request's pread or pwrite themselves (`readDecrypt`, `encryptWrite`), which spares the
 * event loop a hop through the libuv pool. A round trip to a worker costs more than one
 * 4 KiB block's crypto, so short requests go in batches: those issued in one event-loop
 * turn share one message (`readDecryptBatched`, `encryptWriteBatched`; `xts-batch.ts`).
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
  readonly #batcher: XtsBatcher;
  #closed: Promise<void> | undefined;

  /**
   * Registers a copy of `key` (64 bytes, already validated by SectorCipher) with the
   * shared threads, starting `threads` of them (default: cores, at most 4) if none run.
   */
  constructor(key: SecretBytes, blockSize: number, threads?: number) {
    this.#blockSize = blockSize;
    this.#threads = acquireXtsThreads(threads);
    const send = (items: Float64Array, buffer: ArrayBuffer): Promise<WorkerResult> =>
      this.#run({ op: 'batch', items, buffer }, buffer.byteLength, [buffer]);
    this.#batcher = new XtsBatcher(send, this.#threads.size);
    const added: Array<Promise<unknown>> = [];
    for (let i = 0; i < this.#threads.size; i++) {
      const copy = new Uint8Array(key.unsafeBytes());
      const message = { op: 'add-key', keyId: this.#keyId, key: copy.buffer, blockSize };
      // A copy that was never sent (a set already broken, a failed postMessage) is still
      // ours: zero it. Once transferred it is detached here and fill() does nothing.
      const sent = this.#threads.run(message, [copy.buffer], i).catch((err: unknown) => {
        copy.fill(0);
        throw err;
      });
      added.push(sent);
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
    return this.#run({ op: 'encrypt', firstBlock, buffer: copy }, copy.byteLength, [copy]).then(returned);
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
    return this.#run({ op: 'decrypt', firstBlock, buffer }, buffer.byteLength, [buffer]).then(returned);
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
    return this.#run({ op: 'read-decrypt', fd, position, firstBlock, length }, length, []).then(returned);
  }

  /**
   * Encrypts whole blocks of `plaintext` as blocks `firstBlock`… and writes them at byte
   * `position` of `fd` on a worker (pwrite, continued after short writes). Resolves once
   * written (not synced). `plaintext` is never modified; it is copied, unless `donate`
   * is set and its ArrayBuffer holds nothing but the caller's data (a plain ArrayBuffer
   * the caller gives up): then that ArrayBuffer is transferred, which detaches it.
   *
   * @throws as `readDecrypt`, with the fs `code` if the write fails.
   */
  async encryptWrite(fd: number, position: number, firstBlock: number, plaintext: Uint8Array, donate = false): Promise<void> {
    if (donate && plaintext.buffer instanceof ArrayBuffer && plaintext.length > 0) {
      // A view into a donated buffer: the worker encrypts and writes that window only.
      const buffer = plaintext.buffer;
      const message = { op: 'encrypt-write', fd, position, firstBlock, buffer, offset: plaintext.byteOffset, length: plaintext.length };
      await this.#run(message, plaintext.length, [buffer]);
      return;
    }
    const copy = copyOf(plaintext);
    await this.#run({ op: 'encrypt-write', fd, position, firstBlock, buffer: copy }, copy.byteLength, [copy]);
  }

  /**
   * Like `encryptWrite`, with the plaintext given as `parts` back to back (an NBD payload
   * as it arrived in socket chunks): no contiguous copy of the whole is made. With
   * `donate`, a part whose ArrayBuffer holds nothing but that part is transferred (which
   * detaches it); every other part is copied. Parts are never modified.
   *
   * @throws as `encryptWrite`.
   */
  async encryptWriteParts(fd: number, position: number, firstBlock: number, parts: readonly Uint8Array[], donate = false): Promise<void> {
    let length = 0;
    const sent: Uint8Array[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const part of parts) {
      length += part.length;
      const buffer = part.buffer;
      if (donate && buffer instanceof ArrayBuffer && part.byteOffset === 0 && part.byteLength === buffer.byteLength && !transfer.includes(buffer)) {
        sent.push(part);
        transfer.push(buffer);
      } else {
        // A view posted untransferred would be cloned with all of its ArrayBuffer.
        const copy = new Uint8Array(copyOf(part));
        sent.push(copy);
        transfer.push(copy.buffer);
      }
    }
    await this.#run({ op: 'encrypt-write', fd, position, firstBlock, parts: sent }, length, transfer);
  }

  /**
   * Like `readDecrypt`, for a short run: the read joins the others issued in this
   * event-loop turn in one message to a worker (`xts-batch.ts`). The result may share its
   * ArrayBuffer with other requests' results (never with their plaintext for writing).
   *
   * @throws as `readDecrypt`.
   */
  readDecryptBatched(fd: number, position: number, firstBlock: number, length: number): Promise<Buffer> {
    const refused = this.#refuse(length, firstBlock);
    return refused ?? this.#batcher.read(fd, position, firstBlock, length);
  }

  /**
   * Like `encryptWrite`, for a short run, batched as `readDecryptBatched`. `plaintext` is
   * never modified; it is copied when its batch is sent: at the end of this event-loop
   * turn, or later, when a batch comes back, if every worker is busy. So the caller must
   * leave it unchanged until the promise settles.
   *
   * @throws as `encryptWrite`.
   */
  encryptWriteBatched(fd: number, position: number, firstBlock: number, plaintext: Uint8Array): Promise<void> {
    const refused = this.#refuse(plaintext.length, firstBlock);
    return refused ?? this.#batcher.write(fd, position, firstBlock, plaintext);
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

  #run(message: Record<string, unknown>, length: number, transfer: ArrayBuffer[]): Promise<WorkerResult> {
    // A batch's items were each checked when they were queued (readDecryptBatched, encryptWriteBatched).
    const refused = this.#refuse(length, 'firstBlock' in message ? message['firstBlock'] : 0);
    // Object.assign, not a spread literal (V8's slow path in Node 20): `message` is always a
    // literal made for this call, so adding the key id to it changes nobody else's object.
    return refused ?? this.#threads.run(Object.assign(message, { keyId: this.#keyId }), transfer);
  }

  /** The rejection for a job this pool cannot take, or undefined. */
  #refuse(length: number, firstBlock: unknown): Promise<never> | undefined {
    if (this.#closed !== undefined) return Promise.reject(new VolumeClosedError('the volume is closed'));
    if (length % this.#blockSize !== 0) {
      return Promise.reject(new VolumeRangeError('the data is not a whole number of blocks'));
    }
    // The block number is the XTS tweak: a fraction would be truncated to another block's
    // tweak in the worker, a negative one fails there with a raw RangeError.
    const lastOffset = Math.max(length / this.#blockSize - 1, 0);
    if (typeof firstBlock !== 'number' || !Number.isSafeInteger(firstBlock) || firstBlock < 0 || !Number.isSafeInteger(firstBlock + lastOffset)) {
      return Promise.reject(new VolumeRangeError('the block number is not a whole number from 0 to 2^53 - 1'));
    }
    return undefined;
  }
}

/** A copy of `data` in an ArrayBuffer of its own (to transfer). */
function copyOf(data: Uint8Array): ArrayBuffer {
  // allocUnsafeSlow: not zero-filled first (every byte is overwritten), not a pool slice.
  const copy = Buffer.allocUnsafeSlow(data.length);
  copy.set(data);
  return copy.buffer as ArrayBuffer;
}

function returned(r: WorkerResult): Buffer {
  if (r.buffer === undefined) throw new VolumeClosedError('an XTS worker sent no data');
  return r.buffer;
}

function ownsBuffer(b: Buffer): boolean {
  return b.byteOffset === 0 && b.buffer.byteLength === b.length && b.buffer instanceof ArrayBuffer;
}
