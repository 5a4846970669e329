import type { Dirent } from 'node:fs';
import { opendir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Of `storageIds`, those that no metadata row references (no object, no multipart part).
 * Synchronous: one prepared point lookup per id (SqliteS3MetadataStore.unreferencedStorageIds).
 */
export type UnreferencedFilter = (storageIds: readonly string[]) => string[];

/** What a sweep did. */
export interface OrphanSweepResult {
  /** Body files looked at. */
  readonly scanned: number;
  /** Unreferenced body files removed. */
  readonly removed: number;
}

/** Body files checked per batch: one batch of lookups, then the event loop runs again. */
const BATCH = 512;

/** The shape of a storage id (a UUID): anything else under data/ is not ours to remove. */
const STORAGE_ID = /^[0-9a-f-]{36}$/;

/**
 * Removes the body files under `root/data/<xx>/` (FsObjectBackend's layout) that no
 * metadata row references: a body renamed into place (FsObjectBackend's commit) just
 * before a crash whose row never committed. Streams the directories (memory stays one
 * batch), checks each batch with `unreferenced`, and yields to the event loop between batches. Removes only files whose
 * status last changed (its last write, or the rename into place) before `startedBefore` (ms since the epoch):
 * a body of a PUT that started after that may still be waiting for its row to commit, so
 * the sweep can keep running in the background once the server serves. Call it only where
 * no other process writes bodies older than `startedBefore` (a single server, or the
 * primary before it forks its workers). Never touches names that are not storage ids, nor
 * anything outside `root/data`. Raises the file system's errors (a file already gone is skipped).
 */
export async function sweepOrphanBodies(root: string, unreferenced: UnreferencedFilter, startedBefore: number): Promise<OrphanSweepResult> {
  let scanned = 0;
  let removed = 0;
  const data = join(root, 'data');
  const top = await openDir(data);
  if (top === undefined) return { scanned, removed };
  for await (const fanOut of top) {
    if (!fanOut.isDirectory()) continue;
    const dir = join(data, fanOut.name);
    let batch: string[] = [];
    const flush = async (): Promise<void> => {
      scanned += batch.length;
      removed += await removeOrphans(dir, unreferenced(batch), startedBefore);
      batch = [];
      await new Promise<void>((resolve) => setImmediate(resolve));
    };
    const files = await openDir(dir);
    if (files === undefined) continue;
    for await (const f of files) {
      if (!f.isFile() || !STORAGE_ID.test(f.name)) continue;
      batch.push(f.name);
      if (batch.length >= BATCH) await flush();
    }
    if (batch.length > 0) await flush();
  }
  return { scanned, removed };
}

/** Unlinks the given files of `dir` that changed before `startedBefore`; returns how many went. */
async function removeOrphans(dir: string, orphans: readonly string[], startedBefore: number): Promise<number> {
  let removed = 0;
  for (const name of orphans) {
    const path = join(dir, name);
    try {
      if ((await stat(path)).ctimeMs >= startedBefore) continue;
      await unlink(path);
      removed += 1;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}

async function openDir(path: string): Promise<AsyncIterable<Dirent> | undefined> {
  try {
    return await opendir(path, { bufferSize: 256 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
