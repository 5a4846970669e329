import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { exportAuditTrail } from '../../audit/index.js';
import { CliArgumentError } from '../errors.js';
import { CLOUDTRAIL_DIGEST_ALIAS } from '../../kms/index.js';
import { openDataDirOffline, readCloudTrailDigestSigner } from '../open-data-dir.js';
import { bucketTarget, uploadExport, type BucketTarget } from './audit-export-bucket.js';
import { auditCommand, configFor, PROCESS_IO, runAndExit, withDataDirOptions, type CliIo, type DataDirFlags } from './audit-group.js';
import { unchainedReport, type UnchainedReport } from './audit-unchained.js';

/** Flags of `cipherlake audit export`. */
export interface AuditExportFlags extends DataDirFlags {
  readonly dir?: string;
  /** Upload the export into this bucket of a running server (SSE-KMS) instead of, or as well as, --dir. */
  readonly bucket?: string;
  readonly prefix?: string;
  readonly kmsKeyId?: string;
  readonly endpoint?: string;
}

/**
 * `cipherlake audit export --dir DIR | --bucket NAME`: writes the signed part of the trail in
 * CloudTrail's layout (gzipped log and digest files under AWSLogs/) and prints each written
 * path. With --bucket the files are written to --dir (or a temporary directory, removed
 * afterwards) and then PUT, under --prefix with the same relative keys, into that bucket of
 * the running server at --endpoint with SSE-KMS (--kms-key-id, else the bucket default, else
 * alias/aws/s3), signed with the root credentials; the printed paths are then object keys.
 * A bucket export's digest files are also signed as CloudTrail signs them, by the KMS's
 * CloudTrail digest key (which the server makes at start; without it, stderr says so and
 * the files go unsigned), so `aws cloudtrail validate-logs` checks them in the bucket.
 * Records after the newest digest are left out and reported on stderr: an offline command
 * must not sign (the running server owns the digest chain); they are included after the
 * server's next digest (every 5 min or 10,000 records, and on shutdown). Acknowledged records
 * a killed server left in its audit journals (not chained yet) are never exported either:
 * stderr says how many and which journal files hold them (see unchainedReport); the next
 * server start chains them. Never writes the data directory. Returns exit code 0;
 * raises CliArgumentError without --dir or --bucket (or for bucket-only flags alone),
 * DataDirError for a missing store or credentials, ServerRefusedError when the server
 * refuses a PUT.
 */
export async function runAuditExport(flags: AuditExportFlags, io: CliIo): Promise<number> {
  const target = flags.bucket !== undefined ? bucketTarget({ ...flags, bucket: flags.bucket }) : undefined;
  if (target === undefined && (flags.prefix ?? flags.kmsKeyId ?? flags.endpoint) !== undefined) {
    throw new CliArgumentError('--prefix, --kms-key-id and --endpoint need --bucket NAME');
  }
  if (target === undefined && flags.dir === undefined) throw new CliArgumentError('--dir DIR or --bucket NAME is required');
  const out = flags.dir ?? mkdtempSync(join(tmpdir(), 'cipherlake-audit-export-'));
  try {
    return await exportAndUpload(flags, out, target, io);
  } finally {
    if (flags.dir === undefined) rmSync(out, { recursive: true, force: true });
  }
}

async function exportAndUpload(flags: AuditExportFlags, out: string, target: BucketTarget | undefined, io: CliIo): Promise<number> {
  const config = configFor(flags);
  // The journals before the chain (as verify and lookup read them): a record a running server
  // chains in between is then in its notice and perhaps the export, never missed by both.
  const journals = unchainedReport(config);
  // A bucket export is signed as CloudTrail signs its digest files, so validate-logs checks it.
  const signer = target !== undefined ? await readCloudTrailDigestSigner(config) : undefined;
  const options = {
    accountId: config.accountId,
    region: config.region,
    ...(target !== undefined ? { destination: { bucket: target.bucket, prefix: target.prefix } } : {}),
    ...(signer !== undefined ? { signer } : {}),
  };
  const dir = openDataDirOffline(config);
  try {
    const { result, head } = await dir.snapshot(async () => ({
      result: await exportAuditTrail(dir.auditStore, out, options),
      head: (await dir.auditStore.headSeq()) ?? 0,
    }));
    const paths = [...result.logFiles, ...result.digestFiles];
    const written = target === undefined ? paths : await uploadExport(out, paths, target, config, result.digestSignatures);
    for (const path of written) io.out(path);
    const where = target === undefined ? out : `s3://${target.bucket}/${target.prefix}`;
    io.err(`exported records 1..${result.exportedThroughSeq} (${result.logFiles.length} log files) to ${where}`);
    if (head > result.exportedThroughSeq) io.err(`records ${result.exportedThroughSeq + 1}..${head} are not yet signed and were left out`);
    if (target !== undefined && signer === undefined) io.err(`no ${CLOUDTRAIL_DIGEST_ALIAS} key yet (the server makes it at its next start): the digest files carry no CloudTrail signature, so aws cloudtrail validate-logs cannot check them; cipherlake audit verify --export can`);
    reportUnchained(journals, io);
    return 0;
  } finally {
    dir.close();
  }
}

/**
 * Says on stderr what the export could not hold: acknowledged records a stopped server left
 * in its journals (never in export files: those are covered by digests, and these records
 * have no seq, hash or digest yet), and damaged journal frames.
 */
function reportUnchained(journals: UnchainedReport, io: CliIo): void {
  if (journals.notice !== null) io.err(`cipherlake: ${journals.notice}`);
  if (!journals.inUse && journals.records > 0) {
    io.err(`cipherlake: ${journals.records} acknowledged records in unchained audit journals (a server stopped before chaining them; its next start does) were left out: export again after that start`);
  }
  for (const line of journals.findings) io.err(`cipherlake: ${line}`);
}

/** Registers `cipherlake audit export`. */
export function registerAuditExportCommand(program: Command): void {
  withDataDirOptions(auditCommand(program).command('export'))
    .description('export the signed audit trail in CloudTrail file layout (gzipped JSON + digest files)')
    .option('--dir <dir>', 'target directory (created if needed)')
    .option('--bucket <name>', 'upload into this bucket of a running server, SSE-KMS (root credentials)')
    .option('--prefix <prefix>', 'key prefix in the bucket (default none)')
    .option('--kms-key-id <key>', 'SSE-KMS key (default: the bucket default, else alias/aws/s3)')
    .option('-e, --endpoint <url>', 'Cipherlake endpoint for --bucket (default: the configured HTTP listener)')
    .action((flags: AuditExportFlags) => runAndExit(PROCESS_IO, () => runAuditExport(flags, PROCESS_IO)));
}
