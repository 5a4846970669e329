import { closeSync, constants, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { closeWithSqlite, isSoleWriter, type SqliteDatabase } from './database.js';

/**
 * A change count kept in a database table (incremented by triggers, in the writing
 * transaction) and published in a small file beside the database, so that a process can tell
 * whether the table changed with one 8-byte pread instead of a read transaction (which takes
 * and drops the WAL read lock: two fcntl calls and SQLite's per-statement work).
 *
 * The protocol, for readers in any process sharing the database file:
 * - a writer writes through `write`, which runs the change in an IMMEDIATE transaction and,
 *   before COMMIT, while it holds the write lock, writes the count the change reached into the
 *   file; writers are serialized by that lock, so the file's values only grow, except that a
 *   failed commit (or a process dying before it) can leave a value the table never reached
 *   (then the next write reaches it, or `repair` at the next open puts the table's back);
 * - a reader (`current`) reads the file; a value it has already seen the table reach is
 *   returned as it is; another value is returned only once the table has reached it (read in
 *   a transaction), else NaN: "changing now", which equals nothing, so nothing read meanwhile
 *   is kept by a cache keyed on the count.
 *
 * So a caller that reads `current()` before reading rows, and keeps them under that value,
 * never keeps rows older than a write that was answered before its read: such a write put a
 * larger value in the file before it committed, and no later value can equal one the table had
 * already reached before it. Never logs; raises what node:fs and better-sqlite3 raise.
 *
 * That holds while every process has the same file open. When the path stops naming the file
 * a process holds (deleted, or replaced by a rename), processes could split: one keeps the old
 * file, another (a worker started since) opens a new one, and neither sees the other's writes.
 * So every move happens under the write lock, to the file the path names (created if missing),
 * with the table's count published there and MOVED left in the old file:
 * - a writer looks at the path (one stat) before each publish, and moves if it must: its
 *   write lands where the path points, and every process still on the old file moves at its
 *   next read, which finds MOVED (exact: a write is seen on the next request, as before); a
 *   write that cannot move (the open failed) fails, rolled back;
 * - a reader looks at the path every `lookEveryMs` (default 100 ms: at its first read after
 *   an unref'd interval timer flipped a flag) and moves if it must: this covers a process that
 *   opened the path anew (creating the file) while others still held the deleted one, which no
 *   write of theirs can reach. Its writes may be missed by those others for up to that long
 *   after the deletion: a stat per read would cost about as much as the read itself (~3 µs
 *   measured here), on every request.
 * A move waits for the write lock as a write does (busy_timeout). A reader that must move but
 * cannot now (inside a transaction, which may not hold the lock, or the move failed) answers
 * NaN: it keeps nothing until it has moved.
 *
 * On a connection opened with `soleWriter` (openSqlite: a server serving alone, under the data
 * directory's lock) no other process writes the file, so the file holds exactly what this
 * count last wrote there: `current` answers from that copy in memory, by the same rules,
 * instead of reading it back (one pread per check, 5% of a small S3 PUT's main thread). The
 * file is still written, and the path never looked at by a read: no other process can move it.
 */
export class PublishedCount {
  readonly #db: SqliteDatabase;
  readonly #count: () => number;
  /** -1 once closed: then nothing is read or published (a reused descriptor must never be written). */
  #fd: number;
  readonly #buf = Buffer.alloc(8);
  /** The last file value the table was seen to have reached. */
  #settled = NaN;
  /** `soleWriter`: what this count last wrote into the file (NaN before the first write), read instead of the file. */
  #written = NaN;
  readonly #soleWriter: boolean;
  /** Whether the write under way has published (then a failed commit needs a repair). */
  #published = false;
  /** Unregisters this count from closeSqlite (done by close). */
  readonly #unregister: () => void;
  readonly #path: string;
  /** The open file's identity, to tell whether the path still names it. */
  #dev = 0;
  #ino = 0;
  readonly #lookEveryMs: number;
  /** Whether the next read looks at whether the path still names the open file (set every lookEveryMs by #lookTimer). */
  #lookDue = true;
  /** A flag's flip, not a clock read per read: Date.now() cost ~400 instructions per read (callgrind). */
  readonly #lookTimer: NodeJS.Timeout | undefined;

  /**
   * `countSql` selects the count (one row, one integer); `path` is the file that publishes it;
   * `lookEveryMs`: how often a read checks that the path still names the open file (see the class comment).
   */
  constructor(db: SqliteDatabase, countSql: string, path: string, options: { readonly lookEveryMs?: number } = {}) {
    this.#db = db;
    const stmt = db.prepare<[], number>(countSql).pluck();
    this.#count = () => stmt.get() ?? 0;
    this.#path = path;
    this.#soleWriter = isSoleWriter(db);
    this.#lookEveryMs = options.lookEveryMs ?? LOOK_EVERY_MS;
    this.#fd = this.#open();
    if (this.#lookEveryMs > 0) {
      this.#lookTimer = setInterval(() => {
        this.#lookDue = true;
      }, this.#lookEveryMs);
      this.#lookTimer.unref();
    }
    // Closed with the connection (closeSqlite) if not before: stores that hold one have no close of their own.
    this.#unregister = closeWithSqlite(db, () => this.close());
    try {
      this.repair();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * The published count the table has reached, or NaN while a write is being committed (or the
   * file is unreadable, or the path no longer names it and this count could not move yet).
   */
  current(): number {
    if (this.#fd < 0) return NaN;
    if (this.#soleWriter) {
      const written = this.#written;
      if (written === this.#settled) return written;
      // NaN (a write that did not land) equals no count: answered without asking the table.
      return Number.isNaN(written) ? NaN : this.#unsettled(written);
    }
    if (this.#lookDue) {
      if (!this.#onPath() && !this.#move()) return NaN;
      this.#lookDue = this.#lookEveryMs === 0;
    }
    const value = readSync(this.#fd, this.#buf, 0, 8, 0) === 8 ? this.#buf.readDoubleLE(0) : NaN;
    if (value === this.#settled) return value;
    return this.#unsettled(value);
  }

  /** current() for a value not seen settled: a writer's count, or MOVED. */
  #unsettled(read: number): number {
    let value = read;
    if (value === MOVED) {
      // A writer moved to the file the path names now: follow it before answering.
      if (!this.#move()) return NaN;
      value = this.#read();
      if (value === this.#settled) return value;
      // MOVED again: another move came between ours and this read (two in a moment). Counts are
      // never negative: nothing is settled on it, and the next read follows the new move.
      if (!(value >= 0)) return NaN;
    }
    if (!(this.#count() >= value)) return NaN;
    this.#settled = value;
    return value;
  }

  #read(): number {
    if (this.#soleWriter) return this.#written;
    return readSync(this.#fd, this.#buf, 0, 8, 0) === 8 ? this.#buf.readDoubleLE(0) : NaN;
  }

  /**
   * Runs `change` in an IMMEDIATE transaction and publishes the count it reached before COMMIT.
   * Inside a transaction already (a write nested in another), runs `change` in it and
   * publishes at once: still before that transaction's COMMIT, with the write lock held.
   */
  write<T>(change: () => T): T {
    if (this.#db.inTransaction) return this.#counted(change);
    this.#published = false;
    try {
      return this.#db.transaction(() => this.#counted(change)).immediate();
    } catch (err) {
      // The commit failed after this write published: the file may be ahead of the table. A
      // repair that fails too leaves it so, which only stops caching until the next write. A
      // write that published nothing (BEGIN found the database busy, the change raised) left
      // the file as it was: no repair, which would wait for the write lock once more.
      if (this.#published) {
        try {
          this.repair();
        } catch {
          // the error to report is the write's
        }
      }
      throw err;
    }
  }

  /** Publishes the table's count, under the write lock (no write is half done meanwhile). */
  repair(): void {
    this.#db.transaction(() => this.#publish(this.#count())).immediate();
  }

  /**
   * Closes the file; afterwards `current` is NaN and writes publish nothing. Idempotent;
   * closeSqlite does it for every count of the connection it closes.
   */
  close(): void {
    if (this.#fd < 0) return;
    this.#unregister();
    clearInterval(this.#lookTimer);
    closeSync(this.#fd);
    this.#fd = -1;
  }

  /** `change`, then the count it reached published if it moved. */
  #counted<T>(change: () => T): T {
    const before = this.#count();
    const out = change();
    const after = this.#count();
    if (after !== before) this.#publish(after);
    return out;
  }

  /**
   * Publishes `count`, under the write lock, in the file the path names (moving there first if
   * it must). Raises when it cannot move (the open failed: EMFILE, ...): published in the file
   * it holds, the change would commit where a process that opened the path since never looks.
   */
  #publish(count: number): void {
    if (this.#fd < 0) return;
    this.#published = true;
    if (!this.#onPath()) this.#reopen();
    const out = Buffer.alloc(8);
    out.writeDoubleLE(count, 0);
    // Unknown until the write is known to have landed whole: a failed or short one leaves the
    // file's bytes unknown, which equal no count (as a reader of the file would find them torn).
    this.#written = NaN;
    if (writeSync(this.#fd, out, 0, 8, 0) === 8) this.#written = count;
  }

  /** Whether the path names the open file (a stat). An error other than a missing path counts as yes: nothing better to move to. */
  #onPath(): boolean {
    try {
      const st = statSync(this.#path, { throwIfNoEntry: false });
      return st !== undefined && st.ino === this.#ino && st.dev === this.#dev;
    } catch {
      return true;
    }
  }

  /**
   * Moves to the file the path names (a repair: the table's count published there, under the
   * write lock) unless inside a transaction (which may not hold the lock). Returns whether
   * this count reads the path's file now.
   */
  #move(): boolean {
    if (this.#db.inTransaction) return false;
    try {
      this.repair();
    } catch {
      return false;
    }
    return this.#onPath();
  }

  /**
   * Under the write lock: opens the path's file (creating it), leaves MOVED in the old one for
   * the processes still reading it, and closes the old one. Raises what the open raises,
   * staying on the old file (a later publish or look tries again).
   */
  #reopen(): void {
    const fd = this.#open();
    const old = this.#fd;
    this.#fd = fd;
    this.#settled = NaN;
    try {
      writeSync(old, MOVED_BYTES, 0, 8, 0);
    } finally {
      closeSync(old);
    }
  }

  /** Opens (creating) the path's file and notes its identity. */
  #open(): number {
    const fd = openSync(this.#path, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      const st = fstatSync(fd);
      this.#dev = st.dev;
      this.#ino = st.ino;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }
}

/** How often a read looks at whether the path still names the open file, by default (see PublishedCount). */
const LOOK_EVERY_MS = 100;

/** What a count that moved leaves in the file it left: no count is negative. */
const MOVED = -1;
const MOVED_BYTES = Buffer.alloc(8);
MOVED_BYTES.writeDoubleLE(MOVED, 0);
