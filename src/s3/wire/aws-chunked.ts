import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AuthenticationError } from '../../iam/index.js';
import { IncompleteBodyError } from '../errors.js';

const MAX_LINE = 4096;
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const CRLF = Buffer.from('\r\n');

/**
 * What verifies each chunk's signature (STREAMING-AWS4-HMAC-SHA256-PAYLOAD); with
 * `trailer` (…-PAYLOAD-TRAILER) the trailing headers must carry x-amz-trailer-signature.
 */
export interface ChunkSigning {
  readonly signingKey: Buffer;
  readonly amzDate: string;
  readonly scope: string;
  readonly seedSignature: string;
  readonly trailer: boolean;
}

const TRAILER_SIGNATURE = 'x-amz-trailer-signature';

function signatureMismatch(): AuthenticationError {
  return new AuthenticationError('SignatureMismatch', 'The request signature we calculated does not match the signature you provided.');
}

/** HMAC-SHA256 of the string to sign, compared in constant time with the hex signature given. */
function checkSignature(signingKey: Buffer, stringToSign: string, givenHex: string): void {
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest();
  const given = Buffer.from(givenHex, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw signatureMismatch();
}

type State = 'size' | 'data' | 'data-crlf' | 'trailers' | 'done';

/**
 * Decodes an `aws-chunked` body (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html):
 * emits the chunk data, collects the trailer headers (read them from `trailers` once the
 * stream ended), and with `signing` verifies every chunk signature, failing the stream with
 * AuthenticationError('SignatureMismatch') on the first bad one. Broken framing fails it
 * with IncompleteBodyError. Signed trailers (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html)
 * are verified at the blank line that ends them; a signed body without the trailer
 * signature, or with trailers it did not announce, fails as a signature mismatch.
 * Chunk bytes are passed on before their signature is checked (it follows them), so the
 * consumer must commit nothing until the stream ended cleanly. Never buffers more than one
 * framing line.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  #state: State = 'size';
  #line = Buffer.alloc(0);
  #remaining = 0;
  #chunkSignature = '';
  #previousSignature: string;
  #chunkHash = createHash('sha256');
  #trailerSignature: string | undefined;

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
        this.#verifyTrailers();
        this.#state = 'done';
        return;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) throw new IncompleteBodyError('Malformed aws-chunked trailer.');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === TRAILER_SIGNATURE) this.#trailerSignature = value;
      else if (this.#trailerSignature !== undefined) throw signatureMismatch();
      else this.trailers.set(name, value);
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
    checkSignature(s.signingKey, stringToSign, this.#chunkSignature);
    this.#previousSignature = this.#chunkSignature.toLowerCase();
  }

  /** The trailer chunk: `name:value\n` per trailer, in order, hashed and signed after the final chunk. */
  #verifyTrailers(): void {
    const s = this.signing;
    if (s === undefined) return;
    if (!s.trailer) {
      if (this.trailers.size > 0 || this.#trailerSignature !== undefined) throw signatureMismatch();
      return;
    }
    if (this.#trailerSignature === undefined) throw signatureMismatch();
    const canonical = [...this.trailers].map(([k, v]) => `${k}:${v}\n`).join('');
    const hash = createHash('sha256').update(canonical).digest('hex');
    checkSignature(s.signingKey, ['AWS4-HMAC-SHA256-TRAILER', s.amzDate, s.scope, this.#previousSignature, hash].join('\n'), this.#trailerSignature);
  }
}
