// The offline commands' view of acknowledged records outside audit.db (src/audit/README.md,
// "Offline commands after a crash"): shared by `audit verify` (findings) and `audit lookup`
// (a notice). Read-only, as the commands are.
import { join } from 'node:path';
import { auditJournalDir } from '../../audit-wiring.js';
import type { CipherlakeConfig } from '../../config/config.js';
import { dataDirInUse, scanUnchainedJournals, type UnchainedJournal } from '../../store/sqlite/unchained-journals.js';

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
  /** For stderr: what a running server has journaled and not chained yet (null: nothing). */
  readonly notice: string | null;
}

/**
 * Scans `config.dataDir`'s audit journals against audit.db's stored offsets and says what is
 * not in the chain. Never writes: no recovery, no rename, no lock taken (dataDirInUse).
 * Raises what SQLite and the file system raise.
 */
export function unchainedReport(config: CipherlakeConfig): UnchainedReport {
  const inUse = dataDirInUse(config.dataDir);
  const journals = scanUnchainedJournals(join(config.dataDir, 'audit.db'), auditJournalDir(config));
  const records = journals.reduce((n, j) => n + j.records, 0);
  const findings = journals.map((j) => describeJournal(j, inUse)).filter((l): l is string => l !== null);
  const notice = inUse && records > 0 ? `a server is using this data directory: ${records} records journaled, not chained yet (its writer thread chains them; not checked here)` : null;
  return { inUse, records, findings, notice };
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
