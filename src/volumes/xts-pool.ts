import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import { VolumeClosedError, VolumeRangeError } from './errors.js';
import { XTS_WORKER_SOURCE } from './xts-worker-source.js';

interface Job {
  readonly resolve: (b: Buffer | undefined) => void;
  readonly reject: (e: Error) => void;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
}

/**
 * Worker threads that run AES-256-XTS over long runs of 4 KiB blocks, so that large
 * requests use more than one core: node:crypto is synchronous, and creating one cipher
 * per block (XTS with a per-block tweak cannot do otherwise in Node) is the dominant
 * cost of sequential I/O. The workers can also do the request's one pread or pwrite
 * themselves (`readDecrypt`, `encryptWrite`), which spares the event loop a hop through
 * the libuv pool. Small requests are better done inline (a round trip to a worker costs
 * tens of microseconds); the caller decides.
 *
 * Each worker holds its own copy of the key (transferred, so no serialized copy is left
 * behind); `close()` zeroes those copies and stops the workers. The pool borrows `key`:
 * it never disposes it.
 */
export class XtsWorkerPool {
  readonly #workers: PoolWorker[] = [];
  readonly #blockSize: number;
  #nextId = 0;
  #closed = false;

  /**
   * Starts `threads` workers (default: the number of cores, at most 4) with copies of
   * `key` (64 bytes, already validated by SectorCipher).
   */
  constructor(key: SecretBytes, blockSize: number, threads: number = defaultThreads()) {
    this.#blockSize = blockSize;
    for (let i = 0; i < threads; i++) {
      // Transferred, not cloned: no serialized copy of the key is left behind.
      const copy = new Uint8Array(key.unsafeBytes());
      const worker = new Worker(XTS_WORKER_SOURCE, {
        eval: true,
        workerData: { key: copy, blockSize },
        transferList: [copy.buffer],
      });
      const entry: PoolWorker = { worker, jobs: new Map() };
      worker.on('message', (m: WorkerReply) => this.#settle(entry, m));
      worker.on('error', (err) => this.#fail(entry, err));
      worker.on('exit', () => this.#fail(entry, new VolumeClosedError('an XTS worker stopped')));
      worker.unref();
      this.#workers.push(entry);
    }
  }

  /**
   * Encrypts whole blocks of `plaintext`, block i under tweak `firstBlock + i`. Returns a
   * new buffer; `plaintext` is never modified.
   *
   * @throws VolumeRangeError for a partial block; VolumeClosedError after close or if a
   *   worker dies.
   */
  encrypt(firstBlock: number, plaintext: Uint8Array): Promise<Buffer> {
    const copy = new Uint8Array(plaintext.length);
    copy.set(plaintext);
    return this.#run({ op: 'encrypt', firstBlock, buffer: copy.buffer }, copy.buffer).then(defined);
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
    return this.#run({ op: 'decrypt', firstBlock, buffer }, buffer).then(defined);
  }

  /**
   * Reads `length` bytes (whole blocks) at byte `position` of the open descriptor `fd`
   * with one pread on the worker, decrypts them as blocks `firstBlock`… there (all-zero
   * blocks stay zeros) and resolves with the plaintext. Bytes past the end of the file
   * read as zeros. The caller keeps `fd` open and the range locked until it settles.
   *
   * @throws VolumeRangeError for a partial block; VolumeClosedError after close or if a
   *   worker dies; an Error with the fs `code` if the read fails.
   */
  readDecrypt(fd: number, position: number, firstBlock: number, length: number): Promise<Buffer> {
    return this.#run({ op: 'read-decrypt', fd, position, firstBlock, length }, length).then(defined);
  }

  /**
   * Encrypts whole blocks of `plaintext` as blocks `firstBlock`… and writes them at byte
   * `position` of `fd` on the worker (pwrite, continued after short writes). `plaintext`
   * is copied, never modified. Resolves once written (not synced).
   *
   * @throws as `readDecrypt`, with the fs `code` if the write fails.
   */
  async encryptWrite(fd: number, position: number, firstBlock: number, plaintext: Uint8Array): Promise<void> {
    const copy = new Uint8Array(plaintext.length);
    copy.set(plaintext);
    await this.#run({ op: 'encrypt-write', fd, position, firstBlock, buffer: copy.buffer }, copy.buffer);
  }

  /**
   * Zeroes the workers' keys and waits for them to exit. Call it with no job running (the
   * volume's lock guarantees that); jobs still running would reject. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The workers zero their keys and exit by themselves: terminate() could stop one
    // before it ran the close message, leaving its key copy unzeroed.
    await Promise.all(
      this.#workers.map(({ worker }) => {
        const exited = once(worker, 'exit');
        worker.ref();
        worker.postMessage({ op: 'close' });
        return exited;
      }),
    );
  }

  /** Posts `message` (transferring `transfer` when it is a buffer) to the least busy worker. */
  #run(message: Record<string, unknown>, transfer: ArrayBuffer | number): Promise<Buffer | undefined> {
    if (this.#closed) return Promise.reject(new VolumeClosedError('the volume is closed'));
    const length = typeof transfer === 'number' ? transfer : transfer.byteLength;
    if (length % this.#blockSize !== 0) {
      return Promise.reject(new VolumeRangeError('the data is not a whole number of blocks'));
    }
    const entry = this.#leastBusy();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      entry.jobs.set(id, { resolve, reject });
      if (entry.jobs.size === 1) entry.worker.ref();
      entry.worker.postMessage({ ...message, id }, typeof transfer === 'number' ? [] : [transfer]);
    });
  }

  #leastBusy(): PoolWorker {
    let best = this.#workers[0];
    for (const w of this.#workers) if (best === undefined || w.jobs.size < best.jobs.size) best = w;
    if (best === undefined) throw new VolumeClosedError('no XTS workers');
    return best;
  }

  #settle(entry: PoolWorker, m: WorkerReply): void {
    const job = entry.jobs.get(m.id);
    entry.jobs.delete(m.id);
    if (entry.jobs.size === 0) entry.worker.unref();
    if (m.error !== undefined) {
      // The fs error's code (EIO, ENOSPC, …) survives; its text names no secret.
      job?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    } else {
      job?.resolve(m.buffer === undefined ? undefined : Buffer.from(m.buffer));
    }
  }

  #fail(entry: PoolWorker, err: Error): void {
    const jobs = [...entry.jobs.values()];
    entry.jobs.clear();
    // A dead worker takes no more jobs: it becomes the busiest forever.
    const index = this.#workers.indexOf(entry);
    if (index >= 0 && this.#workers.length > 1) this.#workers.splice(index, 1);
    else this.#closed = true;
    for (const job of jobs) job.reject(err);
  }
}

/** What a worker posts back. */
interface WorkerReply {
  readonly id: number;
  readonly buffer?: ArrayBuffer;
  readonly error?: { readonly message: string; readonly code?: string };
}

function defined(b: Buffer | undefined): Buffer {
  if (b === undefined) throw new VolumeClosedError('an XTS worker sent no data');
  return b;
}

function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

function ownsBuffer(b: Buffer): boolean {
  return b.byteOffset === 0 && b.buffer.byteLength === b.length && b.buffer instanceof ArrayBuffer;
}
