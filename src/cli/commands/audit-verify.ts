import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describeProblem, verifyAudit, verifyAuditExport, type AuditVerifyReport, type SeqRange } from '../../audit/index.js';
import { CliArgumentError } from '../errors.js';
import { openDataDirOffline, readAuditPublicKey, type OfflineDataDir } from '../open-data-dir.js';
import { unchainedReport } from './audit-unchained.js';
import { auditCommand, configFor, parseTime, PROCESS_IO, runAndExit, withDataDirOptions, type CliIo, type DataDirFlags } from './audit-group.js';

/** Flags of `cipherlake audit verify`. */
export interface AuditVerifyFlags extends DataDirFlags {
  /** A seq, or a time (ISO 8601): the first record to check. */
  readonly from?: string;
  /** A seq, or a time: the last record to check. */
  readonly to?: string;
  /** Verify an exported CloudTrail directory instead of the live store. */
  readonly export?: string;
  /** PEM file of the audit public key (required with --export; optional otherwise). */
  readonly publicKey?: string;
}

/**
 * `cipherlake audit verify`: checks the live audit store of a data directory (with the
 * public key derived from the KMS audit key), or an exported copy with only a public key
 * file. Prints `intact`, or one line per finding (describeProblem), on stdout; a summary on
 * stderr. Without --to (the check reaches the newest record), the data directory's audit
 * journals are read too: acknowledged records a killed server left unchained, and any
 * invalid journal frame, are findings (a running server's pending records: a notice on
 * stderr), see unchainedReport. Returns the exit code: 0 intact, 1 on any finding. Raises
 * DataDirError / CliArgumentError / ConfigError for a directory or arguments it cannot use.
 * Never writes to the store or the journals: a running server is left undisturbed (one WAL
 * read snapshot; the journals are only read, recovery stays the next start's).
 */
export async function runAuditVerify(flags: AuditVerifyFlags, io: CliIo): Promise<number> {
  // The journals before the chain: a record a running server chains in between is then seen
  // by both at worst (and only in its notice), never missed by both.
  const journals = flags.export === undefined && flags.to === undefined ? unchainedReport(configFor(flags)) : null;
  const report = flags.export !== undefined ? await verifyExport(flags, flags.export) : await verifyLive(flags);
  const journalFindings = journals?.findings ?? [];
  if (journals !== null && journals.notice !== null) io.err(journals.notice);
  if (report === null) {
    if (journalFindings.length === 0) io.out('intact');
    for (const line of journalFindings) io.out(line);
    io.err('no records in the given range');
    return journalFindings.length === 0 ? 0 : 1;
  }
  const intact = report.intact && journalFindings.length === 0;
  if (intact) io.out('intact');
  for (const p of report.problems) io.out(describeProblem(p));
  for (const line of journalFindings) io.out(line);
  const tail = report.unsignedTail === null ? '' : `; records ${report.unsignedTail.fromSeq}..${report.unsignedTail.toSeq} not yet signed`;
  const unchained = journals !== null && !journals.inUse && journals.records > 0 ? `; ${journals.records} acknowledged records in audit journals not chained` : '';
  io.err(`${report.recordsChecked} records (${report.firstSeq ?? '-'}..${report.lastSeq ?? '-'}), ${report.digestsChecked} digests, signed through ${report.lastSignedSeq}${tail}${unchained}`);
  return intact ? 0 : 1;
}

async function verifyExport(flags: AuditVerifyFlags, dir: string): Promise<AuditVerifyReport> {
  if (flags.publicKey === undefined) throw new CliArgumentError('--export needs --public-key FILE (print it with: cipherlake audit public-key)');
  const range: SeqRange = { ...seqOnly(flags.from, '--from', 'fromSeq'), ...seqOnly(flags.to, '--to', 'toSeq') };
  return verifyAuditExport(dir, readFileSync(flags.publicKey, 'utf8'), range);
}

async function verifyLive(flags: AuditVerifyFlags): Promise<AuditVerifyReport | null> {
  const config = configFor(flags);
  const publicKey = flags.publicKey !== undefined ? readFileSync(flags.publicKey, 'utf8') : await readAuditPublicKey(config);
  const dir = openDataDirOffline(config);
  try {
    return await dir.snapshot(async () => {
      const range = resolveRange(dir, flags);
      if (range === null) return null;
      return verifyAudit(dir.auditStore, publicKey, range);
    });
  } finally {
    dir.close();
  }
}

function resolveRange(dir: OfflineDataDir, flags: AuditVerifyFlags): SeqRange | null {
  const range: { fromSeq?: number; toSeq?: number } = {};
  if (flags.from !== undefined) {
    const seq = isSeq(flags.from) ? Number(flags.from) : dir.firstSeqAtOrAfter(parseTime(flags.from, '--from'));
    if (seq === null) return null;
    range.fromSeq = seq;
  }
  if (flags.to !== undefined) {
    const seq = isSeq(flags.to) ? Number(flags.to) : dir.lastSeqAtOrBefore(parseTime(flags.to, '--to'));
    if (seq === null) return null;
    range.toSeq = seq;
  }
  if (range.fromSeq !== undefined && range.toSeq !== undefined && range.fromSeq > range.toSeq) return null;
  return range;
}

function isSeq(value: string): boolean {
  // Seqs are small integers; epoch-seconds times are given to --from/--to as ISO 8601 instead.
  return /^[1-9]\d{0,15}$/.test(value);
}

function seqOnly(value: string | undefined, flag: string, field: 'fromSeq' | 'toSeq'): SeqRange {
  if (value === undefined) return {};
  if (!isSeq(value)) throw new CliArgumentError(`${flag} with --export takes a record seq (an export has no time index)`);
  return { [field]: Number(value) };
}

/** Registers `cipherlake audit verify`. */
export function registerAuditVerifyCommand(program: Command): void {
  withDataDirOptions(auditCommand(program).command('verify'))
    .description('verify the audit trail (or an export): prints "intact" or each finding; exit 1 on any finding (without --to, also records a stopped server left unchained in its audit journals, and damaged journal frames)')
    .option('--from <seq|time>', 'first record: a seq or an ISO 8601 time')
    .option('--to <seq|time>', 'last record: a seq or an ISO 8601 time')
    .option('--export <dir>', 'verify an exported CloudTrail directory instead of the live store')
    .option('--public-key <file>', 'audit public key (PEM); required with --export')
    .action((flags: AuditVerifyFlags) => runAndExit(PROCESS_IO, () => runAuditVerify(flags, PROCESS_IO)));
}
