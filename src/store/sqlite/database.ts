import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { attachWalCheckpointer, walCheckpointerOf, type WalCheckpointerOptions } from './wal-checkpointer.js';

/** A better-sqlite3 database handle, shared by the SQLite stores of one process. */
export type SqliteDatabase = Database.Database;

/** Options of openSqlite. */
export interface OpenSqliteOptions {
  /** Tuning of the WAL checkpoint worker of a database file (see WalCheckpointer). */
  readonly checkpoints?: WalCheckpointerOptions;
}

/**
 * Opens (creating if needed) the metadata database at `path` with WAL and synchronous=FULL:
 * a committed transaction survives a crash of the process or the machine. A database file
 * gets a WalCheckpointer (its worker starts with the first group commit); close it with
 * closeSqlite so the worker stops too. Raises better-sqlite3's errors.
 */
export function openSqlite(path: string, options: OpenSqliteOptions = {}): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  if (!db.memory) attachWalCheckpointer(db, options.checkpoints);
  return db;
}

/**
 * Stops the database's WAL checkpoint worker (after its last checkpoint), then closes the
 * connection. Resolves once both are done; raises only what `db.close()` raises.
 */
export async function closeSqlite(db: SqliteDatabase): Promise<void> {
  await walCheckpointerOf(db)?.close();
  db.close();
}

/** Opaque paging markers: base64url of a position the store understands. */
export function encodeMarker(position: string | number): string {
  return Buffer.from(`m1:${position}`, 'utf8').toString('base64url');
}

/** Decodes a marker from encodeMarker; undefined if it is not one. */
export function decodeMarker(marker: string): string | undefined {
  const text = Buffer.from(marker, 'base64url').toString('utf8');
  return text.startsWith('m1:') ? text.slice(3) : undefined;
}
