import { createHash } from 'node:crypto';
import { signedFetch } from '../s3/raw-sign.js';

/** An S3 answer: status, the `<Error><Code>` (or '' for none), the text and the headers. */
export interface S3Answer {
  readonly status: number;
  readonly code: string;
  readonly text: string;
  readonly headers: Headers;
}

/** What a raw S3 request may carry besides its method and path. */
export interface S3CallOptions {
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Adds Content-MD5 of the body (DeleteObjects wants one). */
  readonly md5?: boolean;
}

/**
 * Sends one S3 request signed with SigV4 (test credentials) as if through the trusted TLS
 * proxy (`x-forwarded-proto: https`, for servers configured to trust it), and reads the
 * whole answer. Never throws for an HTTP error status.
 */
export async function s3Call(endpoint: string, method: string, path: string, opts: S3CallOptions = {}): Promise<S3Answer> {
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  const headers: Record<string, string> = { 'x-forwarded-proto': 'https', ...(opts.headers ?? {}) };
  if (opts.md5 === true) headers['content-md5'] = createHash('md5').update(body ?? Buffer.alloc(0)).digest('base64');
  const res = await signedFetch(endpoint, { method, path, headers, ...(opts.query !== undefined ? { query: opts.query } : {}), ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? res.headers.get('x-amz-error-code') ?? '';
  return { status: res.status, code, text, headers: res.headers };
}

/** `status code` of an answer, for one-line assertions. */
export const statusCode = (a: S3Answer): string => `${a.status} ${a.code}`;
