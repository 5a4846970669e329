// What an offline reader (`cipherlake audit verify|lookup`) can see of the audit journals
// (src/audit/README.md, "The audit journal", "Offline commands after a crash"): records that
// were acknowledged (their frame was written) but are not chained into audit.db yet, because
// the server was killed before its writer thread ingested them. Read-only: it never writes a
// journal file, renames one or moves an offset — recovery, run by the next server start, does.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { scanJournalFrames } from './audit-journal-frame.js';
import { readdirNames } from './audit-journal-ingest.js';
import { parseJournalFileName } from './audit-journal.js';
import { SqliteAuditStore } from './audit-store.js';
import { LINES_PER_RECORD, type AuditBatchText } from './audit-writer.js';
import { DATA_DIR_LOCK_FILE } from './data-dir-lock.js';

const DAMAGED_SUFFIX = '.damaged';

/** One journal file as an offline reader finds it. */
export interface UnchainedJournal {
  /** The file's name in the journal directory. */
  readonly file: string;
  /**
   * True for a `<name>.<gen>.damaged` file that recovery (or a closing writer) kept: its
   * frames before the invalid one were chained, the bytes from `end` on never were.
   */
  readonly keptDamaged: boolean;
  /** Byte offset up to which audit.db says the file was ingested (0 when it has no row). */
  readonly from: number;
  /** Byte offset after the last valid frame read from `from`. */
  readonly end: number;
  readonly size: number;
  /** Records in the valid frames `from..end`: acknowledged, not in audit.db. */
  readonly records: number;
  /**
   * `end` every byte read; `torn` an incomplete frame at `end` (a write that never returned:
   * none of its requests was acknowledged); `invalid` a frame at `end` whose CRC or length is
   * wrong (damage or tampering: what follows cannot be read).
   */
  readonly stop: 'end' | 'torn' | 'invalid';
  /** With `batches`: the records of `from..end` as one AuditBatchText ('' for none). */
  readonly batch?: AuditBatchText;
}

/** What scanUnchainedJournals keeps besides the counts. */
export interface UnchainedScanOptions {
  /** Keep each file's unchained records (`batch`), for a lookup over them. */
  readonly batches?: boolean;
}

/**
 * The journal files in `journalDir` (none when it does not exist), each scanned from the
 * offset audit.db (`dbPath`) stores for it, in the order recovery chains them ((name, gen);
 * kept `.damaged` files last). Files that hold nothing unchained (a clean end at the stored
 * offset) are left out. Opens audit.db read-only and never writes anything. Raises what
 * SQLite and the file system raise.
 */
export function scanUnchainedJournals(dbPath: string, journalDir: string, options: UnchainedScanOptions = {}): UnchainedJournal[] {
  const files = readdirNames(journalDir)
    .map((file) => ({ file, parsed: parseJournalFileName(stripDamaged(file)) }))
    .filter((f): f is { file: string; parsed: { name: string; gen: number } } => f.parsed !== null)
    .sort((a, b) => recoveryOrder(a.file, a.parsed, b.file, b.parsed));
  if (files.length === 0) return [];
  const offsets = storedOffsets(dbPath);
  const found: UnchainedJournal[] = [];
  for (const { file } of files) {
    const keptDamaged = file.endsWith(DAMAGED_SUFFIX);
    const j = scanFile(join(journalDir, file), file, keptDamaged ? 0 : (offsets.get(file) ?? 0), keptDamaged, options.batches === true);
    if (j !== null && (j.records > 0 || j.stop !== 'end' || j.keptDamaged)) found.push(j);
  }
  return found;
}

/**
 * An in-memory store of the records of `batches` (journal batch texts, in the order recovery
 * would chain them), for running the store's own lookup over them: provisional seqs 1..n, no
 * hashes, so never to be verified or exported. A record whose lines are not well formed is
 * skipped and counted. The caller closes the store.
 */
export function unchainedLookupStore(batches: readonly AuditBatchText[]): { store: SqliteAuditStore; records: number; skipped: number } {
  const store = new SqliteAuditStore(':memory:');
  const insert = store.db.prepare(
    'INSERT INTO audit_records (seq, event_time, event_ms, event_name, event_source, error_code, access_denied, event_json, prev_hash, hash, terms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  let records = 0;
  let skipped = 0;
  store.db.transaction(() => {
    for (const batch of batches) {
      const lines = batch === '' ? [] : batch.split('\n');
      for (let at = 0; at + LINES_PER_RECORD <= lines.length; at += LINES_PER_RECORD) {
        try {
          const columns: unknown = JSON.parse(lines[at] as string);
          if (!Array.isArray(columns) || columns.length !== 6) throw new Error('not six columns');
          insert.run(records + 1, ...(columns as unknown[]), lines[at + 2], '', '', lines[at + 1]);
          records += 1;
        } catch {
          skipped += 1;
        }
      }
      if (lines.length % LINES_PER_RECORD !== 0) skipped += 1;
    }
  })();
  return { store, records, skipped };
}

/**
 * Whether a server holds `dataDir` (its `server.lock`, data-dir-lock.ts), probed without
 * taking the lock: a read-only connection's read fails at once while a server holds the
 * file's exclusive lock. The read holds a shared lock for the microseconds it takes; a
 * server starting in that instant waits for it (lockDataDir's LOCK_WAIT_MS) instead of
 * failing; taking the lock instead would refuse every start for the whole command.
 * Never creates the lock file. Raises for errors other than "locked" or "no such file" (a lock
 * file this user cannot open raises: it may be held).
 */
export function dataDirInUse(dataDir: string): boolean {
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  if (!existsSync(path)) return false;
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    // Removed in between: free. Present but not openable (no read permission for this user):
    // whether a server holds it is unknown, so raise rather than say free.
    if ((error as { code?: unknown }).code === 'SQLITE_CANTOPEN' && !existsSync(path)) return false;
    throw error;
  }
  try {
    db.pragma('busy_timeout = 0');
    db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
    return false;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return true;
    throw error;
  } finally {
    db.close();
  }
}

function recoveryOrder(fa: string, a: { name: string; gen: number }, fb: string, b: { name: string; gen: number }): number {
  const damaged = Number(fa.endsWith(DAMAGED_SUFFIX)) - Number(fb.endsWith(DAMAGED_SUFFIX));
  if (damaged !== 0) return damaged;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.gen - b.gen;
}

function stripDamaged(file: string): string {
  return file.endsWith(DAMAGED_SUFFIX) ? file.slice(0, -DAMAGED_SUFFIX.length) : file;
}

/** audit_journal's offsets; none for a file that predates the table, or no file (the caller reports that). */
function storedOffsets(dbPath: string): Map<string, number> {
  if (!existsSync(dbPath)) return new Map();
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_journal'").pluck().get() !== undefined;
    if (!hasTable) return new Map();
    const rows = db.prepare('SELECT name, offset FROM audit_journal').all() as { name: string; offset: number }[];
    return new Map(rows.map((r) => [r.name, r.offset]));
  } finally {
    db.close();
  }
}

/** A kept `.damaged` file is read from 0: its valid frames were chained (records not counted), the invalid one is where it stopped. */
function scanFile(path: string, file: string, from: number, keptDamaged: boolean, keepBatch: boolean): UnchainedJournal | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // sealed meanwhile by a running server
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    if (from >= size) return { file, keptDamaged, from, end: from, size, records: 0, stop: 'end', ...(keepBatch ? { batch: '' } : {}) };
    const buf = Buffer.allocUnsafe(size - from);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    const scan = scanJournalFrames(buf.subarray(0, got), Number.POSITIVE_INFINITY);
    const stop = scan.stop === 'limit' ? 'end' : scan.stop;
    // A kept file's valid frames were chained before it was renamed: nothing of it is unchained but what cannot be read.
    if (keptDamaged) return { file, keptDamaged, from: from + scan.end, end: from + scan.end, size, records: 0, stop, ...(keepBatch ? { batch: '' } : {}) };
    return { file, keptDamaged, from, end: from + scan.end, size, records: scan.records, stop, ...(keepBatch ? { batch: scan.batch } : {}) };
  } finally {
    closeSync(fd);
  }
}
