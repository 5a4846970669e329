import type { Command } from 'commander';
import { exportAuditTrail } from '../../audit/index.js';
import { CliArgumentError } from '../errors.js';
import { openDataDirOffline } from '../open-data-dir.js';
import { auditCommand, configFor, PROCESS_IO, runAndExit, withDataDirOptions, type CliIo, type DataDirFlags } from './audit-group.js';

/** Flags of `cipherlake audit export`. */
export interface AuditExportFlags extends DataDirFlags {
  readonly dir?: string;
}

/**
 * `cipherlake audit export --dir DIR`: writes the signed part of the trail in CloudTrail's
 * layout (gzipped log and digest files under AWSLogs/) and prints each written path. Records
 * after the newest digest are left out and reported on stderr: an offline command must not
 * sign (the running server owns the digest chain); they are included after the server's next
 * digest (every 5 min or 10,000 records, and on shutdown). Returns exit code 0; raises
 * CliArgumentError without --dir, DataDirError for a missing store.
 */
export async function runAuditExport(flags: AuditExportFlags, io: CliIo): Promise<number> {
  if (flags.dir === undefined) throw new CliArgumentError('--dir DIR is required');
  const target = flags.dir;
  const config = configFor(flags);
  const dir = openDataDirOffline(config);
  try {
    const { result, head } = await dir.snapshot(async () => ({
      result: await exportAuditTrail(dir.auditStore, target, { accountId: config.accountId, region: config.region }),
      head: (await dir.auditStore.headSeq()) ?? 0,
    }));
    for (const path of [...result.logFiles, ...result.digestFiles]) io.out(path);
    io.err(`exported records 1..${result.exportedThroughSeq} (${result.logFiles.length} log files) to ${target}`);
    if (head > result.exportedThroughSeq) io.err(`records ${result.exportedThroughSeq + 1}..${head} are not yet signed and were left out`);
    return 0;
  } finally {
    dir.close();
  }
}

/** Registers `cipherlake audit export`. */
export function registerAuditExportCommand(program: Command): void {
  withDataDirOptions(auditCommand(program).command('export'))
    .description('export the signed audit trail in CloudTrail file layout (gzipped JSON + digest files)')
    .option('--dir <dir>', 'target directory (created if needed)')
    .action((flags: AuditExportFlags) => runAndExit(PROCESS_IO, () => runAuditExport(flags, PROCESS_IO)));
}
