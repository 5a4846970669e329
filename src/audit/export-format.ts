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
 * A digest file: CloudTrail's digest fields, plus `cipherlake`, the exact signed bytes and
 * signature (CloudTrail keeps the signature in S3 object metadata; a directory has none).
 * Only `cipherlake.payload` is signed; everything else is a convenience the verifier
 * cross-checks against the records.
 */
export interface ExportedDigestFile {
  awsAccountId: string;
  digestStartTime: string | null;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: 'SHA256withECDSA';
  previousDigestS3Bucket: string | null;
  previousDigestS3Object: string | null;
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

/** AWSLogs/ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_REGION_YYYYMMDDTHHmmssZ_UNIQUE.json.gz */
export function digestFilePath(account: string, region: string, trail: string, time: Date, unique: string): string {
  const name = `${account}_CloudTrail-Digest_${region}_${trail}_${region}_${stamp(time, true)}_${unique}.json.gz`;
  return `AWSLogs/${account}/CloudTrail-Digest/${region}/${dayDir(time)}/${name}`;
}
