import assert from 'node:assert/strict';
import { createHash, createHmac, type Hash as NodeHash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from './server.js';

/** SHA-256 (or HMAC-SHA256 with a secret) over node:crypto, in the shape @smithy/signature-v4 wants. */
export class NodeSha256 implements Checksum {
  #h: NodeHash | Hmac;
  readonly #secret: SourceData | undefined;
  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#h = this.#fresh();
  }
  #fresh(): NodeHash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.#secret));
  }
  update(data: Uint8Array | string): void {
    this.#h.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.#h.digest();
  }
  reset(): void {
    this.#h = this.#fresh();
  }
}

function toBuffer(d: SourceData): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}

export interface RawKmsRequest {
  /** Full X-Amz-Target value, e.g. `TrentService.Encrypt`. */
  readonly target?: string;
  readonly body: string | Buffer;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly region?: string;
  readonly service?: string;
  /** The signing time (default: now). */
  readonly signingDate?: Date;
  /** Changes the signed request before it is sent (tamper after signing). */
  readonly afterSigning?: (r: { headers: Record<string, string>; body: string | Buffer }) => void;
  /** Extra headers, set before signing (so they are signed). */
  readonly headers?: Record<string, string>;
  /** Skip signing entirely. */
  readonly unsigned?: boolean;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly json: { __type?: string; message?: string; [k: string]: unknown };
}

/**
 * Sends one KMS JSON 1.1 request signed with @smithy/signature-v4 (the SDK's own signer)
 * and returns the status and parsed JSON body. Never throws for an HTTP error status.
 */
export async function rawKmsRequest(endpoint: string, r: RawKmsRequest): Promise<RawResponse> {
  const url = new URL(endpoint);
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/x-amz-json-1.1',
    ...(r.target !== undefined ? { 'x-amz-target': r.target } : {}),
    ...r.headers,
  };
  let body = r.body;
  let sent = { headers, body };
  if (!r.unsigned) {
    const signer = new SignatureV4({
      credentials: { accessKeyId: r.accessKeyId ?? TEST_ACCESS_KEY_ID, secretAccessKey: r.secretAccessKey ?? TEST_SECRET_ACCESS_KEY },
      region: r.region ?? TEST_REGION,
      service: r.service ?? 'kms',
      sha256: NodeSha256,
    });
    const signed = await signer.sign(
      { method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers, body },
      r.signingDate !== undefined ? { signingDate: r.signingDate } : {},
    );
    sent = { headers: { ...(signed.headers as Record<string, string>) }, body };
  }
  r.afterSigning?.(sent);
  body = sent.body;
  const { host: _host, ...sendHeaders } = sent.headers;
  const res = await fetch(new URL('/', endpoint), { method: 'POST', headers: sendHeaders, body });
  const text = await res.text();
  let json: RawResponse['json'] = {};
  try {
    json = JSON.parse(text) as RawResponse['json'];
  } catch {
    json = { message: text };
  }
  return { status: res.status, headers: res.headers, json };
}

/**
 * Sends `count` GenerateDataKey (AES_256) requests for `keyId` one after another and returns
 * their request ids, in order. Fails the test on any answer other than 200.
 */
export async function generateDataKeys(endpoint: string, keyId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await rawKmsRequest(endpoint, { target: 'TrentService.GenerateDataKey', body: JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' }) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    ids.push(r.headers.get('x-amzn-requestid') ?? '');
  }
  return ids;
}
