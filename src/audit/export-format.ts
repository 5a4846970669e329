// The exported directory layout and the digest file shape (CloudTrail's, plus the chain).

/** One stored record's chain position, listed in the digest file for its log file. */
export interface ExportedRecordHash {
  seq: number;
  prevHash: string;
  hash: string;
}

/** A log file entry of a digest file. */
export interface ExportedLogFile {
  s3Bucket: string;
  s3Object: string; // path relative to the export root, '/'-separated
  hashValue: string; // SHA-256 hex of the uncompressed file
  hashAlgorithm: 'SHA-256';
  oldestEventTime: string | null;
  newestEventTime: string | null;
  records: ExportedRecordHash[];
}

/**
 * A digest file: CloudTrail's digest fields, plus `cipherlake`, the trail digest it carries
 * (the exact signed payload and its ECDSA signature by the audit key): only
 * `cipherlake.payload` is signed by the trail, and `cipherlake audit verify --export` checks
 * it and cross-checks everything else against the records. An export to a bucket is also
 * signed as CloudTrail signs its digest files (SHA256withRSA by the CloudTrail digest key,
 * over CloudTrail's string to sign, the signature in the object's metadata), so `aws
 * cloudtrail validate-logs` checks it; its bucket and keys are then the real ones.
 */
export interface ExportedDigestFile {
  awsAccountId: string;
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: 'SHA256withECDSA' | 'SHA256withRSA';
  newestEventTime: string | null;
  oldestEventTime: string | null;
  previousDigestS3Bucket: string | null;
  previousDigestS3Object: string | null;
  previousDigestHashValue: string | null;
  previousDigestHashAlgorithm: 'SHA-256' | null;
  previousDigestSignature: string | null;
  logFiles: ExportedLogFile[];
  cipherlake: { payload: string; signature: string };
}

const pad = (n: number): string => String(n).padStart(2, '0');

function stamp(d: Date, seconds: boolean): string {
  const date = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  return `${date}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${seconds ? pad(d.getUTCSeconds()) : ''}Z`;
}

function dayDir(d: Date): string {
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

/** AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz */
export function logFilePath(account: string, region: string, time: Date, unique: string): string {
  return `AWSLogs/${account}/CloudTrail/${region}/${dayDir(time)}/${account}_CloudTrail_${region}_${stamp(time, false)}_${unique}.json.gz`;
}

/**
 * AWSLogs/ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_REGION_YYYYMMDDTHHmmssZ.json.gz:
 * CloudTrail's name, which ends in its time (validate-logs reads the time from the name's
 * last 16 characters before `.json.gz`), so two digest files need two seconds (digestFileTime).
 */
export function digestFilePath(account: string, region: string, trail: string, time: Date): string {
  const name = `${account}_CloudTrail-Digest_${region}_${trail}_${region}_${stamp(time, true)}.json.gz`;
  return `AWSLogs/${account}/CloudTrail-Digest/${region}/${dayDir(time)}/${name}`;
}

/**
 * The time a digest file made at `time` is named by: its own second, or the second after
 * the previous file's (`previous`, in chain order) when that is not later (digests made
 * within one second, under load), so names are unique and sort in chain order.
 */
export function digestFileTime(time: Date, previous: Date | null): Date {
  const second = Math.floor(time.getTime() / 1000) * 1000;
  return new Date(previous === null ? second : Math.max(second, previous.getTime() + 1000));
}

/** CloudTrail's digest time format: `YYYY-MM-DDTHH:MM:SSZ`. */
export function cloudTrailTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
