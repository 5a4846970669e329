import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import { VolumeClosedError, VolumeRangeError } from './errors.js';

/**
 * The worker's program, plain CommonJS so it runs as an eval worker both under tsx and
 * from compiled output (no second entry file to ship or resolve). It is the same
 * construction as SectorCipher — node:crypto AES-256-XTS, one cipher per block, the block
 * number as 128-bit little-endian tweak — applied in place to a transferred buffer.
 * Decryption leaves all-zero (unwritten) blocks as zeros, as EncryptedVolume requires.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createCipheriv, createDecipheriv } = require('node:crypto');
const key = Buffer.from(workerData.key.buffer);
const BS = workerData.blockSize;
const tweak = Buffer.alloc(16);
const zero = Buffer.alloc(BS);
parentPort.on('message', (m) => {
  if (m.op === 'close') { key.fill(0); parentPort.close(); return; }
  const data = Buffer.from(m.buffer);
  const make = m.op === 'encrypt' ? createCipheriv : createDecipheriv;
  for (let at = 0, n = m.firstBlock; at < data.length; at += BS, n++) {
    const block = data.subarray(at, at + BS);
    if (m.op === 'decrypt' && block.equals(zero)) continue;
    tweak.writeUInt32LE(n % 0x100000000, 0);
    tweak.writeUInt32LE(Math.floor(n / 0x100000000), 4);
    make('aes-256-xts', key, tweak).update(block).copy(data, at);
  }
  parentPort.postMessage({ id: m.id, buffer: m.buffer }, [m.buffer]);
});
`;

interface Job {
  readonly resolve: (b: Buffer) => void;
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
 * cost of sequential I/O. Small requests are better done inline (a round trip to a worker
 * costs tens of microseconds); the caller decides.
 *
 * Each worker holds its own copy of the key (transferred, so no serialized copy is left
 * behind); `close()` zeroes those copies and stops the workers. The pool borrows `key`: it never
 * disposes it.
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
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { key: copy, blockSize },
        transferList: [copy.buffer],
      });
      const entry: PoolWorker = { worker, jobs: new Map() };
      worker.on('message', (m: { id: number; buffer: ArrayBuffer }) => this.#settle(entry, m));
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
    return this.#run('encrypt', firstBlock, copy.buffer);
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
    return this.#run('decrypt', firstBlock, ciphertext.buffer as ArrayBuffer);
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

  #run(op: 'encrypt' | 'decrypt', firstBlock: number, buffer: ArrayBuffer): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new VolumeClosedError('the volume is closed'));
    if (buffer.byteLength % this.#blockSize !== 0) {
      return Promise.reject(new VolumeRangeError('the data is not a whole number of blocks'));
    }
    const entry = this.#leastBusy();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      entry.jobs.set(id, { resolve, reject });
      if (entry.jobs.size === 1) entry.worker.ref();
      entry.worker.postMessage({ op, id, firstBlock, buffer }, [buffer]);
    });
  }

  #leastBusy(): PoolWorker {
    let best = this.#workers[0];
    for (const w of this.#workers) if (best === undefined || w.jobs.size < best.jobs.size) best = w;
    if (best === undefined) throw new VolumeClosedError('no XTS workers');
    return best;
  }

  #settle(entry: PoolWorker, m: { id: number; buffer: ArrayBuffer }): void {
    const job = entry.jobs.get(m.id);
    entry.jobs.delete(m.id);
    if (entry.jobs.size === 0) entry.worker.unref();
    job?.resolve(Buffer.from(m.buffer));
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

function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

function ownsBuffer(b: Buffer): boolean {
  return b.byteOffset === 0 && b.buffer.byteLength === b.length && b.buffer instanceof ArrayBuffer;
}
