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
  /**
   * This connection's process is the only one that writes the database while it is open (a
   * server serving alone, holding the data directory's lock: no cluster worker or primary
   * shares it, and offline commands open it read-only). Its PublishedCounts then answer from
   * what this process published instead of reading their files back (see PublishedCount).
   */
  readonly soleWriter?: boolean;
}

/** Connections opened with `soleWriter` (see OpenSqliteOptions). */
const soleWriters = new WeakSet<SqliteDatabase>();

/** Whether `db` was opened with `soleWriter`: no other process writes its database. */
export function isSoleWriter(db: SqliteDatabase): boolean {
  return soleWriters.has(db);
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
  if (options.soleWriter === true) soleWriters.add(db);
  return db;
}

/** What closeSqlite closes with each connection (see closeWithSqlite). */
const companions = new WeakMap<SqliteDatabase, Set<() => void>>();

/**
 * Has closeSqlite run `close` when it closes `db` (before the connection itself): for what a
 * store opens beside the database for the connection's life (a published change count's
 * file, the WAL descriptor a group commit syncs), which a store without a close of its own
 * would otherwise leak at every in-process server stop. Returns a function that unregisters
 * it (for a companion closed earlier). `close` must not throw.
 */
export function closeWithSqlite(db: SqliteDatabase, close: () => void): () => void {
  let set = companions.get(db);
  if (set === undefined) companions.set(db, (set = new Set()));
  set.add(close);
  return () => {
    set.delete(close);
  };
}

/**
 * Stops the database's WAL checkpoint worker (after its last checkpoint), closes what was
 * registered with closeWithSqlite, then the connection. Resolves once all are done; raises
 * only what `db.close()` raises.
 */
export async function closeSqlite(db: SqliteDatabase): Promise<void> {
  await walCheckpointerOf(db)?.close();
  const closers = companions.get(db);
  companions.delete(db);
  for (const close of closers ?? []) close();
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
