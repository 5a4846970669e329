import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { AuditRecordSource, SeqRange } from './audit-store.js';
import { canonicalJson } from './canonical-json.js';
import { recordHash } from './chain.js';
import type { ChainedRecord, SignedDigest } from './chain.js';
import { InvalidAuditExportError } from './errors.js';
import type { ExportedDigestFile, ExportedLogFile, ExportedRecordHash } from './export-format.js';
import type { AuditProblem } from './problems.js';
import { toPublicKey, verifyWithAny } from './signer.js';
import type { AuditPublicKey } from './signer.js';
import { verifyAudit } from './verify.js';
import type { AuditVerifyOptions, AuditVerifyReport } from './verify.js';

/**
 * Verifies a directory written by `exportAuditTrail` with only the public key(s): digest
 * signatures and chain, each log file against its digest, and each record against its
 * listed chain hashes, with the same findings as `verifyAudit` on a store plus the
 * export's own (missing, modified, unlisted log files; inserted records). An export
 * has no head counter, so removing the newest digest file with its log file is not
 * detectable from the directory alone (as with CloudTrail); compare `lastSignedSeq`
 * with the live trail. Raises InvalidAuditExportError when `dir` holds no AWSLogs tree.
 */
export async function verifyAuditExport(
  dir: string,
  publicKey: AuditPublicKey | readonly AuditPublicKey[],
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyReport> {
  const keys = (Array.isArray(publicKey) ? publicKey : [publicKey]).map((k: AuditPublicKey) => toPublicKey(k));
  const { source, problems } = readAuditExport(dir, keys);
  const report = await verifyAudit(source, keys, options);
  const all = [...report.problems, ...problems];
  return { ...report, problems: all, intact: all.length === 0 };
}

/**
 * Reads an export into a record source (records of validly signed digests only) plus the
 * problems found in the files themselves. Exposed for tools that want to look inside.
 */
export function readAuditExport(dir: string, keys: readonly KeyObject[]): { source: AuditRecordSource; problems: AuditProblem[] } {
  const root = join(dir, 'AWSLogs');
  if (!existsSync(root)) throw new InvalidAuditExportError('no AWSLogs directory in the export');
  const files = walk(root).map((f) => relative(dir, f).split(sep).join('/'));
  const digestFiles = files.filter((f) => f.includes('/CloudTrail-Digest/')).map((f) => readDigestFile(dir, f));
  digestFiles.sort((a, b) => a.order - b.order);
  const problems: AuditProblem[] = [];
  const rows = new Map<number, ChainedRecord>();
  const listed = new Set<string>();
  for (const d of digestFiles) {
    if (!d.file || !verifyWithAny(keys, Buffer.from(d.signed.payloadJson, 'utf8'), Buffer.from(d.signed.signature, 'base64'))) continue;
    for (const log of d.file.logFiles) {
      // An export written for a bucket names full keys: its files sit under the prefix its own key shows.
      const path = log.s3Object.startsWith(d.prefix) ? log.s3Object.slice(d.prefix.length) : log.s3Object;
      listed.add(path);
      for (const row of readLogFile(dir, path, log, problems)) if (!rows.has(row.seq)) rows.set(row.seq, row);
    }
  }
  for (const f of files) {
    if (f.includes('/CloudTrail/') && !listed.has(f)) problems.push({ kind: 'log-file-unlisted', path: f });
  }
  const sorted = [...rows.values()].sort((a, b) => a.seq - b.seq);
  const source: AuditRecordSource = {
    records: (range: SeqRange = {}) => sorted.filter((r) => r.seq >= (range.fromSeq ?? 1) && r.seq <= (range.toSeq ?? Infinity)),
    digests: () => digestFiles.map((d) => d.signed),
  };
  return { source, problems };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/**
 * A digest file and the trail digest it carries; `prefix` is the key prefix it was written
 * under (its digestS3Object less its path in the export: '' for a directory export), so a
 * bucket export downloaded from under its prefix finds its log files.
 */
function readDigestFile(dir: string, path: string): { file: ExportedDigestFile | null; signed: SignedDigest; order: number; prefix: string } {
  try {
    const file = JSON.parse(gunzipSync(readFileSync(join(dir, path))).toString('utf8')) as ExportedDigestFile;
    const signed = { payloadJson: String(file.cipherlake.payload), signature: String(file.cipherlake.signature) };
    const from = (JSON.parse(signed.payloadJson) as { fromSeq?: unknown }).fromSeq;
    const key = typeof file.digestS3Object === 'string' ? file.digestS3Object : '';
    const prefix = key.endsWith(path) ? key.slice(0, key.length - path.length) : '';
    return { file, signed, order: typeof from === 'number' ? from : Infinity, prefix };
  } catch {
    // unreadable: kept as a digest that cannot verify, so it is reported as forged
    return { file: null, signed: { payloadJson: '', signature: '' }, order: Infinity, prefix: '' };
  }
}

function readLogFile(dir: string, path: string, log: ExportedLogFile, problems: AuditProblem[]): ChainedRecord[] {
  const entries = log.records;
  const full = join(dir, ...path.split('/'));
  if (!existsSync(full)) {
    problems.push({ kind: 'log-file-missing', path, fromSeq: entries[0]?.seq ?? 0, toSeq: entries.at(-1)?.seq ?? 0 });
    return [];
  }
  let records: string[] = [];
  try {
    const content = gunzipSync(readFileSync(full));
    if (createHash('sha256').update(content).digest('hex') !== log.hashValue) problems.push({ kind: 'log-file-modified', path });
    records = (JSON.parse(content.toString('utf8')) as { Records: unknown[] }).Records.map((r) => canonicalJson(r));
  } catch {
    if (!problems.some((p) => p.kind === 'log-file-modified' && p.path === path)) problems.push({ kind: 'log-file-modified', path });
  }
  return align(records, entries, path, problems);
}

/**
 * Pairs each record of a log file with a listed chain entry. Equal counts pair by
 * position (so swaps show as swaps); fewer records skip entries the record does not
 * match (deletions); more records mark the unmatched ones as inserted.
 */
function align(records: readonly string[], entries: readonly ExportedRecordHash[], path: string, problems: AuditProblem[]): ChainedRecord[] {
  const rows: ChainedRecord[] = [];
  let k = 0;
  for (let j = 0; j < records.length; j += 1) {
    const json = records[j] ?? '';
    const skippable = Math.max(0, entries.length - k - (records.length - j));
    let m = -1;
    for (let t = k; t <= k + skippable && t < entries.length; t += 1) {
      if (matches(json, entries[t])) {
        m = t;
        break;
      }
    }
    const entry = m >= 0 ? entries[m] : entries[k];
    if (m < 0 && records.length - j > entries.length - k) {
      problems.push({ kind: 'record-inserted', path, afterSeq: (entries[k - 1]?.seq ?? (entries[0]?.seq ?? 1) - 1) });
      continue;
    }
    if (!entry) break;
    rows.push({ seq: entry.seq, prevHash: entry.prevHash, hash: entry.hash, eventJson: json });
    k = (m >= 0 ? m : k) + 1;
  }
  return rows;
}

function matches(json: string, e: ExportedRecordHash | undefined): boolean {
  if (!e) return false;
  try {
    return recordHash(e.prevHash, e.seq, json) === e.hash;
  } catch {
    return false;
  }
}
