import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
