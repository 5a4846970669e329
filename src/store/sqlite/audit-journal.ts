// The request thread's side of the audit journal (src/audit/README.md, "The audit
// journal"): each batch is framed (audit-journal-frame.ts) and written with ONE writeSync to
// this process's journal file; the writer thread ingests it into audit.db on its own schedule.
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, fsyncSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeJournalFrameInto, type FrameScratch } from './audit-journal-frame.js';
import type { AuditBatchText } from './audit-writer.js';

/** A journal file passes this size, then the next batch goes to the next generation. */
export const DEFAULT_JOURNAL_ROTATE_BYTES = 64 * 1024 * 1024;

/** `<name>.<gen>`: a journal file's name in the journal directory. */
export function journalFileName(name: string, gen: number): string {
  return `${name}.${gen}`;
}

/** The name and generation of a journal file's name, or null for anything else (`.damaged` files, strays). */
export function parseJournalFileName(file: string): { name: string; gen: number } | null {
  const m = /^([A-Za-z0-9_-]+)\.([1-9][0-9]{0,14})$/.exec(file);
  return m === null ? null : { name: m[1] as string, gen: Number(m[2]) };
}

/**
 * A fresh journal name for one appending process: `prefix`, the time and 48 random bits, so
 * a name is never reused (a replacement worker, a restart). Letters, digits and `-` only.
 */
export function newJournalName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/** How the request thread writes its journal. */
export interface AuditJournalOptions {
  /** DATA_DIR/audit-journal; made 0700 when missing. */
  readonly dir: string;
  /** This process's journal name (newJournalName): unique, never reused. */
  readonly name: string;
  /** `process`: an append resolves after its write (kill -9 safe); `power`: after fdatasync too. */
  readonly durability: 'process' | 'power';
  /** Rotate once a file passes this many bytes; default 64 MiB (tests use tiny ones). */
  readonly rotateBytes?: number;
  /** node:fs fdatasync, injectable so a test can count or delay the disk flushes. */
  readonly fdatasync?: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void;
  /** node:fs writeSync of a whole buffer, injectable so a test can make a write fail or come up short. */
  readonly writeSync?: (fd: number, buffer: Buffer) => number;
  /** `power`: the fsync of `dir` after a new file is made (syncDir below), injectable so a test can make it fail. */
  readonly syncDir?: (dir: string) => void;
}

/** `power`: a new file's directory entry must survive power loss too. Raises what open/fsync raise. */
function syncDir(dir: string): void {
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** O_APPEND | O_EXCL, 0600: a name is never reused, so an existing file is a bug to surface, not to append to. */
function openExclusive(path: string): number {
  return openSync(path, 'ax', 0o600);
}

/**
 * The append side of one process's journal: files `<name>.<gen>` (0600) in `dir`, gen from
 * 1. `append` frames a batch and writes it with one writeSync. A failed or short write
 * raises, truncates the file back to the frame's start when it can, and rotates to a new
 * generation, so no valid frame ever follows a torn one. Once generation g+1 exists in the
 * directory, g is never written again: a reader takes g+1's appearance to mean g is complete
 * (JournalIngester seals g then), so a rotation whose directory fsync fails (`power`) keeps
 * the new file and switches to it. Creates generation 1 at construction (raises what mkdir,
 * open and, `power`, the directory fsync raise). Never reads the journal.
 */
export class AuditJournalWriter {
  readonly #o: AuditJournalOptions;
  readonly #rotateBytes: number;
  #gen = 0;
  #fd = -1;
  #size = 0;
  #closed = false;
  // A failed write could not be cut off and no new file could be opened: rotate before the next write.
  #mustRotate = false;
  // `power`: the current file's directory fsync has not succeeded since it was created, so its
  // name may not survive power loss: no batch is written to it (none acknowledged) until one has.
  #dirSyncPending = false;
  // fdatasync calls in flight per descriptor: a rotated file is closed once its last one ends.
  readonly #syncing = new Map<number, number>();
  // Each frame is built here and written before the next one is (encodeJournalFrameInto).
  readonly #frame: FrameScratch = { buf: undefined };

  constructor(options: AuditJournalOptions) {
    this.#o = options;
    this.#rotateBytes = options.rotateBytes ?? DEFAULT_JOURNAL_ROTATE_BYTES;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.#openFirst();
  }

  /** The generation being written. */
  get gen(): number {
    return this.#gen;
  }

  /**
   * Writes `batch` as one frame. `process`: returns undefined once written (in the page
   * cache: survives kill -9, not power loss). `power`: returns a promise that resolves after
   * fdatasync. Raises (or rejects) when the write or the flush failed: the batch must then be
   * treated as not recorded (a failed flush leaves its frame in the file; it may still be
   * ingested, as a transaction whose answer was lost would be). `power`, while the current
   * file's directory fsync has not yet succeeded (it failed at rotation): retries it first
   * and, if it fails again, returns a rejected promise without writing (the batch is not
   * recorded; the next append retries). Raises after close.
   */
  append(batch: AuditBatchText): Promise<void> | undefined {
    if (this.#closed) throw new Error('audit journal is closed');
    if (this.#mustRotate) {
      this.#rotate();
      this.#mustRotate = false;
    }
    if (this.#dirSyncPending) {
      try {
        this.#syncDir();
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    const frame = encodeJournalFrameInto(batch, this.#frame);
    const fd = this.#fd;
    const start = this.#size;
    let written = 0;
    try {
      written = this.#o.writeSync !== undefined ? this.#o.writeSync(fd, frame) : writeSync(fd, frame, 0, frame.length);
    } catch (error) {
      this.#abandon(fd, start);
      throw error;
    }
    if (written !== frame.length) {
      this.#abandon(fd, start);
      throw new Error(`audit journal: short write (${written} of ${frame.length} bytes)`);
    }
    this.#size += written;
    // Started before a rotation, which then leaves this descriptor open until the flush ends.
    const synced = this.#o.durability === 'power' ? this.#sync(fd) : undefined;
    if (this.#size >= this.#rotateBytes) {
      try {
        this.#rotate();
      } catch {
        // The batch is written: it must not be reported as failed. This file grows a little
        // past the threshold instead; the next append tries again.
      }
    }
    return synced;
  }

  /** Closes the current file (ingestion of it is the writer thread's). Idempotent; later appends raise. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#syncing.has(this.#fd)) closeSync(this.#fd);
  }

  /** After a failed write: cut the torn frame if possible, then never write to this file again. */
  #abandon(fd: number, start: number): void {
    try {
      ftruncateSync(fd, start);
    } catch {
      // The torn bytes stay; the rotation below makes them the file's tail, which readers ignore.
    }
    try {
      this.#rotate();
    } catch {
      // No new file (e.g. the disk is full): the next append tries again before it writes,
      // and raises if it still cannot, so nothing is ever written after a torn frame.
      this.#mustRotate = true;
    }
  }

  /**
   * Generation 1. `power`: a failed directory fsync closes and removes it, then raises (the
   * writer is never built). Safe here, unlike at rotation: there is no older generation that a
   * reader could have sealed on seeing this name.
   */
  #openFirst(): void {
    const path = join(this.#o.dir, journalFileName(this.#o.name, 1));
    const fd = openExclusive(path);
    if (this.#o.durability === 'power') {
      try {
        this.#syncDir();
      } catch (error) {
        closeSync(fd);
        rmSync(path, { force: true });
        throw error;
      }
    }
    this.#fd = fd;
    this.#gen = 1;
  }

  /**
   * The next generation: opened (O_EXCL; raises what open raises, and then nothing changed),
   * made the current file at once, then the old file is closed (once its flushes ended).
   * `power`: a failed directory fsync does not undo this: the ingester may already have seen
   * the new name and sealed (unlinked) the old file, so a write to the old one could be lost
   * and removing the new one would not help. The fsync stays pending (#dirSyncPending).
   */
  #rotate(): void {
    const old = this.#fd;
    const gen = this.#gen + 1;
    this.#fd = openExclusive(join(this.#o.dir, journalFileName(this.#o.name, gen)));
    this.#gen = gen;
    this.#size = 0;
    if (this.#o.durability === 'power') {
      this.#dirSyncPending = true;
      try {
        this.#syncDir();
      } catch {
        // Retried by the next append before it writes.
      }
    }
    if (!this.#syncing.has(old)) closeSync(old);
  }

  /** Fsyncs the directory (raises what it raises); a success makes every name created before it durable. */
  #syncDir(): void {
    (this.#o.syncDir ?? syncDir)(this.#o.dir);
    this.#dirSyncPending = false;
  }

  #sync(fd: number): Promise<void> {
    const flush = this.#o.fdatasync ?? fdatasync;
    this.#syncing.set(fd, (this.#syncing.get(fd) ?? 0) + 1);
    return new Promise<void>((resolve, reject) => {
      flush(fd, (error) => {
        const left = (this.#syncing.get(fd) ?? 1) - 1;
        if (left > 0) this.#syncing.set(fd, left);
        else {
          this.#syncing.delete(fd);
          // Rotated away (or closed) while flushing: this was its last use.
          if (fd !== this.#fd || this.#closed) closeSync(fd);
        }
        if (error) reject(error);
        else resolve();
      });
    });
  }
}
