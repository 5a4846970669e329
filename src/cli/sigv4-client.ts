import { createHash, createHmac } from 'node:crypto';
import { canonicalRequest, deriveSigningKey, rootPrincipal, type ParsedSignature } from '../iam/index.js';

/** Credentials a CLI command signs with. */
export interface ClientCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * Sends one SigV4-signed POST of a form body to `endpoint` (the Query protocols: EC2,
 * IAM, STS), built with the same canonical-request code the server verifies with.
 * Resolves with the status and the body text; rejects only for network errors. Never
 * prints or logs the secret.
 */
export async function signedFormPost(
  endpoint: string, service: string, region: string, credentials: ClientCredentials, form: Record<string, string>, accountId = '000000000000',
): Promise<{ status: number; text: string }> {
  const url = new URL(endpoint);
  const path = url.pathname === '' ? '/' : url.pathname;
  const body = Buffer.from(new URLSearchParams(form).toString());
  const headers = signHeaders(
    { method: 'POST', host: url.host, rawPath: path, headers: [['content-type', 'application/x-www-form-urlencoded; charset=utf-8']], body },
    { service, region, credentials, accountId },
  );
  const res = await fetch(new URL(path, endpoint), { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

/** Where and as whom a request is signed. */
export interface SigningScope {
  readonly service: string;
  readonly region: string;
  readonly credentials: ClientCredentials;
  readonly accountId: string;
}

/**
 * Sends one SigV4-signed PUT of `body` to `rawPath` (already URI-encoded, e.g.
 * `/bucket/key`) on `endpoint`, with `extraHeaders` (lower-case names) signed too and
 * the payload hash signed (not UNSIGNED-PAYLOAD). Resolves with the status and the body
 * text; rejects only for network errors. Never prints or logs the secret.
 */
export async function signedPut(
  endpoint: string, rawPath: string, extraHeaders: ReadonlyArray<readonly [string, string]>, body: Buffer, scope: SigningScope,
): Promise<{ status: number; text: string }> {
  const url = new URL(endpoint);
  const headers = signHeaders({ method: 'PUT', host: url.host, rawPath, headers: extraHeaders, body }, scope);
  const res = await fetch(`${url.origin}${rawPath}`, { method: 'PUT', headers, body });
  return { status: res.status, text: await res.text() };
}

interface UnsignedRequest {
  readonly method: string;
  readonly host: string;
  readonly rawPath: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
}

/** The request's headers plus x-amz-date, x-amz-content-sha256 and authorization (host is left to fetch). */
function signHeaders(req: UnsignedRequest, scope: SigningScope): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const payloadHash = createHash('sha256').update(req.body).digest('hex');
  const headers: Array<[string, string]> = [
    ...req.headers.map(([k, v]): [string, string] => [k, v]),
    ['host', req.host],
    ['x-amz-content-sha256', payloadHash],
    ['x-amz-date', amzDate],
  ];
  // SignedHeaders must be sorted; the canonical header block is built in this order.
  headers.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const { service, region, credentials } = scope;
  const sig: ParsedSignature = {
    accessKeyId: credentials.accessKeyId, date, region, service, signedHeaders: headers.map(([k]) => k), signature: '', amzDate, presigned: false,
  };
  const canonical = canonicalRequest({ method: req.method, rawPath: req.rawPath, rawQuery: '', headers }, sig, payloadHash);
  const credentialScope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = deriveSigningKey({ ...credentials, principal: rootPrincipal(scope.accountId) }, date, region, service);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${sig.signedHeaders.join(';')}, Signature=${signature}`;
  return Object.fromEntries([...headers.filter(([k]) => k !== 'host'), ['authorization', authorization]]);
}
