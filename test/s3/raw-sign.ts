import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';

/** node:crypto as the @smithy signer's hash constructor. */
class NodeSha256 {
  readonly #h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.#h.digest();
  }
}

function bytes(d: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof d === 'string') return d;
  return ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);
}

/** A SigV4 signer for the test credentials (or `secretAccessKey`, `region`, `service`), as the S3 SDKs sign: no path re-escaping, no added checksum. */
export const signer = (secretAccessKey = TEST_SECRET_ACCESS_KEY, region = TEST_REGION, service = 's3'): SignatureV4 =>
  new SignatureV4({ service, region, credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey }, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
}

function toSmithy(endpoint: string, r: RawRequest): { method: string; protocol: string; hostname: string; port: number; path: string; query: Record<string, string>; headers: Record<string, string>; body?: Buffer } {
  const url = new URL(endpoint);
  return { method: r.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: r.path, query: r.query ?? {}, headers: { host: url.host, ...(r.headers ?? {}) }, ...(r.body !== undefined ? { body: r.body } : {}) };
}

function urlOf(endpoint: string, path: string, query: Record<string, string>): string {
  const q = new URLSearchParams(query).toString().replace(/\+/g, '%20');
  return `${endpoint}${path}${q === '' ? '' : `?${q}`}`;
}

/** Sends a request signed with SigV4 in the Authorization header (headers as given, e.g. a custom x-amz-content-sha256). */
export async function signedFetch(endpoint: string, r: RawRequest, opts: { date?: Date; secret?: string; region?: string; service?: string } = {}): Promise<Response> {
  const signed = await signer(opts.secret, opts.region, opts.service).sign(toSmithy(endpoint, r), { signingDate: opts.date ?? new Date() });
  const headers = { ...(signed.headers as Record<string, string>) };
  delete headers.host;
  return fetch(urlOf(endpoint, r.path, signed.query as Record<string, string>), { method: r.method, headers, ...(r.body !== undefined ? { body: r.body } : {}) });
}

/** A presigned URL for the request, valid `expiresIn` seconds from `date`, its credential scoped to `region`. */
export async function presignedUrl(endpoint: string, r: RawRequest, expiresIn: number, date = new Date(), region = TEST_REGION): Promise<string> {
  // As @aws-sdk/s3-request-presigner does: the payload is UNSIGNED-PAYLOAD, the header itself is neither signed nor sent.
  const request = toSmithy(endpoint, { ...r, headers: { ...(r.headers ?? {}), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  const unsigned = new Set(['x-amz-content-sha256']);
  const signed = await signer(undefined, region).presign(request, { expiresIn, signingDate: date, unsignableHeaders: unsigned, unhoistableHeaders: unsigned });
  return urlOf(endpoint, r.path, signed.query as Record<string, string>);
}

/**
 * A request signed in the Authorization header whose body, when given, carries its Content-MD5
 * (as S3's XML operations want); answers xmlCode's "<status> <S3 error code>".
 */
export async function signedXmlCode(endpoint: string, method: string, path: string, query: Record<string, string>, body?: Buffer): Promise<string> {
  const headers = body !== undefined ? { 'content-md5': createHash('md5').update(body).digest('base64') } : {};
  return xmlCode(await signedFetch(endpoint, { method, path, query, headers, ...(body !== undefined ? { body } : {}) }));
}

/** The S3 error code in an XML error body. */
export async function xmlCode(res: Response): Promise<string> {
  const text = await res.text();
  return `${res.status} ${/<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? ''}`;
}
