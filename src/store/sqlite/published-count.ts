import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { closeWithSqlite, type SqliteDatabase } from './database.js';

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
 */
export class PublishedCount {
  readonly #db: SqliteDatabase;
  readonly #count: () => number;
  /** -1 once closed: then nothing is read or published (a reused descriptor must never be written). */
  #fd: number;
  readonly #buf = Buffer.alloc(8);
  /** The last file value the table was seen to have reached. */
  #settled = NaN;
  /** Whether the write under way has published (then a failed commit needs a repair). */
  #published = false;
  /** Unregisters this count from closeSqlite (done by close). */
  readonly #unregister: () => void;

  /** `countSql` selects the count (one row, one integer); `path` is the file that publishes it. */
  constructor(db: SqliteDatabase, countSql: string, path: string) {
    this.#db = db;
    const stmt = db.prepare<[], number>(countSql).pluck();
    this.#count = () => stmt.get() ?? 0;
    this.#fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    // Closed with the connection (closeSqlite) if not before: stores that hold one have no close of their own.
    this.#unregister = closeWithSqlite(db, () => this.close());
    try {
      this.repair();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The published count the table has reached, or NaN while a write is being committed (or the file is unreadable). */
  current(): number {
    const value = this.#fd >= 0 && readSync(this.#fd, this.#buf, 0, 8, 0) === 8 ? this.#buf.readDoubleLE(0) : NaN;
    if (value === this.#settled) return value;
    if (!(this.#count() >= value)) return NaN;
    this.#settled = value;
    return value;
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

  #publish(count: number): void {
    if (this.#fd < 0) return;
    this.#published = true;
    const out = Buffer.alloc(8);
    out.writeDoubleLE(count, 0);
    writeSync(this.#fd, out, 0, 8, 0);
  }
}
