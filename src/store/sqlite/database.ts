import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** A better-sqlite3 database handle, shared by the SQLite stores of one process. */
export type SqliteDatabase = Database.Database;

/**
 * Opens (creating if needed) the metadata database at `path` with WAL and synchronous=FULL:
 * a committed transaction survives a crash of the process or the machine.
 */
export function openSqlite(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
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
