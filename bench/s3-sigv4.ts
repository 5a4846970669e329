/**
 * The S3 benchmarks' light client side: SigV4 header signing with UNSIGNED-PAYLOAD (the body
 * is never hashed, as the AWS CLI does over TLS), for undici requests. Every header named
 * host or x-amz-* is signed; content-length and the like are left to the caller.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Target } from './s3-targets.js';

/** Headers as undici takes them: lower-case names. */
export type S3Headers = Record<string, string>;

/**
 * The SigV4 headers of an S3 request (region us-east-1) to `t`'s endpoint: x-amz-date,
 * x-amz-content-sha256 (UNSIGNED-PAYLOAD), `extra` and authorization; without host, which
 * undici sets itself (to the same value that was signed). `path` must already be
 * URI-encoded and carry no query string; `query` is the request's query string in canonical
 * form (names sorted, names and values URI-encoded, `name=` for a name without a value:
 * `partNumber=1&uploadId=…`), sent after `?` by the caller. Never throws for a reachable input.
 */
export function signS3(t: Pick<Target, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>, method: string, path: string, extra: S3Headers, query = ''): S3Headers {
  const host = new URL(t.endpoint).host;
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const headers: S3Headers = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': amzDate, ...extra };
  const names = Object.keys(headers).map((n) => n.toLowerCase()).filter((n) => n === 'host' || n.startsWith('x-amz-')).sort();
  const canonical = [method, path, query, ...names.map((n) => `${n}:${headers[n]!.trim()}`), '', names.join(';'), 'UNSIGNED-PAYLOAD'].join('\n');
  const scope = `${date}/us-east-1/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  let k: Buffer = createHmac('sha256', `AWS4${t.secretAccessKey}`).update(date).digest();
  for (const part of ['us-east-1', 's3', 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
  const signature = createHmac('sha256', k).update(toSign).digest('hex');
  const out: S3Headers = { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${t.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
  delete out.host;
  return out;
}
