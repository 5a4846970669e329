// Reading audit journal files into audit.db (src/audit/README.md, "The audit journal"): the
// writer thread ingests its own process's journal as it grows (JournalIngester), recovery
// ingests the journals no process writes any more (audit-journal-recovery.ts). Both go through
// SqliteAuditWriter.ingest, which moves the file's offset in the records' transaction.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { scanJournalFrames } from './audit-journal-frame.js';
import { journalFileName, parseJournalFileName } from './audit-journal.js';
import type { CommittedBatch, SqliteAuditWriter } from './audit-writer.js';

/** Records per ingestion transaction (whole frames, so up to one batch more). */
export const INGEST_MAX_RECORDS = 2048;
/** Bytes read at a time (a frame larger than this is read whole). */
const READ_BYTES = 4 * 1024 * 1024;

/**
 * Where ingesting a file stopped: `end` at its last byte, `torn` before an incomplete frame
 * (a write in progress, or one that never returned), `invalid` before a frame whose CRC or
 * length is wrong (damage or tampering: the bytes from `offset` on are kept as evidence).
 */
export interface FileIngestion {
  /** Byte offset after the last ingested frame (stored in audit_journal). */
  readonly offset: number;
  readonly records: number;
  readonly stop: 'end' | 'torn' | 'invalid';
  /** False when the file does not exist. */
  readonly exists: boolean;
}

/** A file renamed `<file>.damaged` because a frame at `offset` is invalid. */
export interface DamagedJournal {
  readonly file: string;
  readonly offset: number;
}

/**
 * Ingests the complete valid frames of journal file `file` (in `dir`) from byte `from`, in
 * transactions of about INGEST_MAX_RECORDS, each moving the file's stored offset; calls
 * `onCommit` after each. Raises what SQLite raises (and the writer's refusal when the stored
 * offset is not `from`); what committed before stays committed. A missing file is empty.
 */
export function ingestJournalFile(
  writer: SqliteAuditWriter,
  dir: string,
  file: string,
  from: number,
  onCommit?: (committed: CommittedBatch) => void,
): FileIngestion {
  let fd: number;
  try {
    fd = openSync(join(dir, file), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { offset: from, records: 0, stop: 'end', exists: false };
    throw error;
  }
  try {
    return ingestOpenJournal(writer, fd, file, from, onCommit);
  } finally {
    closeSync(fd);
  }
}

/**
 * A read buffer kept between reads by one reader (a JournalIngester polls every 250 ms): a
 * fresh buffer per poll came from malloc each time, and its pages faulted in again after
 * glibc had handed them back (page faults were a visible part of the writer thread's CPU).
 * Safe to reuse: the frames' payloads (views of it) are committed before the next read.
 */
export interface ReadScratch {
  buf: Buffer | undefined;
}

/**
 * Scratch buffers up to this size are kept: one poll's read (every 250 ms, ~3.5 MB at 10,000
 * KMS-sized records/s) reuses it; a larger read gets a buffer of its own. A fresh buffer of
 * a few MB costs a page fault per 4 KiB page as the read fills it, then its unmapping: ~5x
 * the CPU per MB of a read into a kept one here (a throwaway pread + CRC-32 loop).
 */
const MAX_KEPT_SCRATCH = READ_BYTES;

/** As ingestJournalFile, on a descriptor the caller opened on `file` (and closes); `scratch` is reused for the reads when given. */
export function ingestOpenJournal(
  writer: SqliteAuditWriter,
  fd: number,
  file: string,
  from: number,
  onCommit?: (committed: CommittedBatch) => void,
  scratch?: ReadScratch,
): FileIngestion {
  let offset = from;
  let records = 0;
  let need = 0;
  for (;;) {
    const size = fstatSync(fd).size;
    if (offset >= size) return { offset, records, stop: 'end', exists: true };
    const buf = readAt(fd, offset, Math.min(size - offset, Math.max(READ_BYTES, need)), scratch);
    const scan = scanJournalFrames(buf, INGEST_MAX_RECORDS);
    if (scan.end > 0) {
      const committed = writer.ingestFrames(scan.payloads, { file, from: offset, to: offset + scan.end });
      offset += scan.end;
      records += scan.records;
      need = 0;
      onCommit?.(committed);
      continue;
    }
    if (scan.stop === 'invalid') return { offset, records, stop: 'invalid', exists: true };
    // Nothing taken: a frame larger than what was read is read whole; else the tail is torn.
    if (scan.need !== undefined && scan.need > buf.length && offset + scan.need <= size) {
      need = scan.need;
      continue;
    }
    return { offset, records, stop: 'torn', exists: true };
  }
}

/**
 * Ends a journal file whose every frame up to `ended.offset` is ingested and that will never
 * be written again: a clean or torn-tail file is unlinked; one that stopped at an invalid
 * frame is renamed `<file>.damaged` (kept as evidence) and returned; then its row is dropped.
 * Raises what unlink, rename and SQLite raise (a row left behind is harmless: recovery drops it).
 */
export function sealJournalFile(writer: SqliteAuditWriter, dir: string, file: string, ended: FileIngestion): DamagedJournal | null {
  const path = join(dir, file);
  let damaged: DamagedJournal | null = null;
  if (ended.exists && ended.stop === 'invalid') {
    renameSync(path, `${path}.damaged`);
    damaged = { file, offset: ended.offset };
  } else if (ended.exists) {
    unlinkSync(path);
  }
  writer.dropJournal(file);
  return damaged;
}

function readAt(fd: number, position: number, length: number, scratch?: ReadScratch): Buffer {
  let buf: Buffer;
  if (scratch === undefined || length > MAX_KEPT_SCRATCH) buf = Buffer.allocUnsafe(length);
  else {
    // Grown in powers of two (from 64 KiB), so a load that grows does not reallocate at every poll.
    if (scratch.buf === undefined || scratch.buf.length < length) scratch.buf = Buffer.allocUnsafeSlow(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(length))));
    buf = scratch.buf;
  }
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * The writer thread's reader of its own process's journal, `<name>.<gen>` in `dir`. Keeps
 * its place in memory (re-read from audit_journal after a failure, and by a new thread).
 */
export class JournalIngester {
  readonly #writer: SqliteAuditWriter;
  readonly #dir: string;
  readonly #name: string;
  readonly #onCommit: (committed: CommittedBatch) => void;
  readonly #onDamaged: (damaged: DamagedJournal, sealed: boolean) => void;
  #gen: number | undefined;
  #offset: number | undefined;
  // The current generation, kept open between polls (an open and a close fewer per poll); -1: not open.
  #fd = -1;
  // Identity (dev, ino) of the file #fd holds, taken at open: the per-poll check compares the path's against it.
  #held: { dev: number; ino: number } | undefined;
  readonly #scratch: ReadScratch = { buf: undefined };

  constructor(
    writer: SqliteAuditWriter,
    o: {
      dir: string;
      name: string;
      onCommit: (committed: CommittedBatch) => void;
      /** An invalid frame: in the file still written (`sealed` false: ingestion waits there), or in one renamed `.damaged`. */
      onDamaged: (damaged: DamagedJournal, sealed: boolean) => void;
    },
  ) {
    this.#writer = writer;
    this.#dir = o.dir;
    this.#name = o.name;
    this.#onCommit = o.onCommit;
    this.#onDamaged = o.onDamaged;
  }

  /**
   * Ingests every complete valid frame written so far, across generations: at the end of
   * gen g, when g+1 exists, g is read to its end once more (the request thread may have
   * written a last frame before it created g+1), then sealed (sealJournalFile) and g+1 is
   * next. Returns how many records it ingested. Raises what SQLite or the file system raise:
   * what committed stays committed, and the next call starts where the database says.
   */
  ingestAll(): number {
    try {
      return this.#ingestAll();
    } catch (error) {
      this.#offset = undefined;
      this.#closeFd();
      throw error;
    }
  }

  /**
   * For close, once the request thread has closed its journal (nothing is written any more):
   * ingestAll, then seals the last generation too. Returns the records ingested; raises as
   * ingestAll (the files then stay for recovery).
   */
  finish(): number {
    const total = this.ingestAll();
    const file = journalFileName(this.#name, this.#gen ?? 1);
    const ended = this.#read(file);
    this.#closeFd();
    const damaged = sealJournalFile(this.#writer, this.#dir, file, ended);
    if (damaged !== null) this.#onDamaged(damaged, true);
    this.#offset = undefined;
    return total + ended.records;
  }

  /**
   * Forgets this journal without sealing it: closes the descriptor kept open and the offset
   * kept in memory (a later call re-reads the stored offset). For an owner that stops ingesting
   * the name after a failure, so that recovery (another connection) may take the file over.
   */
  release(): void {
    this.#offset = undefined;
    this.#closeFd();
  }

  #ingestAll(): number {
    this.#gen ??= this.#firstGen();
    let total = 0;
    for (;;) {
      const file = journalFileName(this.#name, this.#gen);
      this.#offset ??= this.#writer.journalOffset(file);
      let ended = this.#read(file);
      total += ended.records;
      if (!existsSync(join(this.#dir, journalFileName(this.#name, this.#gen + 1)))) {
        if (ended.stop === 'invalid') this.#onDamaged({ file, offset: ended.offset }, false);
        return total;
      }
      ended = this.#read(file);
      total += ended.records;
      this.#closeFd();
      const damaged = sealJournalFile(this.#writer, this.#dir, file, ended);
      if (damaged !== null) this.#onDamaged(damaged, true);
      this.#gen += 1;
      this.#offset = undefined;
    }
  }

  /**
   * Ingests `file` (the current generation) from the offset in memory, through the descriptor
   * kept open. Raises, chaining nothing, when the file it holds is no longer `file` in the
   * directory (#assertStillHeld).
   */
  #read(file: string): FileIngestion {
    if (this.#fd === -1) {
      try {
        this.#fd = openSync(join(this.#dir, file), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { offset: this.#offset ?? 0, records: 0, stop: 'end', exists: false };
        throw error;
      }
      const st = fstatSync(this.#fd);
      this.#held = { dev: st.dev, ino: st.ino };
    } else {
      this.#assertStillHeld(file);
    }
    const ended = ingestOpenJournal(this.#writer, this.#fd, file, this.#offset ?? 0, this.#onCommit, this.#scratch);
    this.#offset = ended.offset;
    return ended;
  }

  /**
   * Exactly-once rests on recovery never sealing a journal this thread holds open (its own
   * connection: src/audit/README.md, "Recovery"). Sealing drops the file's audit_journal row,
   * and a missing row reads as offset 0, so a descriptor kept open across such a seal would
   * chain the whole file again (the writer's stored-offset check only refuses a span that
   * starts past 0). Hence, before reading from a descriptor opened at an earlier poll: the
   * path must still name the file it holds. Unlinked (its nlink is 0) or renamed `.damaged`,
   * the path is gone; anything else there is another file. Then the sealer chained what it
   * held: this raises without reading, the caller (ingestAll) closes the descriptor and
   * forgets the offset, and the next poll finds the path gone and moves on. Cost: one stat of
   * the path per poll per open file (~1.5 µs measured here, vs ~0.9 µs for an fstat; a poll comes every 250 ms);
   * the descriptor's own identity is read once, at open. A seal landing between this check
   * and the ingestion transaction is not caught here (only inside that transaction could it be).
   */
  #assertStillHeld(file: string): void {
    const now = statSync(join(this.#dir, file), { throwIfNoEntry: false });
    if (now !== undefined && this.#held !== undefined && now.dev === this.#held.dev && now.ino === this.#held.ino) return;
    throw new Error(
      `audit journal ${file}: sealed by another connection (recovery?) while this writer thread ingested it; its frames were chained there, not read again here (recovery must skip live journals)`,
    );
  }

  #closeFd(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#held = undefined;
    closeSync(fd);
  }

  /** The lowest generation of this name still in the directory (older ones are sealed); 1 when none. */
  #firstGen(): number {
    let first = Number.POSITIVE_INFINITY;
    for (const f of readdirNames(this.#dir)) {
      const p = parseJournalFileName(f);
      if (p !== null && p.name === this.#name && p.gen < first) first = p.gen;
    }
    return Number.isFinite(first) ? first : 1;
  }
}

/** File names in `dir`; none when it does not exist. Raises what readdir raises otherwise. */
export function readdirNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
