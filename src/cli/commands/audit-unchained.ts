// The offline commands' view of acknowledged records outside audit.db (src/audit/README.md,
// "Offline commands after a crash"): shared by `audit verify` (findings) and `audit lookup`
// (which searches them too). Read-only, as the commands are.
import { join } from 'node:path';
import { auditJournalDir } from '../../audit-wiring.js';
import type { CipherlakeConfig } from '../../config/config.js';
import type { AuditEvent, AuditLookupQuery } from '../../audit/index.js';
import type { AuditBatchText } from '../../store/sqlite/audit-writer.js';
import { dataDirInUse, scanUnchainedJournals, unchainedLookupStore, type UnchainedJournal, type UnchainedScanOptions } from '../../store/sqlite/unchained-journals.js';

/** What the journals of a data directory hold beyond audit.db. */
export interface UnchainedReport {
  /** A server holds the directory: its writer thread chains its journal within milliseconds. */
  readonly inUse: boolean;
  /** Records in intact frames not chained yet (acknowledged). */
  readonly records: number;
  /**
   * One line per journal a compliance reader must know about: for a directory not in use,
   * every file with unchained records; always, every invalid frame and every kept `.damaged`
   * file. Empty when nothing is outside the chain but what a running server is chaining.
   */
  readonly findings: readonly string[];
  /** The findings of `findings` about damage (an invalid frame, a kept `.damaged` file): what follows cannot be read. */
  readonly damage: readonly string[];
  /** For stderr: what a running server has journaled and not chained yet (null: nothing). */
  readonly notice: string | null;
  /** With `batches`, for a directory not in use: the unchained records, in the order recovery will chain them. */
  readonly batches: readonly AuditBatchText[];
}

/** What lookupUnchained found. */
export interface UnchainedLookup {
  /** Matching records, newest first (the reverse of the order recovery will chain them). */
  readonly events: AuditEvent[];
  /** Records searched. */
  readonly searched: number;
  /** Records whose lines were not well formed (not searched). */
  readonly skipped: number;
}

/**
 * Scans `config.dataDir`'s audit journals against audit.db's stored offsets and says what is
 * not in the chain. Never writes: no recovery, no rename, no lock taken (dataDirInUse).
 * Raises what SQLite and the file system raise.
 */
export function unchainedReport(config: CipherlakeConfig, options: UnchainedScanOptions = {}): UnchainedReport {
  const inUse = dataDirInUse(config.dataDir);
  const journals = scanUnchainedJournals(join(config.dataDir, 'audit.db'), auditJournalDir(config), { batches: options.batches === true && !inUse });
  const records = journals.reduce((n, j) => n + j.records, 0);
  const findings: string[] = [];
  const damage: string[] = [];
  for (const j of journals) {
    const line = describeJournal(j, inUse);
    if (line === null) continue;
    findings.push(line);
    if (j.keptDamaged || j.stop === 'invalid') damage.push(line);
  }
  const notice = inUse && records > 0 ? `a server is using this data directory: ${records} records journaled, not chained yet (its writer thread chains them; not checked here)` : null;
  const batches = journals.flatMap((j) => (j.batch !== undefined && j.batch !== '' ? [j.batch] : []));
  return { inUse, records, findings, damage, notice, batches };
}

/**
 * Runs `query` (without paging: its limit and token are ignored) over the records of
 * `batches` with the store's own lookup, so the filters mean exactly what they mean on
 * audit.db; at most `max` events, newest first. Rejects as the store's lookup rejects
 * (InvalidAuditQueryError). Holds its records in memory only.
 */
export async function lookupUnchained(batches: readonly AuditBatchText[], query: AuditLookupQuery, max: number): Promise<UnchainedLookup> {
  if (batches.length === 0) return { events: [], searched: 0, skipped: 0 };
  const { store, records, skipped } = unchainedLookupStore(batches);
  const events: AuditEvent[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await store.lookup({ ...query, limit: Math.min(1000, max - events.length), ...(nextToken !== undefined ? { nextToken } : {}) });
      events.push(...page.records.map((r) => r.event));
      nextToken = page.nextToken;
    } while (nextToken !== undefined && events.length < max);
  } finally {
    store.close();
  }
  return { events, searched: records, skipped };
}

/** The finding for one journal, or null when it holds only what a running server is chaining. */
function describeJournal(j: UnchainedJournal, inUse: boolean): string | null {
  const name = `journal ${j.file}`;
  if (j.keptDamaged) return `${name}: kept with an invalid frame at byte ${j.end} (damage or tampering); bytes ${j.end}..${j.size} were never chained`;
  if (j.stop === 'invalid') {
    const before = j.records > 0 ? `${j.records} acknowledged records before it not in audit.db (bytes ${j.from}..${j.end})` : 'no record before it unchained';
    return `${name}: invalid frame at byte ${j.end} (damage or tampering); ${before}; bytes ${j.end}..${j.size} unreadable`;
  }
  // A running server's journal (a torn tail there is a write in progress) is its writer's to chain.
  if (inUse) return null;
  const torn = j.stop === 'torn' ? `; then a torn frame at byte ${j.end} (a write that never returned: none of its requests was acknowledged)` : '';
  // A torn tail alone carries nothing acknowledged (recovery drops it too).
  if (j.records === 0) return null;
  return `${name}: ${j.records} acknowledged records not in audit.db (bytes ${j.from}..${j.end}, frames intact); the next server start chains them${torn}`;
}
