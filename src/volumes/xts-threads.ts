import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { VolumeClosedError } from './errors.js';
import { XTS_WORKER_SOURCE } from './xts-worker-source.js';

interface Job {
  readonly resolve: (r: WorkerResult) => void;
  readonly reject: (e: Error) => void;
}

/** An fs failure as a worker reports it: the message and the fs `code` (EIO, …), no secret. */
export interface WorkerFailure {
  readonly message: string;
  readonly code?: string;
}

/**
 * What a job resolves with: the buffer the worker sent back, if any, and for a batch the
 * items that failed (by index), if any.
 */
export interface WorkerResult {
  readonly buffer: Buffer | undefined;
  readonly failures: ReadonlyArray<WorkerFailure & { readonly index: number }> | undefined;
}

interface ThreadEntry {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
  readonly exited: Promise<unknown>;
}

/** What a worker posts back. */
interface WorkerReply {
  readonly id: number;
  readonly buffer?: ArrayBuffer;
  readonly error?: WorkerFailure;
  readonly failures?: ReadonlyArray<WorkerFailure & { readonly index: number }>;
}

/**
 * The XTS worker threads of this process, shared by every attached volume (each volume
 * registers its key with them; see XtsWorkerPool): a server with many volumes attached
 * still runs one thread per core, not one per volume. Internal to the volumes part.
 */
export class XtsThreads {
  readonly #entries: ThreadEntry[] = [];
  #nextId = 0;
  #broken = false;
  #stopping: Promise<void> | undefined;

  constructor(threads: number) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(XTS_WORKER_SOURCE, { eval: true });
      const entry: ThreadEntry = { worker, jobs: new Map(), exited: once(worker, 'exit') };
      worker.on('message', (m: WorkerReply) => this.#settle(entry, m));
      worker.on('error', (err) => this.#fail(entry, err));
      worker.on('exit', () => this.#fail(entry, new VolumeClosedError('an XTS worker stopped')));
      worker.unref();
      this.#entries.push(entry);
    }
  }

  /** True once a worker died: this set takes no more work and a new one is started. */
  get broken(): boolean {
    return this.#broken;
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * Posts `message` (to which it adds the job's `id`: pass a literal made for the call) to
   * worker `index` (default: the least busy one), transferring `transfer`; resolves with the buffer it sends back, if any (and a batch's failed
   * items). Rejects with VolumeClosedError if the set is broken or the worker dies, or
   * with an Error carrying the fs `code` the worker reported for the whole job.
   */
  run(message: Record<string, unknown>, transfer: ArrayBuffer[], index?: number): Promise<WorkerResult> {
    const entry = index === undefined ? this.#leastBusy() : this.#entries[index];
    if (this.#broken || entry === undefined) return Promise.reject(new VolumeClosedError('the XTS workers stopped'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      try {
        // Throws (DataCloneError) before anything is sent if a buffer cannot be transferred.
        entry.worker.postMessage(Object.assign(message, { id }), transfer);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      entry.jobs.set(id, { resolve, reject });
      if (entry.jobs.size === 1) entry.worker.ref();
    });
  }

  /**
   * Lets the workers end and waits for them; they zero any key still registered first
   * (terminate() could stop one before that). Idempotent.
   */
  stop(): Promise<void> {
    this.#broken = true;
    this.#stopping ??= Promise.all(
      this.#entries.map(({ worker, exited }) => {
        worker.ref();
        worker.postMessage({ op: 'close' });
        return exited;
      }),
    ).then(() => undefined);
    return this.#stopping;
  }

  #leastBusy(): ThreadEntry | undefined {
    let best = this.#entries[0];
    for (const e of this.#entries) if (best === undefined || e.jobs.size < best.jobs.size) best = e;
    return best;
  }

  #settle(entry: ThreadEntry, m: WorkerReply): void {
    const job = entry.jobs.get(m.id);
    entry.jobs.delete(m.id);
    if (entry.jobs.size === 0) entry.worker.unref();
    if (m.error !== undefined) {
      // Its text names no secret.
      job?.reject(workerError(m.error));
    } else {
      job?.resolve({ buffer: m.buffer === undefined ? undefined : Buffer.from(m.buffer), failures: m.failures });
    }
  }

  #fail(entry: ThreadEntry, err: Error): void {
    // One dead worker retires the whole set: the keys it held cannot be re-sent (the
    // volumes keep theirs in SecretBytes only), so its volumes' requests fail from now on.
    this.#broken = true;
    const jobs = [...entry.jobs.values()];
    entry.jobs.clear();
    for (const job of jobs) job.reject(err);
    if (shared?.threads === this) shared = undefined;
  }
}

/** The Error for a failure a worker reported; its fs `code` (EIO, ENOSPC, …) survives. */
export function workerError(failure: WorkerFailure): Error {
  return Object.assign(new Error(failure.message), { code: failure.code });
}

let shared: { threads: XtsThreads; users: number } | undefined;

/** The shared worker set, started on first use with `threads` workers (default: cores, ≤ 4). */
export function acquireXtsThreads(threads: number = defaultThreads()): XtsThreads {
  if (shared === undefined || shared.threads.broken) shared = { threads: new XtsThreads(threads), users: 0 };
  shared.users++;
  return shared.threads;
}

/** Gives back a set from acquireXtsThreads; the last user stops its workers. */
export async function releaseXtsThreads(threads: XtsThreads): Promise<void> {
  if (shared?.threads !== threads) {
    // A set retired after a worker died: stopping it again is harmless.
    await threads.stop();
    return;
  }
  shared.users--;
  if (shared.users > 0) return;
  shared = undefined;
  await threads.stop();
}

function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}
