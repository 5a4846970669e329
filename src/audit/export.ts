import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AuditRecordSource } from './audit-store.js';
import { parseDigestPayload } from './chain.js';
import type { ChainedRecord, SignedDigest } from './chain.js';
import { cloudTrailTime, digestFileTime, digestFilePath, logFilePath } from './export-format.js';
import type { ExportedDigestFile, ExportedLogFile } from './export-format.js';

/** Where the export says it came from: CloudTrail's account, home region and trail name. */
export interface AuditExportOptions {
  accountId: string;
  region: string;
  /** Default 'cipherlake'. */
  trailName?: string;
  /**
   * The bucket and key prefix (empty, or ending in '/') the files are written for: digest
   * files then name their own and their log files' objects as CloudTrail does (bucket and
   * full key). Without it they name paths relative to the export root, with an empty bucket.
   */
  destination?: { bucket: string; prefix: string };
  /** Signs each digest file as CloudTrail does (needs `destination`: the signed text names the object). */
  signer?: CloudTrailDigestSigner;
}

/** Signs digest files for `aws cloudtrail validate-logs`: the CloudTrail digest key, as ListPublicKeys lists it. */
export interface CloudTrailDigestSigner {
  /** The key's fingerprint as ListPublicKeys gives it (digestPublicKeyFingerprint). */
  readonly fingerprint: string;
  /** SHA256withRSA (PKCS#1 v1.5) over `message`. */
  sign(message: Buffer): Buffer;
}

/** What was written, as paths relative to the export root. */
export interface AuditExportResult {
  logFiles: string[];
  digestFiles: string[];
  /** Highest seq exported; records after it are not yet signed and are left out. */
  exportedThroughSeq: number;
  /** With a signer: each digest file's signature (hex), for its object's `signature` metadata. */
  digestSignatures: Map<string, string>;
}

/** The digest file before, as the next one links to it. */
interface PreviousDigest {
  readonly key: string;
  readonly endTime: string;
  readonly hash: string;
  /** The CloudTrail signature (hex) when signed, else the trail digest's ECDSA signature (base64). */
  readonly signature: string;
}

/**
 * Writes the signed part of a trail as CloudTrail files under `dir`: per stored digest,
 * one gzipped `{"Records":[...]}` log file holding that digest's records (their stored
 * canonical JSON, byte for byte) and one digest file with the trail digest (payload and
 * signature), the log file's SHA-256 and each record's chain hashes, linked to the digest
 * file before it. With `signer` each digest file is also signed as CloudTrail signs its
 * own (the result's digestSignatures). Exports the store as it is, tampered or not:
 * run `verifyAuditExport` on the result. Call `trail.checkpoint()` first to include the
 * newest records. Names are derived from the digests, so a re-export rewrites the same
 * files (RSA PKCS#1 v1.5 signatures are deterministic: the same bytes). File system errors
 * propagate; a signer without a destination is a TypeError.
 */
export async function exportAuditTrail(source: AuditRecordSource, dir: string, options: AuditExportOptions): Promise<AuditExportResult> {
  if (options.signer !== undefined && options.destination === undefined) throw new TypeError('a CloudTrail digest signer needs the destination bucket');
  const result: AuditExportResult = { logFiles: [], digestFiles: [], exportedThroughSeq: 0, digestSignatures: new Map() };
  const bucket = options.destination?.bucket ?? '';
  const prefix = options.destination?.prefix ?? '';
  let previous: PreviousDigest | null = null;
  let lastNamed: Date | null = null;
  for await (const digest of source.digests()) {
    const payload = parseDigestPayload(digest.payloadJson);
    if (!payload) continue; // not ours to repair; the store's own verification reports it
    const rows: ChainedRecord[] = [];
    for await (const row of source.records({ fromSeq: payload.fromSeq, toSeq: payload.toSeq })) rows.push(row);
    const time = new Date(payload.time);
    const named = digestFileTime(time, lastNamed);
    lastNamed = named;
    const logPath = logFilePath(options.accountId, options.region, time, payload.lastHash.slice(0, 16));
    const logFile = writeLogFile(dir, logPath, rows, bucket, prefix);
    const path = digestFilePath(options.accountId, options.region, options.trailName ?? 'cipherlake', named);
    const file = digestFile(options, `${prefix}${path}`, cloudTrailTime(named), logFile, digest, previous);
    const content = Buffer.from(JSON.stringify(file), 'utf8');
    writeGzip(dir, path, content);
    const hash = createHash('sha256').update(content).digest('hex');
    let signature = digest.signature;
    if (options.signer !== undefined) {
      // CloudTrail's string to sign (what validate-logs rebuilds): end time, bucket/key, the file's SHA-256, the previous signature.
      const toSign = `${file.digestEndTime}\n${bucket}/${file.digestS3Object}\n${hash}\n${previous?.signature ?? 'null'}`;
      signature = options.signer.sign(Buffer.from(toSign, 'utf8')).toString('hex');
      result.digestSignatures.set(path, signature);
    }
    result.logFiles.push(logPath);
    result.digestFiles.push(path);
    result.exportedThroughSeq = Math.max(result.exportedThroughSeq, payload.toSeq);
    previous = { key: file.digestS3Object, endTime: file.digestEndTime, hash, signature };
  }
  return result;
}

function writeLogFile(dir: string, path: string, rows: readonly ChainedRecord[], bucket: string, prefix: string): ExportedLogFile {
  // The stored canonical JSON is spliced in unchanged, so each record re-hashes after a parse.
  const content = `{"Records":[${rows.map((r) => r.eventJson).join(',')}]}`;
  writeGzip(dir, path, Buffer.from(content, 'utf8'));
  const times = rows.map((r) => (JSON.parse(r.eventJson) as { eventTime?: string }).eventTime ?? '').filter((t) => t !== '').sort();
  return {
    s3Bucket: bucket,
    s3Object: `${prefix}${path}`,
    hashValue: createHash('sha256').update(content, 'utf8').digest('hex'),
    hashAlgorithm: 'SHA-256',
    oldestEventTime: times[0] ?? null,
    newestEventTime: times.at(-1) ?? null,
    records: rows.map((r) => ({ seq: r.seq, prevHash: r.prevHash, hash: r.hash })),
  };
}

function digestFile(
  options: AuditExportOptions,
  key: string,
  endTime: string,
  logFile: ExportedLogFile,
  digest: SignedDigest,
  previous: PreviousDigest | null,
): ExportedDigestFile {
  const payload = parseDigestPayload(digest.payloadJson);
  return {
    awsAccountId: options.accountId,
    // CloudTrail's range: from the previous digest file's end (the first: its oldest event).
    digestStartTime: previous?.endTime ?? logFile.oldestEventTime ?? endTime,
    digestEndTime: endTime,
    digestS3Bucket: options.destination?.bucket ?? '',
    digestS3Object: key,
    digestPublicKeyFingerprint: options.signer?.fingerprint ?? payload?.keyId ?? '',
    digestSignatureAlgorithm: options.signer !== undefined ? 'SHA256withRSA' : 'SHA256withECDSA',
    newestEventTime: logFile.newestEventTime,
    oldestEventTime: logFile.oldestEventTime,
    previousDigestS3Bucket: previous ? (options.destination?.bucket ?? '') : null,
    previousDigestS3Object: previous?.key ?? null,
    previousDigestHashValue: previous?.hash ?? null,
    previousDigestHashAlgorithm: previous ? 'SHA-256' : null,
    previousDigestSignature: previous?.signature ?? null,
    logFiles: [logFile],
    cipherlake: { payload: digest.payloadJson, signature: digest.signature },
  };
}

function writeGzip(dir: string, path: string, content: Buffer): void {
  const full = join(dir, ...path.split('/'));
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, gzipSync(content));
}
