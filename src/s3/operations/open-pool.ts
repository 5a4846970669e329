import { Worker } from 'node:worker_threads';
import { CipherlakeError } from '../../common/errors.js';
import { DecryptionError, type RangePlan, type SecretBytes } from '../../crypto/index.js';
import type { OpenReply, OpenRequest } from './open-worker.js';

/**
 * The open threads are gone: the pool was closed, or the thread a GET's stream ran on
 * died. Internal (maps to S3 InternalError); names no key and no data.
 */
export class OpenPoolUnavailableError extends CipherlakeError {
  readonly userError = false;
}

/** What one chunk gave back: its verified plaintext pieces and the (ciphertext) buffer it was read into. */
export interface OpenedChunk {
  readonly pieces: Buffer[];
  readonly buffer: Buffer;
}

/**
 * One GET's decryption on an open thread (SegmentOpenPool.open). Chunks must be posted in
 * the order of the body; each resolves in that order.
 */
export interface OpenStream {
  /**
   * Transfers `buffer` (which must own its whole ArrayBuffer; the caller must not touch it
   * until the promise settles, and only through the returned `buffer` after) and opens its
   * bytes [offset, offset + length) as the stream's next sealed chunk; `lead`: the header
   * is in the `headerSize` bytes before `offset` (the first chunk of a whole-object GET);
   * `last`: the final chunk (the opener's final() runs after it). Resolves with the verified
   * plaintext; rejects with DecryptionError when the stream fails authentication (and every
   * later chunk then rejects too), OpenPoolUnavailableError when the pool is closed or the
   * thread died. Never resolves with plaintext whose tag was not verified.
   */
  decrypt(buffer: Buffer, offset: number, length: number, lead: boolean, last: boolean): Promise<OpenedChunk>;
  /** Has the thread zero and forget the stream's key (a no-op once it finished or failed); never throws. Idempotent. */
  close(): void;
}

interface Job {
  readonly resolve: (r: OpenReply) => void;
  readonly reject: (e: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
  readonly exited: Promise<unknown>;
  dead: boolean;
}

// Under tsx (running from .ts) a worker does not inherit the --import loader: the bootstrap
// registers tsx itself before importing the thread's module. Compiled, it imports the .js
// beside this file. (As src/store/sqlite/audit-writer-client.ts.)
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(`./open-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url).href;
const TSX_API = FROM_SOURCE ? import.meta.resolve('tsx/esm/api') : null;
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  await import(workerData.entry);
})().catch((error) => { process.nextTick(() => { throw error; }); });
`;

/** Open threads per process unless CIPHERLAKE_GET_THREADS says otherwise: the main thread needs a core of its own. */
export const DEFAULT_OPEN_THREADS = 1;

let nextStream = 1;

/**
 * Threads that decrypt the sealed bodies of large GETs (see plaintextBatches), so that
 * node:crypto's synchronous decipher runs beside the event loop instead of on it. The
 * threads start with the first stream (a process that never serves a large GET starts
 * none); a stream stays on one thread. A thread that dies fails its streams' chunks
 * (OpenPoolUnavailableError) and is replaced by the next `open`. Each stream's key is a
 * transferred copy: the main thread keeps none.
 */
export class SegmentOpenPool {
  readonly #size: number;
  readonly #threads: Array<Thread | undefined> = [];
  #nextId = 1;
  #closed: Promise<void> | undefined;

  /** A pool of `threads` threads (at least 1), none started yet. */
  constructor(threads: number = DEFAULT_OPEN_THREADS) {
    this.#size = Math.max(1, Math.floor(threads));
  }

  /** True once close() was called: `open` then throws. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Starts a GET's stream: posts a copy of `objectKey` (transferred, so no copy stays
   * behind; the caller still owns and disposes `objectKey`), the binding `aad`, the range
   * plan and the header when it was read on its own. Throws OpenPoolUnavailableError after
   * close(); a thread that cannot start shows as rejected chunks.
   */
  open(objectKey: SecretBytes, aad: Buffer, plan: RangePlan, header: Buffer | undefined): OpenStream {
    if (this.#closed !== undefined) throw new OpenPoolUnavailableError('the GET decrypt threads are closed');
    const thread = this.#pick();
    const stream = nextStream++;
    const key = new Uint8Array(objectKey.unsafeBytes());
    try {
      this.#post(thread, { op: 'open', stream, key: key.buffer, aad, plan, header: header ?? null }, [key.buffer]);
    } finally {
      // Once transferred it is detached here (length 0); not sent, it is still ours: zero it.
      if (key.byteLength > 0) key.fill(0);
    }
    return new PooledStream((make, transfer) => this.#call(thread, make, transfer), stream);
  }

  /** How many streams hold a key on each started thread (for tests); rejects as a chunk would. */
  async liveStreams(): Promise<number[]> {
    const counts = await Promise.all(this.#threads.filter((t): t is Thread => t !== undefined && !t.dead).map((t) => this.#call(t, (id) => ({ op: 'live', id }))));
    return counts.map((r) => ('live' in r ? r.live : -1));
  }

  /**
   * Stops taking streams, has every thread zero the keys it still holds and end, and waits
   * for them (work already posted finishes first; later calls reject). Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= Promise.all(
      this.#threads.map((t) => {
        if (t === undefined) return undefined;
        t.worker.ref();
        if (!t.dead) t.worker.postMessage({ op: 'close' } satisfies OpenRequest);
        return t.exited;
      }),
    ).then(() => undefined);
    return this.#closed;
  }

  /** The started threads' workers (for tests: they kill one to exercise the failure path). */
  get workers(): Worker[] {
    return this.#threads.filter((t): t is Thread => t !== undefined && !t.dead).map((t) => t.worker);
  }

  /** Posts the request `make(id)` to `thread` and resolves with its reply. */
  #call(thread: Thread, make: (id: number) => OpenRequest, transfer: ArrayBuffer[] = []): Promise<OpenReply> {
    if (thread.dead) return Promise.reject(new OpenPoolUnavailableError('a GET decrypt thread stopped'));
    if (this.#closed !== undefined) return Promise.reject(new OpenPoolUnavailableError('the GET decrypt threads are closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#post(thread, make(id), transfer);
      thread.jobs.set(id, { resolve, reject });
      if (thread.jobs.size === 1) thread.worker.ref();
    });
  }

  /** Posts without a reply; throws OpenPoolUnavailableError when the thread is dead, DataCloneError before sending. */
  #post(thread: Thread, m: OpenRequest, transfer: ArrayBuffer[]): void {
    if (thread.dead) throw new OpenPoolUnavailableError('a GET decrypt thread stopped');
    thread.worker.postMessage(m, transfer);
  }

  /** The least busy live thread, starting one where a slot is empty or its thread died. */
  #pick(): Thread {
    let best: Thread | undefined;
    for (let i = 0; i < this.#size; i++) {
      let t = this.#threads[i];
      if (t === undefined || t.dead) this.#threads[i] = t = startThread();
      if (best === undefined || t.jobs.size < best.jobs.size) best = t;
    }
    return best!;
  }
}

function startThread(): Thread {
  const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { entry: ENTRY, tsxApi: TSX_API } });
  // Not events.once: it would reject on the 'error' a crashing thread emits first, unawaited.
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const thread: Thread = { worker, jobs: new Map(), exited, dead: false };
  worker.on('message', (r: OpenReply) => settle(thread, r));
  worker.on('error', () => fail(thread));
  worker.on('exit', () => fail(thread));
  // Idle, it never keeps the process alive; with work posted it does (ref in call()).
  worker.unref();
  return thread;
}

function settle(thread: Thread, r: OpenReply): void {
  const job = thread.jobs.get(r.id);
  thread.jobs.delete(r.id);
  if (thread.jobs.size === 0) thread.worker.unref();
  job?.resolve(r);
}

function fail(thread: Thread): void {
  // Its keys died with it; the streams on it cannot go on (their next chunks reject).
  thread.dead = true;
  const jobs = [...thread.jobs.values()];
  thread.jobs.clear();
  for (const job of jobs) job.reject(new OpenPoolUnavailableError('a GET decrypt thread stopped'));
}

type Call = (make: (id: number) => OpenRequest, transfer?: ArrayBuffer[]) => Promise<OpenReply>;

class PooledStream implements OpenStream {
  readonly #call: Call;
  readonly #stream: number;
  #closed = false;

  constructor(call: Call, stream: number) {
    this.#call = call;
    this.#stream = stream;
  }

  async decrypt(buffer: Buffer, offset: number, length: number, lead: boolean, last: boolean): Promise<OpenedChunk> {
    const ab = buffer.buffer as ArrayBuffer;
    const at = buffer.byteOffset + offset;
    const stream = this.#stream;
    const r = await this.#call((id) => ({ op: 'chunk', id, stream, buffer: ab, offset: at, length, lead, last }), [ab]);
    // The thread already forgot the key (failed, or finished with the last chunk): no drop needed.
    if ('error' in r || last) this.#closed = true;
    if ('error' in r) throw new DecryptionError();
    if (!('pieces' in r)) throw new OpenPoolUnavailableError('a GET decrypt thread answered out of protocol');
    const pieces: Buffer[] = [];
    for (let i = 0; i < r.pieces.length; i++) pieces.push(Buffer.from(r.pieces[i]!, r.views[2 * i], r.views[2 * i + 1]));
    return { pieces, buffer: Buffer.from(r.buffer, buffer.byteOffset, buffer.length) };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const stream = this.#stream;
    // A dead thread took the key with it; a closed pool's threads zero every key as they end.
    this.#call((id) => ({ op: 'drop', id, stream })).catch(() => undefined);
  }
}

/**
 * The pool a server process uses for large GETs: CIPHERLAKE_GET_THREADS threads (default
 * DEFAULT_OPEN_THREADS), or none when it is 0 (every GET then decrypts on the event loop).
 * Throws for a value that is not a whole number from 0 to 16.
 */
export function openPoolFromEnv(env: NodeJS.ProcessEnv = process.env): SegmentOpenPool | undefined {
  const raw = env['CIPHERLAKE_GET_THREADS'];
  const threads = raw === undefined || raw === '' ? DEFAULT_OPEN_THREADS : Number(raw);
  if (!Number.isInteger(threads) || threads < 0 || threads > 16) throw new Error('CIPHERLAKE_GET_THREADS must be a whole number from 0 to 16');
  return threads === 0 ? undefined : new SegmentOpenPool(threads);
}
