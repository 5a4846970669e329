import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AuthenticationError } from '../../iam/index.js';
import { IncompleteBodyError } from '../errors.js';

const MAX_LINE = 4096;
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const CRLF = Buffer.from('\r\n');

/** What verifies each chunk's signature (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). */
export interface ChunkSigning {
  readonly signingKey: Buffer;
  readonly amzDate: string;
  readonly scope: string;
  readonly seedSignature: string;
}

type State = 'size' | 'data' | 'data-crlf' | 'trailers' | 'done';

/**
 * Decodes an `aws-chunked` body (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html):
 * emits the chunk data, collects the trailer headers (read them from `trailers` once the
 * stream ended), and with `signing` verifies every chunk signature, failing the stream with
 * AuthenticationError('SignatureMismatch') on the first bad one. Broken framing fails it
 * with IncompleteBodyError. Never buffers more than one framing line.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  #state: State = 'size';
  #line = Buffer.alloc(0);
  #remaining = 0;
  #chunkSignature = '';
  #previousSignature: string;
  #chunkHash = createHash('sha256');

  constructor(private readonly signing?: ChunkSigning) {
    super();
    this.#previousSignature = signing?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      let buf = chunk;
      while (buf.length > 0) buf = this.#step(buf);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    done(this.#state === 'done' ? null : new IncompleteBodyError('The aws-chunked body ended before its final chunk.'));
  }

  #step(buf: Buffer): Buffer {
    switch (this.#state) {
      case 'data': {
        const n = Math.min(this.#remaining, buf.length);
        const piece = buf.subarray(0, n);
        if (this.signing !== undefined) this.#chunkHash.update(piece);
        this.push(piece);
        this.#remaining -= n;
        if (this.#remaining === 0) this.#state = 'data-crlf';
        return buf.subarray(n);
      }
      case 'size':
      case 'data-crlf':
      case 'trailers':
        return this.#readLine(buf);
      case 'done':
        throw new IncompleteBodyError('Unexpected bytes after the final aws-chunked chunk.');
      default: {
        const never: never = this.#state;
        return never;
      }
    }
  }

  #readLine(buf: Buffer): Buffer {
    const joined = this.#line.length > 0 ? Buffer.concat([this.#line, buf]) : buf;
    const end = joined.indexOf(CRLF);
    if (end < 0) {
      if (joined.length > MAX_LINE) throw new IncompleteBodyError('aws-chunked framing line too long.');
      this.#line = Buffer.from(joined);
      return Buffer.alloc(0);
    }
    this.#line = Buffer.alloc(0);
    this.#onLine(joined.subarray(0, end).toString('latin1'));
    return joined.subarray(end + 2);
  }

  #onLine(line: string): void {
    if (this.#state === 'data-crlf') {
      if (line !== '') throw new IncompleteBodyError('aws-chunked chunk is longer than its declared size.');
      this.#verifyChunk();
      this.#state = 'size';
      return;
    }
    if (this.#state === 'trailers') {
      if (line === '') {
        this.#state = 'done';
        return;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) throw new IncompleteBodyError('Malformed aws-chunked trailer.');
      this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      return;
    }
    const [sizeHex = '', ...ext] = line.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex)) throw new IncompleteBodyError('Malformed aws-chunked chunk size.');
    this.#chunkSignature = ext.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length) ?? '';
    this.#remaining = parseInt(sizeHex, 16);
    if (this.#remaining > 0) {
      this.#state = 'data';
      return;
    }
    this.#verifyChunk();
    this.#state = 'trailers';
  }

  #verifyChunk(): void {
    if (this.signing === undefined) return;
    const s = this.signing;
    const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', s.amzDate, s.scope, this.#previousSignature, EMPTY_SHA256, this.#chunkHash.digest('hex')].join('\n');
    this.#chunkHash = createHash('sha256');
    const expected = createHmac('sha256', s.signingKey).update(stringToSign).digest();
    const given = Buffer.from(this.#chunkSignature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AuthenticationError('SignatureMismatch', 'The request signature we calculated does not match the signature you provided.');
    }
    this.#previousSignature = this.#chunkSignature.toLowerCase();
  }
}
