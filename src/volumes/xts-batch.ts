import type { WorkerResult } from './xts-threads.js';
import { workerError } from './xts-threads.js';

/** A batch is sent as soon as it holds this many items… */
const MAX_ITEMS = 128;
/** …or this many bytes, so one message (and one worker's turn) stays short. */
const MAX_BYTES = 1024 * 1024;
/** Numbers per item in the message's `items` array: write?, fd, position, firstBlock, length. */
const FIELDS = 5;

interface Item {
  readonly write: boolean;
  readonly fd: number;
  readonly position: number;
  readonly firstBlock: number;
  readonly length: number;
  /** The plaintext of a write (copied into the batch buffer when it is sent). */
  readonly data: Uint8Array | undefined;
  readonly resolve: (b: Buffer) => void;
  readonly reject: (e: Error) => void;
}

/**
 * Sends a worker the batch: `items` (FIELDS numbers per item) and `buffer`, which holds
 * the items' data back to back (a write's plaintext, room for a read's result) and is
 * transferred.
 */
export type SendBatch = (items: Float64Array, buffer: ArrayBuffer) => Promise<WorkerResult>;

/**
 * Gathers the small reads and writes issued in one event-loop turn into one message to an
 * XTS worker, which does each item's pread + decrypt or encrypt + pwrite (`batch` in
 * `xts-worker-source.ts`). For 4 KiB random I/O that replaces, per request, a hop through
 * the libuv pool plus inline crypto on the event loop with a share of one worker round
 * trip: less CPU in all, and the crypto runs beside the event loop.
 *
 * Items run in the order they were added; the caller's block locks keep conflicting
 * requests out of the same batch. Each item settles on its own: a failed pread or pwrite
 * rejects only its request, with the fs `code`. Never modifies a caller's buffer.
 */
export class XtsBatcher {
  readonly #send: SendBatch;
  readonly #maxInFlight: number;
  #queue: Item[] = [];
  #bytes = 0;
  #scheduled = false;
  #inFlight = 0;

  /**
   * `maxInFlight`: batches sent and not yet answered, at most (one per worker thread).
   * While that many are out, new items wait and leave together when one comes back: under
   * load the batches grow instead of the number of messages (and thread wake-ups).
   */
  constructor(send: SendBatch, maxInFlight: number) {
    this.#send = send;
    this.#maxInFlight = Math.max(1, maxInFlight);
  }

  /** Resolves with `length` bytes read at `position` of `fd`, decrypted as blocks `firstBlock`… */
  read(fd: number, position: number, firstBlock: number, length: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#add({ write: false, fd, position, firstBlock, length, data: undefined, resolve, reject });
    });
  }

  /** Resolves once `plaintext`, encrypted as blocks `firstBlock`…, is written at `position`. */
  write(fd: number, position: number, firstBlock: number, plaintext: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#add({ write: true, fd, position, firstBlock, length: plaintext.length, data: plaintext, resolve: () => resolve(), reject });
    });
  }

  #add(item: Item): void {
    this.#queue.push(item);
    this.#bytes += item.length;
    if (this.#queue.length >= MAX_ITEMS || this.#bytes >= MAX_BYTES) {
      this.#flush();
    } else if (!this.#scheduled) {
      // setImmediate runs after the I/O callbacks of this turn and their microtasks: every
      // request parsed from the data that arrived in this turn is in the batch by then.
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        if (this.#inFlight < this.#maxInFlight) this.#flush();
      });
    }
  }

  #flush(): void {
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#inFlight++;
    const total = this.#bytes;
    this.#queue = [];
    this.#bytes = 0;
    const items = new Float64Array(batch.length * FIELDS);
    // allocUnsafeSlow: an ArrayBuffer of its own, to transfer. Its old contents are never
    // seen: every byte is a write's plaintext or overwritten by a read.
    const buffer = Buffer.allocUnsafeSlow(total);
    let at = 0;
    batch.forEach((item, i) => {
      items.set([item.write ? 1 : 0, item.fd, item.position, item.firstBlock, item.length], i * FIELDS);
      if (item.data !== undefined) buffer.set(item.data, at);
      at += item.length;
    });
    this.#send(items, buffer.buffer as ArrayBuffer).then(
      (result) => this.#done(() => settle(batch, result)),
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        this.#done(() => batch.forEach((item) => item.reject(error)));
      },
    );
  }

  /** A batch came back: send what waited for it, then settle its items. */
  #done(settleBatch: () => void): void {
    this.#inFlight--;
    if (!this.#scheduled) this.#flush();
    settleBatch();
  }
}

function settle(batch: readonly Item[], result: WorkerResult): void {
  const failed = new Map((result.failures ?? []).map((f) => [f.index, f]));
  const data = result.buffer;
  let at = 0;
  batch.forEach((item, i) => {
    const failure = failed.get(i);
    if (failure !== undefined) item.reject(workerError(failure));
    else if (item.write) item.resolve(EMPTY);
    else if (data === undefined) item.reject(new Error('an XTS worker sent no data'));
    else item.resolve(data.subarray(at, at + item.length));
    at += item.length;
  });
}

const EMPTY = Buffer.alloc(0);
