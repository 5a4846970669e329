import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, fsync, mkdirSync, open as openCb, read as readCb, readdirSync, rename, rmSync, unlink } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BatchingFileSink } from './batching-file-sink.js';
import type { BodyReader, ObjectBackend, PendingObject, StoredRange } from '../../s3/object-backend.js';

/**
 * Empties `root/tmp` (temporary bodies of writes that never committed) and recreates it.
 * Only for a moment when no write is in flight: at start, before serving or forking.
 */
export function clearObjectTmp(root: string): void {
  const tmp = join(root, 'tmp');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
}

/**
 * ObjectBackend on the local file system, as DESIGN.md's storage section describes: a body
 * is written to `root/tmp/<storageId>` and made durable (one O_DSYNC write for a body of up
 * to ~1 MiB, else batched writes and fdatasync: BatchingFileSink), then committing renames it into
 * place at `root/data/<xx>/<storageId>` and fsyncs that directory (and, once per fan-out
 * directory and process, `data/` itself), so an acknowledged body and its name survive a
 * crash and power loss, and no half-written body is ever under `data/`. Leftovers of writes
 * that never committed are removed when the backend opens (tmp/) and by sweepOrphanBodies
 * (a body renamed into place whose metadata row never committed). Never sees plaintext.
 */
export class FsObjectBackend implements ObjectBackend {
  readonly #tmp: string;
  readonly #data: string;
  readonly #dirSync = new GroupDirSync();
  /**
   * Fan-out directories known to exist (created once, never removed while open), each with
   * the fsync of data/ that started after this process saw it exist: its own name there is
   * durable once that completed (another process may have just made it). Forgotten when it
   * failed, so that the next body in it tries again.
   */
  readonly #dirs = new Map<string, Promise<void>>();

  /**
   * `clearTmp` (default true) removes the leftovers of writes that never committed. Pass
   * false in a cluster worker: its siblings may already have writes in flight there (the
   * primary clears it once, before forking, with clearObjectTmp).
   */
  constructor(root: string, options: { clearTmp?: boolean } = {}) {
    this.#tmp = join(root, 'tmp');
    this.#data = join(root, 'data');
    mkdirSync(this.#data, { recursive: true, mode: 0o700 });
    if (options.clearTmp ?? true) clearObjectTmp(root);
    else mkdirSync(this.#tmp, { recursive: true, mode: 0o700 });
  }

  async create(): Promise<PendingObject> {
    const storageId = newStorageId();
    const tmpPath = join(this.#tmp, storageId);
    const finalDir = join(this.#data, storageId.slice(0, 2));
    const finalPath = join(finalDir, storageId);
    // The sink makes the body durable (an O_DSYNC write, or fdatasync) before it finishes and
    // closes, and a pipeline into it ends only after that — so by commit() the body is durable,
    // with no reopen. It writes a body of up to ~1 MiB in one vectored write, a larger one in
    // ~1 MiB vectored batches (sealed segments arrive as many small pieces).
    const stream = new BatchingFileSink(tmpPath, 0o600);
    /** Set once commit renamed the body into place: an abort after that (a directory fsync failed) removes it there. */
    let renamed = false;
    return {
      storageId,
      stream,
      commit: async () => {
        if (!stream.closed) await new Promise<void>((resolve, reject) => stream.once('close', resolve).once('error', reject));
        if (stream.errored !== null || !stream.writableFinished) throw stream.errored ?? new Error('object body was not finished');
        const parentSynced = this.#fanOutDir(finalDir);
        // The callback API: one thread-pool trip, without fs/promises' FileHandle-era wrappers.
        await new Promise<void>((resolve, reject) => rename(tmpPath, finalPath, (err) => (err === null ? resolve() : reject(err))));
        renamed = true;
        await Promise.all([parentSynced, this.#dirSync.sync(finalDir)]);
      },
      abort: async () => {
        // Removed only once the sink closed: its open (`wx`) may still be in flight, and a
        // file it creates after the rm would be left behind until the next start.
        if (!stream.closed) {
          const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
          stream.destroy();
          await closed;
        }
        // A commit that failed after its rename: the body is in place but no row will name it.
        if (renamed) await rm(finalPath, { force: true });
        // Only a file this sink created: an open that failed (EEXIST) found another's.
        else if (stream.created) await rm(tmpPath, { force: true });
      },
    };
  }

  /** Makes `dir` (a fan-out directory of data/) exist; resolves once its name in data/ is durable. */
  #fanOutDir(dir: string): Promise<void> {
    const known = this.#dirs.get(dir);
    if (known !== undefined) return known;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const made = this.#dirSync.sync(this.#data);
    made.catch(() => {
      if (this.#dirs.get(dir) === made) this.#dirs.delete(dir);
    });
    this.#dirs.set(dir, made);
    return made;
  }

  read(storageId: string, range?: StoredRange): Readable {
    const path = this.#path(storageId);
    // 1 MiB reads: a large GET costs a sixteenth of the thread-pool round trips of the default.
    const options = { highWaterMark: 1024 * 1024 };
    return range === undefined ? createReadStream(path, options) : createReadStream(path, { ...options, start: range.start, end: range.endInclusive });
  }

  readHead(storageId: string, limit: number, into?: Buffer): Promise<Buffer> {
    const path = this.#path(storageId);
    // Callback API: one open, one read, one close, without FileHandle's promise overhead.
    return new Promise((resolve, reject) => {
      openCb(path, 'r', (err, fd) => {
        if (err !== null) return reject(err);
        const buf = into !== undefined && into.length >= limit ? into : Buffer.allocUnsafe(limit);
        // A regular file gives everything in one read; loop anyway until full or at its end.
        const step = (at: number): void =>
          readCb(fd, buf, at, limit - at, at, (readErr, n) => {
            if (readErr === null && n > 0 && at + n < limit) return step(at + n);
            // Synchronous close, as openReader's: a read-only descriptor has nothing to flush.
            closeQuietly(fd);
            if (readErr !== null) reject(readErr);
            else resolve(buf.subarray(0, at + n));
          });
        step(0);
      });
    });
  }

  openReader(storageId: string): Promise<BodyReader> {
    const path = this.#path(storageId);
    // Callback API, as readHead: a large GET makes ~64 reads, each one thread-pool trip.
    return new Promise((resolve, reject) => {
      openCb(path, 'r', (err, fd) => {
        if (err !== null) return reject(err);
        let closed = false;
        resolve({
          read: (buffer, offset, length, position) => readFully(fd, buffer, offset, length, position),
          // Synchronous, as the write sink's: closing a read-only descriptor has nothing to
          // flush, and it saves a thread-pool round trip per GET.
          close: () => {
            if (!closed) {
              closed = true;
              closeQuietly(fd);
            }
            return Promise.resolve();
          },
        });
      });
    });
  }

  delete(storageId: string): Promise<void> {
    // Callback API: one thread-pool trip, without the promise wrapper's extra work. A
    // malformed id rejects (the executor's throw), as before.
    return new Promise((resolve, reject) => unlink(this.#path(storageId), (err) => (err === null || err.code === 'ENOENT' ? resolve() : reject(err))));
  }

  /**
   * Closes the directory descriptors kept for fsyncs (GroupDirSync), once the fsyncs in flight
   * or queued on them settled. For shutdown, after the last write committed or failed; a write
   * after it still works (it opens its directory afresh). Never rejects.
   */
  async close(): Promise<void> {
    await this.#dirSync.close();
  }

  /** Storage ids of every body file under data/: committed ones (bodies being written are under tmp/), for audits and tests. */
  listStorageIds(): string[] {
    return readdirSync(this.#data).flatMap((d) => readdirSync(join(this.#data, d)));
  }

  #path(storageId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(storageId)) throw new Error('malformed storage id');
    return join(this.#data, storageId.slice(0, 2), storageId);
  }
}

/** One directory's fsync group: the fsync in flight, the one queued behind it, the directory's descriptor while either exists. */
interface DirSyncState {
  running: Promise<void> | undefined;
  next: Promise<void> | undefined;
  fd: number | undefined;
}

/**
 * Group commit for directory fsyncs: a caller whose file was created before a directory's
 * next fsync starts is covered by that fsync, so concurrent PUTs into one directory share
 * it instead of queueing one each. A caller never returns before an fsync that started
 * after its call (hence after the file's creation) completed. A directory stays open
 * after its fsync (an open and a close less, two thread-pool trips, per fsync under load)
 * until another directory's first fsync: storage ids pick the directory by the second
 * (newStorageId), so about one is open at a time and it is closed once writes moved on.
 */
class GroupDirSync {
  readonly #dirs = new Map<string, DirSyncState>();

  sync(dir: string): Promise<void> {
    let d = this.#dirs.get(dir);
    if (d === undefined) {
      this.#closeIdle();
      d = { running: undefined, next: undefined, fd: undefined };
      this.#dirs.set(dir, d);
    }
    const state = d;
    if (state.running === undefined) {
      state.running = this.#fsync(dir, state);
      return state.running;
    }
    // One is in flight, but it may have started before the caller's file was created: join the next one.
    state.next ??= state.running.catch(() => undefined).then(() => {
      state.next = undefined;
      state.running = this.#fsync(dir, state);
      return state.running;
    });
    return state.next;
  }

  #fsync(dir: string, state: DirSyncState): Promise<void> {
    const synced = new Promise<void>((resolve, reject) => {
      const run = (fd: number): void => fsync(fd, (err) => (err === null ? resolve() : reject(err)));
      if (state.fd !== undefined) return run(state.fd);
      openCb(dir, 'r', (err, fd) => {
        if (err !== null) return reject(err);
        state.fd = fd;
        run(fd);
      });
    });
    return synced.finally(() => this.#done(dir, state));
  }

  #done(dir: string, state: DirSyncState): void {
    state.running = undefined;
    // Only after a failed open is there no descriptor: forget it, the next call opens afresh.
    if (state.next === undefined && state.fd === undefined) this.#dirs.delete(dir);
  }

  /** Closes every directory's descriptor, each once its fsyncs (running or queued) settled. */
  async close(): Promise<void> {
    while (this.#dirs.size > 0) {
      const busy = [...this.#dirs.values()].flatMap((state) => [state.running, state.next]).filter((p) => p !== undefined);
      await Promise.allSettled(busy);
      // Idle now (a sync that joined meanwhile is waited for on the next round).
      for (const [dir, state] of this.#dirs) {
        if (state.running !== undefined || state.next !== undefined) continue;
        this.#dirs.delete(dir);
        if (state.fd !== undefined) closeQuietly(state.fd);
      }
    }
  }

  /** Closes the directories with no fsync running or queued (the previous seconds' ones). */
  #closeIdle(): void {
    for (const [dir, state] of this.#dirs) {
      if (state.running !== undefined || state.next !== undefined) continue;
      this.#dirs.delete(dir);
      // Synchronous: closing a read-only directory descriptor has nothing to flush.
      if (state.fd !== undefined) closeQuietly(state.fd);
    }
  }
}

/**
 * A fresh storage id: a random UUID whose first byte (the fan-out directory) is the current
 * second modulo 256, so that the bodies of concurrent PUTs land in one directory and share
 * its fsync (GroupDirSync) instead of paying one each; over time the directories still fill
 * evenly. 114 random bits remain, so ids never collide in practice.
 */
function newStorageId(): string {
  const second = Math.floor(Date.now() / 1000) % 256;
  return second.toString(16).padStart(2, '0') + randomUUID().slice(2);
}

/** Closes a read-only descriptor now; an error is ignored (the descriptor is released either way, nothing was written). */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing to report: a failed close of a read-only descriptor loses nothing.
  }
}

/** Reads until `length` bytes arrived or the file ended; resolves with the count. */
function readFully(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const step = (got: number): void =>
      readCb(fd, buffer, offset + got, length - got, position + got, (err, n) => {
        if (err !== null) return reject(err);
        if (n > 0 && got + n < length) return step(got + n);
        resolve(got + n);
      });
    if (length === 0) resolve(0);
    else step(0);
  });
}
