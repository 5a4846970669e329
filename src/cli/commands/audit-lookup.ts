import type { Command } from 'commander';
import type { AuditEvent, AuditLookupQuery, AuditStore } from '../../audit/index.js';
import { CliArgumentError } from '../errors.js';
import { openDataDirOffline } from '../open-data-dir.js';
import { lookupUnchained, unchainedReport } from './audit-unchained.js';
import { auditCommand, configFor, parsePositiveInt, parseTime, PROCESS_IO, runAndExit, withDataDirOptions, type CliIo, type DataDirFlags } from './audit-group.js';

/** Flags of `cipherlake audit lookup` (strings as commander gives them). */
export interface AuditLookupFlags extends DataDirFlags {
  readonly eventName?: string;
  readonly eventSource?: string;
  /** A key id, key ARN, alias name or alias ARN. */
  readonly key?: string;
  /** A principal ARN, principal id or access key id. */
  readonly principal?: string;
  readonly bucket?: string;
  readonly start?: string;
  readonly end?: string;
  readonly errorsOnly?: boolean;
  readonly accessDeniedOnly?: boolean;
  /** Most events to print (default 50). */
  readonly max?: string;
  /** `table` (default) or `json` (one CloudTrail record per line). */
  readonly output?: string;
}

const PAGE_LIMIT = 1000;

/**
 * `cipherlake audit lookup`: prints matching records, newest first, as a table or as JSON
 * lines (each line one record exactly as stored). All filters must match. Also searches the
 * acknowledged records a stopped server left in its audit journals (not chained into audit.db
 * until the next start), with the same filters: those are newer than every chained record,
 * so they come first, and a notice on stderr says how many were searched and matched (and
 * names any invalid journal frame, whose bytes from there cannot be read). A running
 * server's journal is chained within milliseconds and not read. Returns exit code 0 (also
 * when nothing matches); raises CliArgumentError for a bad flag, InvalidAuditQueryError for
 * an inverted time range, DataDirError for a missing store. Never writes to the store or the
 * journals.
 */
export async function runAuditLookup(flags: AuditLookupFlags, io: CliIo): Promise<number> {
  const output = flags.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new CliArgumentError('--output must be table or json');
  const max = flags.max !== undefined ? parsePositiveInt(flags.max, '--max') : 50;
  const query = queryOf(flags);
  const config = configFor(flags);
  // The journals before audit.db, so that a record chained in between is found twice at worst, never missed.
  const journals = unchainedReport(config, { batches: true });
  const unchained = await lookupUnchained(journals.batches, query, max);
  const dir = openDataDirOffline(config);
  let events: AuditEvent[];
  try {
    events = [...unchained.events, ...(await lookupChained(dir.auditStore, query, max - unchained.events.length))];
  } finally {
    dir.close();
  }
  if (output === 'json') for (const e of events) io.out(JSON.stringify(e));
  else for (const line of table(events)) io.out(line);
  if (unchained.searched + unchained.skipped > 0) {
    const skipped = unchained.skipped > 0 ? `; ${unchained.skipped} unreadable` : '';
    io.err(`cipherlake: also searched ${unchained.searched} acknowledged records in unchained audit journals (a server stopped before chaining them; its next start does): ${unchained.events.length} matched, listed first${skipped}`);
  }
  for (const line of journals.damage) io.err(`cipherlake: ${line}`);
  return 0;
}

/** Up to `max` events of `store` matching `query`, newest first, paging through it. */
async function lookupChained(store: AuditStore, query: AuditLookupQuery, max: number): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let nextToken: string | undefined;
  while (events.length < max) {
    const page = await store.lookup({ ...query, limit: Math.min(PAGE_LIMIT, max - events.length), ...(nextToken !== undefined ? { nextToken } : {}) });
    events.push(...page.records.map((r) => r.event));
    nextToken = page.nextToken;
    if (nextToken === undefined) break;
  }
  return events;
}

function queryOf(f: AuditLookupFlags): AuditLookupQuery {
  return {
    ...(f.eventName !== undefined ? { eventName: f.eventName } : {}),
    ...(f.eventSource !== undefined ? { eventSource: f.eventSource.includes('.') ? f.eventSource : `${f.eventSource}.amazonaws.com` } : {}),
    ...(f.key !== undefined ? { keyId: f.key } : {}),
    ...(f.principal !== undefined ? { principal: f.principal } : {}),
    ...(f.bucket !== undefined ? { bucket: f.bucket } : {}),
    ...(f.start !== undefined ? { startTime: parseTime(f.start, '--start') } : {}),
    ...(f.end !== undefined ? { endTime: parseTime(f.end, '--end') } : {}),
    ...(f.errorsOnly === true ? { errorsOnly: true } : {}),
    ...(f.accessDeniedOnly === true ? { accessDeniedOnly: true } : {}),
  };
}

const COLUMNS = ['EVENT TIME', 'SOURCE', 'EVENT NAME', 'PRINCIPAL', 'RESOURCE', 'ERROR', 'REQUEST ID'] as const;

function row(e: AuditEvent): string[] {
  const who = e.userIdentity.arn ?? e.userIdentity.accessKeyId ?? e.userIdentity.type;
  return [e.eventTime, e.eventSource.replace(/\.amazonaws\.com$/, ''), e.eventName, who, e.resources?.[0]?.ARN ?? '-', e.errorCode ?? '-', e.requestID];
}

/** Fixed-width columns; the last column is not padded. */
function table(events: readonly AuditEvent[]): string[] {
  const rows = [[...COLUMNS], ...events.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '));
}

/** Registers `cipherlake audit lookup`. */
export function registerAuditLookupCommand(program: Command): void {
  withDataDirOptions(auditCommand(program).command('lookup'))
    .description('find audit records, newest first (all filters must match), also those a stopped server left unchained in its audit journals')
    .option('--event-name <name>', 'e.g. Encrypt, PutObject')
    .option('--event-source <source>', 'e.g. kms.amazonaws.com (or kms)')
    .option('--key <id|alias>', 'a KMS key id, key ARN, alias name or alias ARN')
    .option('--principal <arn|id|access-key>', 'a principal ARN, principal id or access key id')
    .option('--bucket <name>', 'an S3 bucket')
    .option('--start <time>', 'only records at or after this time (ISO 8601)')
    .option('--end <time>', 'only records at or before this time (ISO 8601)')
    .option('--errors-only', 'only failed or denied calls')
    .option('--access-denied-only', 'only calls denied for access')
    .option('--max <n>', 'most records to print (default 50)')
    .option('-o, --output <format>', 'table (default) or json (one record per line)')
    .action((flags: AuditLookupFlags) => runAndExit(PROCESS_IO, () => runAuditLookup(flags, PROCESS_IO)));
}
