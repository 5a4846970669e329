// Recovery of audit journals no process writes any more (src/audit/README.md, "The audit
// journal"): a crashed server's, a dead cluster worker's. Run by the store's owner: the
// one-process server before its writer thread starts, the cluster primary before forking,
// when a worker exits and in its close before the final digest.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ingestJournalFile, readdirNames, sealJournalFile, type DamagedJournal } from './audit-journal-ingest.js';
import { journalFileName, parseJournalFileName } from './audit-journal.js';
import { SqliteAuditWriter } from './audit-writer.js';

/** What recoverAuditJournals did. */
export interface JournalRecoveryReport {
  /** Journal files ingested and ended (unlinked, or renamed `.damaged`). */
  readonly files: number;
  readonly records: number;
  /** Files with an invalid frame: renamed `<file>.damaged`, ingested up to `offset`. Log each as an error. */
  readonly damaged: readonly DamagedJournal[];
}

/** Which journals recovery leaves alone, and how it opens audit.db. */
export interface JournalRecoveryOptions {
  /** Journal names of live processes (their writer threads ingest them). */
  readonly except?: Iterable<string>;
  /** Default NORMAL: recovery's commits are as durable as the journal they came from. */
  readonly synchronous?: 'NORMAL' | 'FULL';
}

/**
 * Ingests every journal file in `dir` whose name is not in `except`, in (name, gen) order,
 * from its stored offset up to the first incomplete or invalid frame, with its own
 * SqliteAuditWriter connection on `dbPath` (the chain continues after the stored head, as
 * any writer's); a clean or torn-tail file is unlinked once its ingestion committed, one with
 * an invalid frame is renamed `<file>.damaged` and reported; then the rows of files that no
 * longer exist are dropped. Synchronous. Creates the audit_journal table when the file
 * predates it. Raises what SQLite and the file system raise (what committed stays committed;
 * running it again goes on from there). Never touches a live name's files.
 */
export function recoverAuditJournals(dbPath: string, dir: string, options: JournalRecoveryOptions = {}): JournalRecoveryReport {
  const except = new Set(options.except ?? []);
  const writer = new SqliteAuditWriter(dbPath, { synchronous: options.synchronous ?? 'NORMAL' });
  try {
    writer.journalFiles(); // readies the table before any file is read
    const files = readdirNames(dir)
      .map((f) => parseJournalFileName(f))
      .filter((p): p is { name: string; gen: number } => p !== null && !except.has(p.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.gen - b.gen));
    let records = 0;
    const damaged: DamagedJournal[] = [];
    for (const { name, gen } of files) {
      const file = journalFileName(name, gen);
      const ended = ingestJournalFile(writer, dir, file, writer.journalOffset(file));
      records += ended.records;
      const d = sealJournalFile(writer, dir, file, ended);
      if (d !== null) damaged.push(d);
    }
    for (const file of writer.journalFiles()) if (!existsSync(join(dir, file))) writer.dropJournal(file);
    return { files: files.length, records, damaged };
  } finally {
    writer.close();
  }
}
