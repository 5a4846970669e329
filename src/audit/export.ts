import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AuditRecordSource } from './audit-store.js';
import { parseDigestPayload } from './chain.js';
import type { ChainedRecord, SignedDigest } from './chain.js';
import { digestFilePath, logFilePath } from './export-format.js';
import type { ExportedDigestFile, ExportedLogFile } from './export-format.js';

/** Where the export says it came from: CloudTrail's account, home region and trail name. */
export interface AuditExportOptions {
  accountId: string;
  region: string;
  /** Default 'cipherlake'. */
  trailName?: string;
}

/** What was written, as paths relative to the export root. */
export interface AuditExportResult {
  logFiles: string[];
  digestFiles: string[];
  /** Highest seq exported; records after it are not yet signed and are left out. */
  exportedThroughSeq: number;
}

/**
 * Writes the signed part of a trail as CloudTrail files under `dir`: per stored digest,
 * one gzipped `{"Records":[...]}` log file holding that digest's records (their stored
 * canonical JSON, byte for byte) and one digest file with the signature, the log file's
 * SHA-256 and each record's chain hashes. Exports the store as it is, tampered or not:
 * run `verifyAuditExport` on the result. Call `trail.checkpoint()` first to include the
 * newest records. Names are derived from the digests, so a re-export rewrites the same
 * files. File system errors propagate.
 */
export async function exportAuditTrail(source: AuditRecordSource, dir: string, options: AuditExportOptions): Promise<AuditExportResult> {
  const result: AuditExportResult = { logFiles: [], digestFiles: [], exportedThroughSeq: 0 };
  let previous: { path: string; signature: string } | null = null;
  for await (const digest of source.digests()) {
    const payload = parseDigestPayload(digest.payloadJson);
    if (!payload) continue; // not ours to repair; the store's own verification reports it
    const rows: ChainedRecord[] = [];
    for await (const row of source.records({ fromSeq: payload.fromSeq, toSeq: payload.toSeq })) rows.push(row);
    const time = new Date(payload.time);
    const unique = payload.lastHash.slice(0, 16);
    const logFile = writeLogFile(dir, logFilePath(options.accountId, options.region, time, unique), rows);
    const path = digestFilePath(options.accountId, options.region, options.trailName ?? 'cipherlake', time, unique);
    writeGzip(dir, path, JSON.stringify(digestFile(options, path, payload.time, logFile, digest, previous)));
    result.logFiles.push(logFile.s3Object);
    result.digestFiles.push(path);
    result.exportedThroughSeq = Math.max(result.exportedThroughSeq, payload.toSeq);
    previous = { path, signature: digest.signature };
  }
  return result;
}

function writeLogFile(dir: string, path: string, rows: readonly ChainedRecord[]): ExportedLogFile {
  // The stored canonical JSON is spliced in unchanged, so each record re-hashes after a parse.
  const content = `{"Records":[${rows.map((r) => r.eventJson).join(',')}]}`;
  writeGzip(dir, path, content);
  const times = rows.map((r) => (JSON.parse(r.eventJson) as { eventTime?: string }).eventTime ?? '').filter((t) => t !== '').sort();
  return {
    s3Bucket: '',
    s3Object: path,
    hashValue: createHash('sha256').update(content, 'utf8').digest('hex'),
    hashAlgorithm: 'SHA-256',
    oldestEventTime: times[0] ?? null,
    newestEventTime: times.at(-1) ?? null,
    records: rows.map((r) => ({ seq: r.seq, prevHash: r.prevHash, hash: r.hash })),
  };
}

function digestFile(
  options: AuditExportOptions,
  path: string,
  time: string,
  logFile: ExportedLogFile,
  digest: SignedDigest,
  previous: { path: string; signature: string } | null,
): ExportedDigestFile {
  const payload = parseDigestPayload(digest.payloadJson);
  return {
    awsAccountId: options.accountId,
    digestStartTime: logFile.oldestEventTime,
    digestEndTime: time,
    digestS3Bucket: '',
    digestS3Object: path,
    digestPublicKeyFingerprint: payload?.keyId ?? '',
    digestSignatureAlgorithm: 'SHA256withECDSA',
    previousDigestS3Bucket: previous ? '' : null,
    previousDigestS3Object: previous?.path ?? null,
    previousDigestSignature: previous?.signature ?? null,
    logFiles: [logFile],
    cipherlake: { payload: digest.payloadJson, signature: digest.signature },
  };
}

function writeGzip(dir: string, path: string, content: string): void {
  const full = join(dir, ...path.split('/'));
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, gzipSync(Buffer.from(content, 'utf8')));
}
