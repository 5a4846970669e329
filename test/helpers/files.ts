import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Every regular file under `dir`, at any depth, as full paths (directories are walked,
 * symlinks and other special entries skipped). Throws when `dir` cannot be read.
 */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/**
 * Where a server with data directory `dataDir` keeps the body file of `storageId` (the
 * FsObjectBackend layout: objects/data/<first two characters>/<storage id>). Only joins the
 * path: never checks that the file is there.
 */
export function bodyFile(dataDir: string, storageId: string): string {
  return join(dataDir, 'objects', 'data', storageId.slice(0, 2), storageId);
}

/**
 * An SQLite store's files in `dir` (`name`, its -wal and -shm): every name, and the bytes of
 * all but the shm (a rebuildable index a reader may refresh) — the evidence a read-only
 * command must leave as found.
 */
export function storeFiles(dir: string, name: string): Map<string, Buffer | null> {
  return new Map(
    readdirSync(dir)
      .filter((f) => f.startsWith(name))
      .sort()
      .map((f) => [f, f.endsWith('-shm') ? null : readFileSync(join(dir, f))]),
  );
}

/**
 * The body files under `dataDir`'s objects/ that no metadata row names (an object's or a
 * multipart part's storage id), as storage ids: what a write that failed, or one still in
 * flight, left there. FsObjectBackend writes a body in place, under its final name, before its
 * row commits, so a body not cleaned up shows here (also a legacy objects/tmp/ leftover). Reads
 * metadata.db on a read-only connection of its own (fine beside a running server: WAL).
 */
export function unreferencedBodies(dataDir: string): string[] {
  const objects = join(dataDir, 'objects');
  const files = existsSync(objects) ? filesUnder(objects) : [];
  if (files.length === 0) return [];
  const db = new Database(join(dataDir, 'metadata.db'), { readonly: true });
  try {
    const inObjects = db.prepare('SELECT 1 FROM s3_objects WHERE storage_id = ?');
    const inParts = db.prepare('SELECT 1 FROM s3_upload_parts WHERE storage_id = ?');
    return files.map((f) => basename(f)).filter((id) => inObjects.get(id) === undefined && inParts.get(id) === undefined);
  } finally {
    db.close();
  }
}
