import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './database.js';
import { WAL_CHECKPOINT_WORKER_SOURCE } from './wal-checkpoint-worker-source.js';

/** Tuning of a WalCheckpointer; every field has a default. */
export interface WalCheckpointerOptions {
  /** WAL frames (pages) worth one checkpoint; the worker's pace adapts to it. Default 1000 (SQLite's). */
  readonly thresholdFrames?: number;
  /**
   * The bound: while the worker runs, the connection's own auto-checkpoint is moved to this
   * many frames, so a WAL the worker cannot keep up with is checkpointed on the connection
   * (on the event loop, as before) rather than growing without end. Default 16384 (64 MiB of 4 KiB pages).
   */
  readonly hardLimitFrames?: number;
  /** Worker crashes tolerated (each restarts it at the next commit) before checkpoints stay on the connection. Default 3. */
  readonly maxRestarts?: number;
  /** Where crashes are reported (messages only, no data). */
  readonly warn?: (fields: Record<string, unknown>, message: string) => void;
  /** For tests: the worker's program (see WAL_CHECKPOINT_WORKER_SOURCE for the protocol). */
  readonly workerSource?: string;
}

/** Counters of a WalCheckpointer, for tests and diagnostics. */
export interface WalCheckpointerStats {
  /** Checkpoints the worker completed (bulk and catch-up). */
  readonly checkpoints: number;
  /** Catch-up checkpoints run while group commits waited. */
  readonly catchUps: number;
  /** Worker exits that were not asked for. */
  readonly crashes: number;
  readonly workerRunning: boolean;
}

interface Reply {
  readonly id: number;
  readonly busy?: number;
  readonly log?: number;
  readonly checkpointed?: number;
  readonly error?: string;
}

/** SQLite's default auto-checkpoint, restored whenever no worker runs. */
const SQLITE_DEFAULT_FRAMES = 1000;
const MIN_INTERVAL_MS = 10;
const MAX_INTERVAL_MS = 1000;
/** A catch-up never holds group commits longer than this, even if the worker hangs. */
const CATCH_UP_TIMEOUT_MS = 2000;
const SQLITE_MODULE = createRequire(import.meta.url).resolve('better-sqlite3');
const registry = new WeakMap<SqliteDatabase, WalCheckpointer>();

/**
 * Gives `db` (a WAL database file) a WalCheckpointer, found again with walCheckpointerOf.
 * Starts no thread: the worker starts at the first group commit. Never throws.
 */
export function attachWalCheckpointer(db: SqliteDatabase, options: WalCheckpointerOptions = {}): WalCheckpointer {
  const checkpointer = new WalCheckpointer(db, options);
  registry.set(db, checkpointer);
  return checkpointer;
}

/** The WalCheckpointer attached to `db`, or undefined (memory, non-WAL, or opened elsewhere). */
export function walCheckpointerOf(db: SqliteDatabase): WalCheckpointer | undefined {
  return registry.get(db);
}

/**
 * Checkpoints a WAL database from a worker thread with its own connection, so the
 * checkpoint's copying and its two fsyncs never run on the event loop.
 *
 * Why a catch-up: SQLite restarts the WAL from its start only when a write begins with every
 * frame checkpointed. Under steady writes a concurrent checkpoint always finishes behind the
 * newest commit, so the WAL would only grow. So after a checkpoint that left frames behind,
 * the next group commit waits (asynchronously: the event loop keeps serving) while the
 * worker copies the few frames left, and then writes from the WAL's start again.
 *
 * Durability: PASSIVE checkpoints copy committed frames only, with the WAL synced before and
 * the database after; a group commit acknowledges after its own fdatasync as before. Only
 * PASSIVE is used (never RESTART/TRUNCATE), so the WAL file is reused in place and the
 * group commit's descriptor stays valid. The worker is unref'd: it never keeps a process alive.
 */
export class WalCheckpointer {
  readonly #db: SqliteDatabase;
  readonly #threshold: number;
  readonly #hardLimit: number;
  readonly #maxRestarts: number;
  readonly #warn: (fields: Record<string, unknown>, message: string) => void;
  readonly #source: string;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, (reply: Reply | undefined) => void>();
  #nextId = 1;
  #timer: NodeJS.Timeout | undefined;
  #intervalMs = 100;
  #commits = 0;
  /** Groups committed since the start (a checkpoint that saw this change ended behind). */
  #committed = 0;
  #inFlight = false;
  #catchUpWanted = false;
  #closed = false;
  #checkpoints = 0;
  #catchUps = 0;
  #crashes = 0;

  constructor(db: SqliteDatabase, options: WalCheckpointerOptions = {}) {
    this.#db = db;
    this.#threshold = options.thresholdFrames ?? SQLITE_DEFAULT_FRAMES;
    this.#hardLimit = options.hardLimitFrames ?? 16384;
    this.#maxRestarts = options.maxRestarts ?? 3;
    this.#warn = options.warn ?? (() => undefined);
    this.#source = options.workerSource ?? WAL_CHECKPOINT_WORKER_SOURCE;
  }

  /** Counters so far. */
  stats(): WalCheckpointerStats {
    return { checkpoints: this.#checkpoints, catchUps: this.#catchUps, crashes: this.#crashes, workerRunning: this.#worker !== undefined };
  }

  /**
   * Called by a group commit after each committed group: starts the worker if needed and
   * schedules a checkpoint. Synchronous and cheap; never throws.
   */
  noteCommit(): void {
    if (this.#closed || this.#crashes > this.#maxRestarts) return;
    this.#commits += 1;
    this.#committed += 1;
    if (this.#worker === undefined) this.#spawn();
    this.#timer ??= setTimeout(() => this.#tick(), this.#intervalMs).unref();
  }

  /**
   * Called by a group commit before each group: undefined when it may commit now, else a
   * promise (never rejecting) that resolves once the worker's catch-up checkpoint is done,
   * has failed, or took longer than CATCH_UP_TIMEOUT_MS.
   */
  gate(): Promise<void> | undefined {
    if (!this.#catchUpWanted) return undefined;
    this.#catchUpWanted = false;
    this.#catchUps += 1;
    return this.#checkpoint().then(() => undefined);
  }

  /**
   * Stops the worker after a last PASSIVE checkpoint and closes its connection; the
   * connection's own auto-checkpoint is restored. Resolves once the thread has ended.
   * Idempotent; never rejects.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#stopped();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref(); // until it has closed its connection
    worker.postMessage({ op: 'close' });
    const kill = setTimeout(() => void worker.terminate(), 5000).unref();
    await exited;
    clearTimeout(kill);
  }

  #tick(): void {
    this.#timer = undefined;
    // Closed without closeSqlite: end the thread rather than checkpoint a closed database.
    if (!this.#db.open) return void this.close();
    if (this.#commits === 0) return; // idle: the next commit schedules the next tick
    // A catch-up is due first: a bulk checkpoint queued ahead of it would hold the writes longer.
    if (this.#inFlight || this.#catchUpWanted) {
      this.#timer = setTimeout(() => this.#tick(), this.#intervalMs).unref();
      return;
    }
    this.#commits = 0;
    this.#inFlight = true;
    const committed = this.#committed;
    void this.#checkpoint().then((reply) => {
      this.#inFlight = false;
      if (reply === undefined || reply.log === undefined || reply.checkpointed === undefined) return;
      // Aim at about `threshold` frames per checkpoint: fewer fsyncs when writes are few.
      if (reply.log < this.#threshold / 2) this.#intervalMs = Math.min(this.#intervalMs * 2, MAX_INTERVAL_MS);
      else if (reply.log > this.#threshold) this.#intervalMs = Math.max(this.#intervalMs / 2, MIN_INTERVAL_MS);
      // A group committed meanwhile (perhaps before the worker began: then the catch-up is
      // a cheap no-op): frames newer than the checkpoint may remain, and the WAL cannot
      // restart. busy: another connection (another process's checkpointer) is at it.
      if (reply.busy === 0 && this.#committed !== committed) this.#catchUpWanted = true;
    });
  }

  /** One PASSIVE checkpoint on the worker; undefined if it failed, timed out, or no worker runs. */
  #checkpoint(): Promise<Reply | undefined> {
    const worker = this.#worker;
    if (worker === undefined) return Promise.resolve(undefined);
    const id = this.#nextId++;
    return new Promise<Reply | undefined>((resolve) => {
      const timeout = setTimeout(() => finish(undefined), CATCH_UP_TIMEOUT_MS).unref();
      const finish = (reply: Reply | undefined): void => {
        clearTimeout(timeout);
        this.#pending.delete(id);
        if (this.#pending.size === 0) worker.unref();
        if (reply?.error !== undefined) this.#warn({ error: reply.error }, 'WAL checkpoint failed in the checkpoint worker');
        if (reply !== undefined && reply.error === undefined) this.#checkpoints += 1;
        resolve(reply?.error === undefined ? reply : undefined);
      };
      this.#pending.set(id, finish);
      // Referenced while a request is out: a write waiting on a catch-up keeps its process alive.
      worker.ref();
      worker.postMessage({ op: 'checkpoint', id });
    });
  }

  #spawn(): void {
    let worker: Worker;
    try {
      worker = new Worker(this.#source, { eval: true, workerData: { path: this.#db.name, sqlite: SQLITE_MODULE } });
    } catch (err) {
      // Counted as a crash: after maxRestarts the connection keeps SQLite's own checkpoints.
      this.#crashes += 1;
      this.#warn({ error: err instanceof Error ? err.message : String(err) }, 'the WAL checkpoint worker could not start');
      return;
    }
    worker.unref();
    worker.on('message', (reply: Reply) => this.#pending.get(reply.id)?.(reply));
    worker.on('error', (err: Error) => this.#warn({ error: err.message }, 'the WAL checkpoint worker failed'));
    worker.on('exit', (code: number) => this.#exited(worker, code));
    this.#worker = worker;
    // From now on the worker checkpoints; the connection only past the hard limit.
    this.#db.pragma(`wal_autocheckpoint = ${this.#hardLimit}`);
  }

  #exited(worker: Worker, code: number): void {
    if (this.#worker !== worker) return; // asked to stop
    this.#stopped();
    this.#crashes += 1;
    const fallback = this.#crashes > this.#maxRestarts;
    this.#warn({ code, crashes: this.#crashes }, fallback ? 'the WAL checkpoint worker stopped; checkpoints stay on the connection' : 'the WAL checkpoint worker stopped; it restarts at the next commit');
  }

  /** Forgets the worker: waiters resume, and the connection checkpoints itself again. */
  #stopped(): void {
    this.#worker = undefined;
    this.#inFlight = false;
    this.#catchUpWanted = false;
    for (const finish of [...this.#pending.values()]) finish(undefined);
    if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_FRAMES}`);
  }
}
