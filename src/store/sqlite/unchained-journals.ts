// What an offline reader (`cipherlake audit verify|lookup`) can see of the audit journals
// (src/audit/README.md, "The audit journal", "Offline commands after a crash"): records that
// were acknowledged (their frame was written) but are not chained into audit.db yet, because
// the server was killed before its writer thread ingested them. Read-only: it never writes a
// journal file, renames one or moves an offset — recovery, run by the next server start, does.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { scanJournalFrames } from './audit-journal-frame.js';
import { parseJournalFileName } from './audit-journal.js';
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
}

/**
 * The journal files in `journalDir` (none when it does not exist), each scanned from the
 * offset audit.db (`dbPath`) stores for it, in name order. Files that hold nothing unchained
 * (a clean end at the stored offset) are left out. Opens audit.db read-only and never writes
 * anything. Raises what SQLite and the file system raise.
 */
export function scanUnchainedJournals(dbPath: string, journalDir: string): UnchainedJournal[] {
  const files = namesIn(journalDir)
    .filter((f) => parseJournalFileName(stripDamaged(f)) !== null)
    .sort();
  if (files.length === 0) return [];
  const offsets = storedOffsets(dbPath);
  const found: UnchainedJournal[] = [];
  for (const file of files) {
    const keptDamaged = file.endsWith(DAMAGED_SUFFIX);
    const j = scanFile(join(journalDir, file), file, keptDamaged ? 0 : (offsets.get(file) ?? 0), keptDamaged);
    if (j !== null && (j.records > 0 || j.stop !== 'end' || j.keptDamaged)) found.push(j);
  }
  return found;
}

/**
 * Whether a server holds `dataDir` (its `server.lock`, data-dir-lock.ts), probed without
 * taking the lock: a read-only connection's read fails at once while a server holds the
 * file's exclusive lock. The read holds a shared lock for the microseconds it takes, so a
 * server starting in exactly that instant fails its start (DataDirInUseError) and can be
 * started again; taking the lock instead would refuse every start for the whole command.
 * Never creates the lock file. Raises only for errors other than "locked" or "no such file".
 */
export function dataDirInUse(dataDir: string): boolean {
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  if (!existsSync(path)) return false;
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_CANTOPEN') return false; // removed in between
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

function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
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
function scanFile(path: string, file: string, from: number, keptDamaged: boolean): UnchainedJournal | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // sealed meanwhile by a running server
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    if (from >= size) return { file, keptDamaged, from, end: from, size, records: 0, stop: 'end' };
    const buf = Buffer.allocUnsafe(size - from);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    const scan = scanJournalFrames(buf.subarray(0, got), Number.POSITIVE_INFINITY);
    const stop = scan.stop === 'limit' ? 'end' : scan.stop;
    if (keptDamaged) return { file, keptDamaged, from: from + scan.end, end: from + scan.end, size, records: 0, stop };
    return { file, keptDamaged, from, end: from + scan.end, size, records: scan.records, stop };
  } finally {
    closeSync(fd);
  }
}
