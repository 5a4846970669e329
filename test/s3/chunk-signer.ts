import { createHash, createHmac } from 'node:crypto';
import { TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { signer } from './raw-sign.js';

/**
 * A test signer for aws-chunked bodies, written from the AWS spec
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
 * sigv4-streaming-trailers.html): @smithy/signature-v4 has no chunk signer.
 */
export interface ChunkContext {
  readonly signingKey: Buffer;
  readonly amzDate: string;
  readonly scope: string;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** The chunk signature: HMAC over "AWS4-HMAC-SHA256-PAYLOAD" ⏎ date ⏎ scope ⏎ previous ⏎ hash("") ⏎ hash(chunk). */
export function signChunk(ctx: ChunkContext, previous: string, chunk: Buffer): string {
  return hmac(ctx.signingKey, ['AWS4-HMAC-SHA256-PAYLOAD', ctx.amzDate, ctx.scope, previous, EMPTY_SHA256, hex(chunk)].join('\n')).toString('hex');
}

/** The trailer signature: HMAC over "AWS4-HMAC-SHA256-TRAILER" ⏎ date ⏎ scope ⏎ previous ⏎ hash("name:value\n"…). */
export function signTrailer(ctx: ChunkContext, previous: string, trailers: ReadonlyArray<readonly [string, string]>): string {
  const canonical = trailers.map(([k, v]) => `${k}:${v}\n`).join('');
  return hmac(ctx.signingKey, ['AWS4-HMAC-SHA256-TRAILER', ctx.amzDate, ctx.scope, previous, hex(canonical)].join('\n')).toString('hex');
}

/** Frames `chunks` (then the final 0-length chunk, then signed trailers if given) as a signed aws-chunked body. */
export function signedChunkedBody(ctx: ChunkContext, seed: string, chunks: readonly Buffer[], trailers?: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: Buffer[] = [];
  let previous = seed;
  for (const c of [...chunks, Buffer.alloc(0)]) {
    previous = signChunk(ctx, previous, c);
    out.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${previous}\r\n`), c, Buffer.from(c.length > 0 ? '\r\n' : ''));
  }
  if (trailers !== undefined) {
    for (const [k, v] of trailers) out.push(Buffer.from(`${k}:${v}\r\n`));
    out.push(Buffer.from(`x-amz-trailer-signature:${signTrailer(ctx, previous, trailers)}\r\n`));
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/** Cuts `data` into chunks of `size` bytes (the last one shorter). */
export function cut(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** What a streaming PUT is made of: its headers (seed signature inside) and the chunk context. */
export interface StreamingRequest {
  readonly headers: Record<string, string>;
  readonly seed: string;
  readonly ctx: ChunkContext;
}

/**
 * Signs the headers of a streaming PUT (x-amz-content-sha256 = `mode`), as an SDK would,
 * and returns the seed signature and chunk context for the body.
 */
export async function signStreamingPut(endpoint: string, path: string, mode: string, headers: Record<string, string>, date: Date): Promise<StreamingRequest> {
  const url = new URL(endpoint);
  const signed = await signer().sign(
    { method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {}, headers: { host: url.host, 'content-encoding': 'aws-chunked', 'x-amz-content-sha256': mode, ...headers } },
    { signingDate: date },
  );
  const h = { ...(signed.headers as Record<string, string>) };
  delete h.host;
  const auth = h.authorization ?? '';
  const seed = /Signature=([0-9a-f]{64})/.exec(auth)?.[1] ?? '';
  const amzDate = h['x-amz-date'] ?? '';
  const day = amzDate.slice(0, 8);
  return { headers: h, seed, ctx: { signingKey: deriveSigningKey(TEST_SECRET_ACCESS_KEY, day, TEST_REGION, 's3'), amzDate, scope: `${day}/${TEST_REGION}/s3/aws4_request` } };
}
