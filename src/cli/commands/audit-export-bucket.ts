import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import type { CipherlakeConfig } from '../../config/config.js';
import { CLOUDTRAIL_SIGNATURE_ALGORITHM } from '../../kms/index.js';
import { CliArgumentError, ServerRefusedError } from '../errors.js';
import { signedPut } from '../sigv4-client.js';
import { cliRootCredentials } from '../root-credentials.js';

/** Where `cipherlake audit export --bucket` uploads to. */
export interface BucketTarget {
  readonly bucket: string;
  /** Key prefix put before each relative path ('' for none; a trailing '/' is added if missing). */
  readonly prefix: string;
  /** SSE-KMS key id, ARN or alias; absent means the bucket default (else alias/aws/s3). */
  readonly kmsKeyId?: string;
  /** The running server's S3 endpoint (default: the configured HTTP listener). */
  readonly endpoint?: string;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false });

/**
 * Builds the bucket target from the export flags. Raises CliArgumentError for a malformed
 * bucket name or a prefix that starts with '/'. Never contacts the server.
 */
export function bucketTarget(flags: { bucket: string; prefix?: string; kmsKeyId?: string; endpoint?: string }): BucketTarget {
  if (!BUCKET_NAME.test(flags.bucket)) throw new CliArgumentError(`--bucket: ${JSON.stringify(flags.bucket)} is not a bucket name`);
  const raw = flags.prefix ?? '';
  if (raw.startsWith('/')) throw new CliArgumentError('--prefix must not start with "/"');
  const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
  return {
    bucket: flags.bucket, prefix,
    ...(flags.kmsKeyId !== undefined ? { kmsKeyId: flags.kmsKeyId } : {}),
    ...(flags.endpoint !== undefined ? { endpoint: flags.endpoint } : {}),
  };
}

/**
 * Uploads each file (paths relative to `root`, '/'-separated) to `PREFIX + path` in the
 * bucket with SSE-KMS, one signed PUT at a time, signed with the root credentials of the
 * configuration or data directory; a file with an entry in `signatures` (a digest file
 * signed as CloudTrail signs them) carries it as CloudTrail's object metadata
 * (`x-amz-meta-signature`, hex, and `x-amz-meta-signature-algorithm`), where `aws cloudtrail
 * validate-logs` reads it. Resolves with the object keys written, in order.
 * Raises DataDirError without credentials and ServerRefusedError naming S3's code and the
 * key when a PUT is refused (files before it stay uploaded; a re-run overwrites them with the same
 * bytes). Never logs the secret.
 */
export async function uploadExport(root: string, paths: readonly string[], target: BucketTarget, config: CipherlakeConfig, signatures: ReadonlyMap<string, string> = new Map()): Promise<string[]> {
  const endpoint = target.endpoint ?? `http://${config.http.host}:${config.http.port}`;
  const scope = { service: 's3', region: config.region, credentials: cliRootCredentials(config), accountId: config.accountId };
  const sse: Array<[string, string]> = [['x-amz-server-side-encryption', 'aws:kms']];
  if (target.kmsKeyId !== undefined) sse.push(['x-amz-server-side-encryption-aws-kms-key-id', target.kmsKeyId]);
  const keys: string[] = [];
  for (const path of paths) {
    const key = `${target.prefix}${path}`;
    const rawPath = `/${encodeURIComponent(target.bucket)}/${key.split('/').map(encodeSegment).join('/')}`;
    // Content-Type, not Content-Encoding: a client must hand back the gzip bytes as stored.
    const headers: Array<[string, string]> = [['content-type', 'application/x-gzip'], ...sse];
    const signature = signatures.get(path);
    if (signature !== undefined) headers.push(['x-amz-meta-signature', signature], ['x-amz-meta-signature-algorithm', CLOUDTRAIL_SIGNATURE_ALGORITHM]);
    const res = await signedPut(endpoint, rawPath, headers, readFileSync(join(root, ...path.split('/'))), scope);
    if (res.status !== 200) throw new ServerRefusedError(`PUT s3://${target.bucket}/${key} failed: ${s3ErrorText(res.status, res.text)}`);
    keys.push(key);
  }
  return keys;
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded, as SigV4 does. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function s3ErrorText(status: number, text: string): string {
  try {
    const error = (parser.parse(text) as { Error?: { Code?: string; Message?: string } }).Error;
    if (error?.Code !== undefined) return `${error.Code}: ${error.Message ?? ''}`;
  } catch {
    // not XML: fall through to the status
  }
  return `HTTP ${status}`;
}
