import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { CipherlakeError } from '../../common/errors.js';

/** The lock file every server holds in its data directory. */
export const DATA_DIR_LOCK_FILE = 'server.lock';

/**
 * Another server (a single process or a cluster primary, in this or another process) holds
 * this data directory. Two servers on one directory would each treat the other's audit
 * journal as a dead process's and chain and remove it under it, and would sweep each other's
 * in-flight object bodies: the second one refuses to start instead.
 */
export class DataDirInUseError extends CipherlakeError {
  readonly userError = true;
  readonly dataDir: string;

  constructor(dataDir: string, cause: unknown) {
    super(`data directory ${dataDir} is in use by another Cipherlake server (${DATA_DIR_LOCK_FILE} is locked)`, { cause });
    this.dataDir = dataDir;
  }
}

/** A held data-directory lock; `release` is idempotent. */
export interface DataDirLock {
  release(): void;
}

/**
 * How long a start waits for the lock before it says "in use". A server holds the lock for its
 * whole life, so a start that finds it held fails after this wait either way; the wait is for
 * the offline audit commands' probe (dataDirInUse), which reads the file for microseconds: a
 * start landing inside that read must not fail as if a server ran.
 */
export const LOCK_WAIT_MS = 1_000;

/**
 * Takes `DATA_DIR/server.lock` for as long as the returned lock is held: an SQLite database
 * in exclusive locking mode, written once, so its connection keeps the file's POSIX lock until
 * it closes — released by `release()`, or by the OS when the process dies however it dies
 * (kill -9 included), so a crash never leaves a stale lock behind. The directory must exist.
 * Raises DataDirInUseError when another connection still holds it after LOCK_WAIT_MS, in this
 * process or another; other SQLite errors (unwritable directory) as better-sqlite3 raises them.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const db: SqliteDatabase = new Database(join(dataDir, DATA_DIR_LOCK_FILE));
  try {
    db.pragma(`busy_timeout = ${LOCK_WAIT_MS}`);
    db.pragma('locking_mode = EXCLUSIVE');
    // No rollback journal on disk: exclusive mode would keep a server.lock-journal beside it.
    db.pragma('journal_mode = MEMORY');
    // The first write takes the EXCLUSIVE lock, which exclusive locking mode keeps after COMMIT.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder; COMMIT');
    db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
  } catch (error) {
    db.close();
    if (isBusy(error)) throw new DataDirInUseError(dataDir, error);
    throw error;
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}
