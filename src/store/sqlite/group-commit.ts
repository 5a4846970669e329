import { appendFileSync, closeSync, fdatasync, open } from 'node:fs';
import { CipherlakeError } from '../../common/errors.js';
import { closeWithSqlite, type SqliteDatabase } from './database.js';
import { walCheckpointerOf, type WalCheckpointer } from './wal-checkpointer.js';

/**
 * A write refused because an fdatasync of the database's WAL failed earlier in this
 * process's life: the store takes no more writes until it is reopened (a restart). Why
 * fail-stop: a writeback error is reported to one fdatasync only, and SQLite's recovery
 * stops at the first WAL frame whose checksum does not follow, so a frame lost to that
 * error would take every later commit with it on a crash or power loss — even commits
 * whose own fdatasync succeeded. Reopening lets SQLite recover the WAL as it stands (as
 * PostgreSQL restarts after a failed fsync). `cause` is the sync's error. Not the caller's fault.
 */
export class StoreSyncFailedError extends CipherlakeError {
  readonly userError = false;
  constructor(cause: unknown) {
    super('a write to this store could not be made durable (fdatasync of its WAL failed); it takes no more writes until restarted', { cause });
  }
}

interface Waiter {
  readonly work: () => unknown;
  /** Runs without a savepoint of its own (see run's `singleStatement`). */
  readonly singleStatement: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/**
 * Marks the error of a WAL fdatasync that failed after its group committed with
 * `committedUnsynced: true`: the rejected writes' rows are visible now and may or may not
 * survive a crash, so their callers must not undo what those rows reference (e.g. delete
 * the body an object row points to). A property, not a class: the S3 layer checks it
 * without importing the store.
 */
function markCommittedUnsynced(err: unknown): unknown {
  if (typeof err === 'object' && err !== null && Object.isExtensible(err)) (err as { committedUnsynced?: boolean }).committedUnsynced = true;
  return err;
}

/** One group's WAL fdatasync in flight; `failed` is set when another one in flight beside it failed. */
interface InFlightSync {
  failed: { err: unknown } | undefined;
}

/**
 * CIPHERLAKE_TRACE_PHASES=<file>, read once at startup (as write-object.ts does): each group
 * appends one JSON line (`group: true`, its size, and ms spent waiting for a checkpoint
 * catch-up, in the transaction and in the WAL's fdatasync). Unset, a group pays one comparison.
 */
const TRACE_PHASES_FILE = process.env.CIPHERLAKE_TRACE_PHASES === '' ? undefined : process.env.CIPHERLAKE_TRACE_PHASES;

function traceGroup(fields: Record<string, number>): void {
  if (TRACE_PHASES_FILE === undefined) return;
  try {
    appendFileSync(TRACE_PHASES_FILE, `${JSON.stringify({ group: true, ...fields })}\n`);
  } catch {
    // Diagnostics only.
  }
}

const msSince = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;

/**
 * Committed groups whose WAL fdatasync may be in flight at once. With one, a write that
 * arrived while a group was syncing waited for that sync and then for its own: two syncs
 * per acknowledgement under steady load. With two, the next group commits at once and
 * syncs beside the previous one; more would only add syncs of the same file (each holds a
 * thread-pool thread) without shortening the wait.
 */
const MAX_SYNCS_IN_FLIGHT = 2;

/** Between two tries of a group's BEGIN while another connection holds the write lock (SQLite's busy handler starts at 1 ms too). */
const BUSY_RETRY_MS = 1;

/**
 * Group commit on a better-sqlite3 connection: writes queued while the previous group was
 * being made durable are committed together in one transaction, and one fsync of the WAL
 * acknowledges them all. Each write runs in its own savepoint (or, for a write of one
 * statement, that statement's own atomicity: see run), so one that raises rolls back alone
 * and rejects alone; the others still commit.
 *
 * Why not synchronous=FULL for these commits: better-sqlite3 is synchronous, so a FULL
 * commit holds the event loop for the whole WAL fsync (about 3 ms here, once per PUT).
 * Instead a group's transaction commits with synchronous=NORMAL — in WAL mode that writes
 * the frames to the WAL without syncing — and then `fdatasync` of the WAL file runs on the
 * libuv thread pool. Nothing resolves before that fdatasync, which started after the
 * commit returned, has completed: the frames of every acknowledged write are on stable
 * storage, exactly what FULL would have guaranteed (a checkpoint in NORMAL mode also syncs
 * the WAL before copying it and the database after). A crash before the fdatasync loses
 * only unacknowledged writes. Meanwhile the loop keeps serving requests, and the next group
 * forms and commits, its own fdatasync beside this one (at most MAX_SYNCS_IN_FLIGHT). Other statements on the connection keep its own setting (FULL); a memory or
 * non-WAL database commits the group with that setting and skips the extra fsync.
 *
 * Checkpoints: when the database has a WalCheckpointer (openSqlite), each committed group
 * tells it, and a group waits before committing while it asks for a catch-up checkpoint
 * (see WalCheckpointer): the WAL's copying and syncing stay off the event loop.
 *
 * Lock waits off the loop: with several processes on one database (server --workers), the
 * group's BEGIN IMMEDIATE often finds another process's group holding the write lock for a
 * few hundred microseconds. SQLite's busy handler would then sleep in usleep — on the event
 * loop, for 1, 2, 5... ms. So a file database's BEGIN runs with busy_timeout 0, and a group
 * that finds the lock taken is retried on a timer (the loop keeps serving; writes that arrive
 * meanwhile join the group) until the connection's own busy_timeout has passed, after which
 * the group fails with SQLite's SQLITE_BUSY as before. Only BEGIN is retried: nothing of the
 * group has run then. Statements and COMMIT inside the transaction keep the connection's timeout.
 */
export class SqliteGroupCommit {
  readonly #db: SqliteDatabase;
  readonly #walPath: string | undefined;
  /** The connection's own synchronous level, restored after each group. */
  readonly #level: number;
  /** The WAL, opened once: SQLite keeps the file (restarting it in place) while a connection is open. */
  #walFd: Promise<number> | undefined;
  readonly #checkpointer: WalCheckpointer | undefined;
  #queue: Waiter[] = [];
  /** A group is being committed, or waits for a checkpoint catch-up or for the write lock. */
  #busy = false;
  /** Committed groups whose WAL fdatasync has not completed yet (at most MAX_SYNCS_IN_FLIGHT). */
  #syncing = 0;
  /**
   * Those groups' syncs. They share one descriptor, and Linux reports a writeback error to
   * one fdatasync only: when one fails, every other still in flight fails with it (its
   * success could hide the loss of its own frames).
   */
  readonly #inFlight = new Set<InFlightSync>();
  /** The connection's busy_timeout (ms): how long a group may wait for the write lock; 0 for a memory database (no off-loop waits). */
  readonly #busyTimeoutMs: number;
  /** Set once an fdatasync of the WAL failed: every later write is refused with it (see StoreSyncFailedError). */
  #stopped: StoreSyncFailedError | undefined;
  /** When the current group first found the write lock taken (Date.now()), or undefined. */
  #busySince: number | undefined;
  /** Built once, not per group: better-sqlite3 makes four wrapper functions per `transaction` call. */
  readonly #groupTx: (group: readonly Waiter[], outcomes: Outcome[]) => void;
  /** Whether the connection's busy_timeout is in force again (set inside the group's transaction, so BEGIN failed when it is not). */
  #timeoutRestored = true;
  /**
   * The pragma statements a group runs, built once: before BEGIN (busy_timeout 0 and/or
   * synchronous NORMAL, '' for neither), and the two that restore the connection's own values.
   */
  readonly #enter: string;
  readonly #restoreTimeout: string;
  readonly #restoreLevel: string;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    const wal = !db.memory && String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    this.#level = Number(db.pragma('synchronous', { simple: true }));
    // Only when the connection asks for durable commits (FULL = 2, EXTRA = 3) do we owe an fsync.
    this.#walPath = wal && this.#level >= 2 ? `${db.name}-wal` : undefined;
    this.#checkpointer = wal ? walCheckpointerOf(db) : undefined;
    // The WAL descriptor goes with the connection (closeSqlite), not at every in-process server stop left open.
    if (this.#walPath !== undefined) closeWithSqlite(db, () => this.#closeWal());
    this.#busyTimeoutMs = db.memory ? 0 : Number(db.pragma('busy_timeout', { simple: true }));
    const enter = [...(this.#busyTimeoutMs > 0 ? ['PRAGMA busy_timeout = 0'] : []), ...(this.#walPath !== undefined ? ['PRAGMA synchronous = NORMAL'] : [])];
    this.#enter = enter.join('; ');
    this.#restoreTimeout = `PRAGMA busy_timeout = ${this.#busyTimeoutMs}`;
    this.#restoreLevel = `PRAGMA synchronous = ${this.#level}`;
    const one = db.transaction((w: Waiter) => w.work());
    this.#groupTx = db.transaction((group: readonly Waiter[], outcomes: Outcome[]) => {
      // BEGIN IMMEDIATE has the write lock: the statements wait as the connection says.
      if (this.#busyTimeoutMs > 0) {
        db.exec(this.#restoreTimeout);
        this.#timeoutRestored = true;
      }
      for (const w of group) {
        try {
          outcomes.push({ ok: true, value: w.singleStatement ? w.work() : one(w) });
        } catch (err) {
          outcomes.push({ ok: false, err });
        }
      }
    }).immediate;
  }

  /**
   * Runs `work` (synchronous statements on this connection) inside the next group's
   * transaction. Resolves with its result once the group's commit is durable; rejects with
   * what `work` raised (its changes rolled back, the group unaffected), or with the
   * commit's or the fsync's error for every other write of the group (also the error of
   * another group's fsync that failed while this one's was in flight), marked
   * `committedUnsynced: true` when the write's rows did commit (markCommittedUnsynced).
   * Once a WAL fdatasync has failed, rejects with StoreSyncFailedError without running
   * `work` (also the writes still queued then). Never runs `work` twice.
   *
   * `singleStatement`: the caller's promise that `work` changes the database with at most one
   * statement and raises only before it or from it. Such a write runs without its own
   * savepoint (a SAVEPOINT and a RELEASE per write, about 2 µs): SQLite undoes a failed
   * statement by itself, so what it raises still leaves the group's other writes as they were.
   */
  run<T>(work: () => T, singleStatement = false): Promise<T> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, singleStatement, resolve: resolve as (value: unknown) => void, reject });
      if (this.#queue.length === 1 && !this.#busy) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#stopped !== undefined) {
      const refused = this.#queue;
      this.#queue = [];
      for (const w of refused) w.reject(this.#stopped);
      return;
    }
    if (this.#busy || this.#queue.length === 0 || this.#syncing >= MAX_SYNCS_IN_FLIGHT) return;
    const gate = this.#checkpointer?.gate();
    if (gate !== undefined) {
      // Writes keep queueing while the worker catches up; they form the next group.
      this.#busy = true;
      const gated = TRACE_PHASES_FILE === undefined ? 0n : process.hrtime.bigint();
      void gate.then(() => {
        if (gated !== 0n) traceGroup({ gateMs: msSince(gated) });
        this.#next();
      });
      return;
    }
    const group = this.#queue;
    this.#queue = [];
    this.#busy = true;
    const outcomes: Outcome[] = [];
    const began = TRACE_PHASES_FILE === undefined ? 0n : process.hrtime.bigint();
    let committed = 0n;
    try {
      this.#commit(group, outcomes);
      if (began !== 0n) committed = process.hrtime.bigint();
    } catch (err) {
      if (this.#lockTaken(err, outcomes)) {
        // Nothing of the group ran: it waits, off the loop, at the head of the queue.
        this.#queue = group.concat(this.#queue);
        setTimeout(() => this.#next(), BUSY_RETRY_MS);
        return;
      }
      this.#busySince = undefined;
      for (const w of group) w.reject(err);
      this.#next();
      return;
    }
    this.#busySince = undefined;
    this.#checkpointer?.noteCommit();
    // Each group waits for an fdatasync started after its own commit returned (one started
    // earlier, for the previous group, may miss its frames); the next group may commit meanwhile.
    this.#syncing += 1;
    const sync: InFlightSync = { failed: undefined };
    this.#inFlight.add(sync);
    this.#durable().then(
      () => {
        // Another sync on this descriptor failed while this one ran: the writeback error
        // (reported to one fdatasync only) may have been this group's pages.
        if (sync.failed !== undefined) throw sync.failed.err;
        if (began !== 0n) traceGroup({ size: group.length, commitMs: Number(committed - began) / 1e6, syncMs: msSince(committed) });
        group.forEach((w, i) => settle(w, outcomes[i]));
      },
    ).catch((err: unknown) => {
      for (const other of this.#inFlight) if (other !== sync) other.failed ??= { err };
      markCommittedUnsynced(err);
      // A write that raised was rolled back: its own error. The others committed (their rows
      // are visible) but may not survive a crash: the sync's error, marked as such.
      group.forEach((w, i) => (outcomes[i]?.ok === true ? w.reject(err) : settle(w, outcomes[i])));
    }).finally(() => {
      this.#inFlight.delete(sync);
      this.#syncing -= 1;
      if (!this.#busy && this.#queue.length > 0) setImmediate(() => this.#flush());
    });
    this.#next();
  }

  /**
   * One transaction, one savepoint per write; pushes each write's outcome, in order, onto
   * `outcomes` (none when BEGIN failed: nothing ran). BEGIN
   * IMMEDIATE: with several processes on one database (cluster workers), a deferred
   * transaction whose first statement reads cannot upgrade to a write lock that another
   * process holds or has used since — SQLite answers SQLITE_BUSY at once, without the busy
   * timeout, and every write of the group fails. Taking the write lock up front waits
   * instead (retried off the loop by #flush, within the connection's busy_timeout).
   */
  #commit(group: readonly Waiter[], outcomes: Outcome[]): void {
    const sync = this.#walPath !== undefined;
    // Compiled each time (db.exec), never a statement prepared once: a pragma that sets a
    // value (busy_timeout, synchronous) takes effect when SQLite compiles it, so a prepared
    // one does nothing when run again. exec, not db.pragma(): no statement object and no
    // result rows built for values nobody reads (about 4 µs instead of 16–20 for the four,
    // measured), and the two set before BEGIN go in one call.
    // BEGIN fails at once with SQLITE_BUSY instead of sleeping on the loop (see the class comment).
    if (this.#enter !== '') this.#db.exec(this.#enter);
    if (this.#busyTimeoutMs > 0) this.#timeoutRestored = false;
    try {
      this.#groupTx(group, outcomes);
    } finally {
      if (sync) this.#db.exec(this.#restoreLevel);
      // Already restored inside the transaction unless BEGIN failed.
      if (!this.#timeoutRestored) {
        this.#db.exec(this.#restoreTimeout);
        this.#timeoutRestored = true;
      }
    }
  }

  /**
   * True when `err` is BEGIN IMMEDIATE finding the write lock taken (no write of the group
   * ran: no outcome) and the group has waited less than the busy timeout: then it is retried.
   */
  #lockTaken(err: unknown, outcomes: readonly Outcome[]): boolean {
    if (outcomes.length > 0 || this.#busyTimeoutMs === 0 || (err as { code?: unknown } | null)?.code !== 'SQLITE_BUSY') return false;
    const now = Date.now();
    this.#busySince ??= now;
    return now - this.#busySince < this.#busyTimeoutMs;
  }

  async #durable(): Promise<void> {
    const path = this.#walPath;
    if (path === undefined) return;
    // One descriptor for the connection's life: no open and close per group. A failed open
    // is retried by the next group.
    this.#walFd ??= new Promise<number>((resolve, reject) => open(path, 'r', (err, fd) => (err === null ? resolve(fd) : reject(err))));
    const fd = await this.#walFd.catch((err: unknown) => {
      this.#walFd = undefined;
      throw err;
    });
    await new Promise<void>((resolve, reject) =>
      fdatasync(fd, (err) => {
        if (err === null) return resolve();
        // Fail-stop from now on (an open that failed is not: nothing was synced or lost yet,
        // and the next group's sync covers the frames).
        this.#stopped ??= new StoreSyncFailedError(err);
        reject(err);
      }),
    );
  }

  /** Closes the WAL descriptor once its open settled (a group's sync still in flight fails with EBADF). */
  #closeWal(): void {
    const fd = this.#walFd;
    this.#walFd = undefined;
    void fd?.then(
      (n) => closeSync(n),
      () => undefined,
    );
  }

  #next(): void {
    this.#busy = false;
    if (this.#queue.length > 0) setImmediate(() => this.#flush());
  }
}

function settle(w: Waiter, outcome: Outcome | undefined): void {
  if (outcome?.ok === true) w.resolve(outcome.value);
  else w.reject(outcome?.err);
}
