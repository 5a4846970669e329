import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { VerifiedRequest } from '../../iam/index.js';
import { BadDigestError, ContentSha256MismatchError, EntityTooLargeError, IncompleteBodyError, InvalidArgumentError, InvalidDigestError, InvalidRequestError, MissingContentLengthError, NotImplementedError } from '../errors.js';
import { createChecksum, isChecksumAlgorithm, isWellFormedChecksum, type Checksum, type ChecksumAlgorithm } from '../checksums/checksum.js';
import { AwsChunkedDecoder, type ChunkSigning } from './aws-chunked.js';
import { readBodyLimited } from '../operations/inline-body.js';
import { firstHeader } from './headers/first-header.js';

/** The largest single PUT S3 accepts (5 GiB). */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;

/**
 * A request body being read: `stream` yields the decoded payload; once it ended, `verify`
 * checks everything the client promised about it (signed SHA-256, Content-MD5, the
 * x-amz-checksum-* header or trailer, the declared length) and raises the S3 error
 * (XAmzContentSHA256Mismatch, BadDigest, IncompleteBody) — call it before committing.
 * `checksums` then holds the verified checksums to store.
 */
export interface Payload {
  /** The decoded body, piped on first access (a body read with `readWhole` never builds it). */
  readonly stream: Readable;
  /** The decoded size the client declared (Content-Length or x-amz-decoded-content-length), if any; `verify` rejects any other. */
  readonly declaredSize: number | undefined;
  verify(): void;
  readonly checksums: Record<string, string>;
  /**
   * Reads the whole decoded body into one buffer, with the checks `stream` makes, instead of
   * reading `stream` (use one or the other). Rejects as readBodyLimited does (IncompleteBodyError
   * once more than `limit` bytes arrive, the stream's errors), and with what `abort` was given.
   * A body that needs no decoding (not aws-chunked) is read straight from the request, without
   * a stream of ours in between; never buffers more than `limit`.
   */
  readWhole(limit: number): Promise<Buffer>;
  /** Stops the body with `err`: destroys `stream` if it was built, else fails a readWhole (now or later). */
  abort(err: Error): void;
}

type PayloadMode = 'unsigned' | 'signed' | 'chunked-unsigned' | 'chunked-signed' | 'chunked-signed-trailer';

/**
 * The x-amz-decoded-content-length of an aws-chunked upload: NaN when absent (the length is
 * then not checked), MissingContentLengthError when Content-Length is absent too (a
 * Transfer-Encoding: chunked transfer that declares no size at all). Anything but decimal digits (a sign, a fraction, an exponent, hex, two
 * values joined) raises MissingContentLengthError, as S3 answers (411), rather than letting
 * Number() accept it or skip the decoded-length check.
 */
function decodedLength(req: HeaderBearer): number {
  const value = req.headers['x-amz-decoded-content-length'];
  // Sent with Transfer-Encoding and neither length, the body's size is declared nowhere: S3 answers 411 for it.
  if (value === undefined && req.headers['content-length'] === undefined) throw new MissingContentLengthError('');
  if (value === undefined) return NaN;
  if (typeof value !== 'string' || !/^[0-9]+$/.test(value)) throw new MissingContentLengthError('x-amz-decoded-content-length must be a decimal number of bytes.');
  return Number(value);
}

/** The payload modes of x-amz-content-sha256 we decode. */
function payloadMode(verified: VerifiedRequest): PayloadMode {
  const h = verified.payloadHash;
  if (h === 'UNSIGNED-PAYLOAD') return 'unsigned';
  if (h === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return 'chunked-unsigned';
  if (h === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD') return 'chunked-signed';
  if (h === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') return 'chunked-signed-trailer';
  if (/^[0-9a-f]{64}$/.test(h)) return 'signed';
  if (h.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD')) throw new NotImplementedError(`Payload mode ${h.slice(0, 64)} is not implemented.`);
  // Not a payload mode at all: S3's answer (and wording) for it.
  throw new InvalidArgumentError(
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
  );
}

/**
 * Opens the body of an authenticated request. Raises up front for a body that is too
 * large (EntityTooLarge), a malformed Content-MD5 (InvalidDigest), a malformed or
 * ambiguous x-amz-checksum-* header, or a checksum algorithm S3 does not know
 * (InvalidRequest, with S3's messages); failures found while reading surface on the stream
 * or from `verify`. Never acknowledges bytes it has not checked.
 */
export function openPayload(req: IncomingMessage, verified: VerifiedRequest, maxBytes: number = MAX_PUT_BYTES, source: Readable = req): Payload {
  return openPayloadOf(req, verified, maxBytes, source);
}

/** What openPayload reads of a request besides its body: its headers. */
type HeaderBearer = Pick<IncomingMessage, 'headers'>;

/**
 * openPayload of a body described by headers that are not its request's own: a POST
 * Object's file, whose Content-MD5 and x-amz-checksum-* are form fields (and whose request's
 * Content-Length is the whole form's). Raises as openPayload does.
 */
export function openPayloadOf(req: HeaderBearer, verified: VerifiedRequest, maxBytes: number, source: Readable): Payload {
  const mode = payloadMode(verified);
  const chunked = mode.startsWith('chunked');
  const declared = chunked ? decodedLength(req) : Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new EntityTooLargeError('');
  const md5Header = firstHeader(req.headers, 'content-md5');
  if (md5Header !== undefined && Buffer.from(md5Header, 'base64').length !== 16) throw new InvalidDigestError('');
  const wanted = checksumToCheck(req);
  const decoder = chunked ? new AwsChunkedDecoder(mode === 'chunked-signed' || mode === 'chunked-signed-trailer' ? signingOf(verified, mode === 'chunked-signed-trailer') : undefined) : undefined;
  const hashes = new Digests(mode === 'signed', md5Header !== undefined, wanted?.algorithm, maxBytes);
  const checksums: Record<string, string> = {};
  const declaredSize = Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
  return new OpenedPayload(new BodyReader(source, hashes, decoder), declaredSize, checksums, () => {
    if (Number.isFinite(declared) && hashes.size !== declared) throw new IncompleteBodyError('');
    if (mode === 'signed' && hashes.sha256Hex() !== verified.payloadHash) throw new ContentSha256MismatchError('');
    if (md5Header !== undefined && hashes.md5Base64() !== md5Header) throw new BadDigestError('');
    if (wanted !== undefined) {
      const name = `x-amz-checksum-${wanted.algorithm}`;
      const expected = wanted.fromTrailer ? decoder?.trailers.get(name) : firstHeader(req.headers, name);
      if (expected === undefined) throw new InvalidRequestError(`The ${name} trailer was declared but not sent.`);
      if (!isWellFormedChecksum(wanted.algorithm, expected)) throw new InvalidRequestError(`Value for ${name} trailing header is invalid.`);
      const actual = hashes.checksumBase64();
      if (expected !== actual) throw new BadDigestError(`The ${wanted.algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
      checksums[wanted.algorithm] = actual;
    }
  });
}

/**
 * Payload as a class: `stream` is a getter on the prototype. A getter in an object literal
 * is a fresh accessor per request, and an accessor lives in the object's map, so each payload
 * got a map of its own (measured: old-space garbage, a mark-compact every ~2,000 PUTs and
 * +10–20% server CPU per PUT). The functions callers pass around unbound (verify, readWhole,
 * abort) are own properties.
 */
class OpenedPayload implements Payload {
  readonly readWhole: (limit: number) => Promise<Buffer>;
  readonly abort: (err: Error) => void;
  readonly #body: BodyReader;

  constructor(
    body: BodyReader,
    readonly declaredSize: number | undefined,
    readonly checksums: Record<string, string>,
    readonly verify: () => void,
  ) {
    this.#body = body;
    this.readWhole = (limit) => body.readWhole(limit);
    this.abort = (err) => body.abort(err);
  }

  get stream(): Readable {
    return this.#body.stream();
  }
}

/**
 * The one checksum the request asks us to verify, from x-amz-trailer or an
 * x-amz-checksum-* header, checked as S3 checks it before reading the body: one algorithm
 * at most, a known one, a well-formed header value, and an x-amz-sdk-checksum-algorithm
 * that names it.
 */
function checksumToCheck(req: HeaderBearer): { algorithm: ChecksumAlgorithm; fromTrailer: boolean } | undefined {
  const trailerName = firstHeader(req.headers, 'x-amz-trailer')?.trim().toLowerCase();
  const inHeaders = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-mode' && h !== 'x-amz-checksum-type' && h !== 'x-amz-checksum-algorithm');
  if (inHeaders.length + (trailerName !== undefined ? 1 : 0) > 1) {
    throw new InvalidRequestError('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  const sdkAlgorithm = firstHeader(req.headers, 'x-amz-sdk-checksum-algorithm')?.toLowerCase();
  const name = trailerName ?? inHeaders[0];
  if (name === undefined) {
    if (sdkAlgorithm !== undefined) throw new InvalidRequestError('x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.');
    return undefined;
  }
  const algorithm = name.startsWith('x-amz-checksum-') ? name.slice('x-amz-checksum-'.length) : '';
  if (!isChecksumAlgorithm(algorithm)) {
    throw new InvalidRequestError(trailerName !== undefined ? 'The value specified in the x-amz-trailer header is not supported' : `Value for ${name.slice(0, 40)} header is invalid.`);
  }
  if (sdkAlgorithm !== undefined && sdkAlgorithm !== algorithm) {
    throw new InvalidRequestError(`Value for x-amz-sdk-checksum-algorithm header is invalid.`);
  }
  if (trailerName === undefined && !isWellFormedChecksum(algorithm, firstHeader(req.headers, name) ?? '')) {
    throw new InvalidRequestError(`Value for ${name} header is invalid.`);
  }
  return { algorithm, fromTrailer: trailerName !== undefined };
}

function signingOf(v: VerifiedRequest, trailer: boolean): ChunkSigning {
  const s = v.signature;
  return { signingKey: v.signingKey, amzDate: s.amzDate, scope: `${s.date}/${s.region}/${s.service}/aws4_request`, seedSignature: s.signature, trailer };
}

/** Counts a body's bytes and computes only the digests asked for; raises EntityTooLargeError past `maxBytes`. */
class Digests {
  size = 0;
  readonly #sha256: Hash | undefined;
  readonly #md5: Hash | undefined;
  readonly #checksum: Checksum | undefined;

  constructor(sha256: boolean, md5: boolean, algorithm: ChecksumAlgorithm | undefined, private readonly maxBytes: number) {
    this.#sha256 = sha256 ? createHash('sha256') : undefined;
    this.#md5 = md5 ? createHash('md5') : undefined;
    this.#checksum = algorithm !== undefined ? createChecksum(algorithm) : undefined;
  }

  update(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) throw new EntityTooLargeError('');
    this.#sha256?.update(chunk);
    this.#md5?.update(chunk);
    this.#checksum?.update(chunk);
  }

  sha256Hex(): string {
    return this.#sha256?.digest('hex') ?? '';
  }
  md5Base64(): string {
    return this.#md5?.digest('base64') ?? '';
  }
  checksumBase64(): string {
    return this.#checksum?.digestBase64() ?? '';
  }
}

/** Passes bytes through its Digests. */
class Hashes extends Transform {
  constructor(private readonly digests: Digests) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.digests.update(chunk);
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }
}

/** A client gone mid-body (node raises 'aborted', ECONNRESET) sent an incomplete body: its fault, not ours. */
function sourceError(err: NodeJS.ErrnoException): Error {
  return err.code === 'ECONNRESET' ? new IncompleteBodyError('', { cause: err }) : err;
}

/**
 * One request body, read either as a stream (source → [aws-chunked decoder →] Hashes, built on
 * first use) or whole (readWhole): a small body that needs no decoding is then read straight
 * from the source, its chunks counted and hashed as they come, with no Transform, pipe or
 * stream events of ours (the per-request cost of the small-PUT path). Either way the source
 * keeps an error listener for the request's life (an 'error' without one would throw).
 */
class BodyReader {
  #piped: Readable | undefined;
  /** The pending direct read's failure, while one runs. */
  #failRead: ((err: Error) => void) | undefined;
  #aborted: Error | undefined;

  constructor(
    private readonly source: Readable,
    private readonly digests: Digests,
    private readonly decoder: AwsChunkedDecoder | undefined,
  ) {
    source.on('error', (err: NodeJS.ErrnoException) => {
      const mapped = sourceError(err);
      if (this.#piped !== undefined) this.#piped.destroy(mapped);
      else this.#failRead?.(mapped);
    });
  }

  stream(): Readable {
    if (this.#piped !== undefined) return this.#piped;
    const hashes = new Hashes(this.digests);
    const decoder = this.decoder;
    if (decoder !== undefined) decoder.on('error', (err) => hashes.destroy(err));
    this.#piped = decoder !== undefined ? this.source.pipe(decoder).pipe(hashes) : this.source.pipe(hashes);
    const failed = this.#failed();
    if (failed !== undefined) hashes.destroy(failed);
    return this.#piped;
  }

  readWhole(limit: number): Promise<Buffer> {
    const failed = this.#failed();
    if (failed !== undefined) return Promise.reject(failed);
    // Decoded bodies, and a body whose stream is already built, are read from the stream.
    if (this.decoder !== undefined || this.#piped !== undefined) return readBodyLimited(this.stream(), limit);
    return this.#readDirect(limit);
  }

  abort(err: Error): void {
    this.#aborted ??= err;
    if (this.#piped !== undefined) this.#piped.destroy(err);
    else this.#failRead?.(err);
  }

  /**
   * Why the body can no longer be read, before anything read it: `abort`'s error, or a source
   * destroyed before its end (a client gone while nobody listened: its 'error' and 'close'
   * are past, and a pipe from it or a read of it would wait forever).
   */
  #failed(): Error | undefined {
    if (this.#aborted !== undefined) return this.#aborted;
    if (!this.source.readableAborted) return undefined;
    const err = this.source.errored;
    return err !== null ? sourceError(err) : new IncompleteBodyError('');
  }

  /** readBodyLimited's contract on the source itself, each chunk through the digests first. */
  #readDirect(limit: number): Promise<Buffer> {
    const source = this.source;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (): void => {
        this.#failRead = undefined;
        source.removeListener('data', onData);
        source.removeListener('end', onEnd);
        source.removeListener('close', onClose);
      };
      const fail = (err: Error): void => {
        done();
        // Left unread, as a destroyed pipe leaves it: the handler drains it to answer.
        source.pause();
        reject(err);
      };
      const onData = (chunk: Buffer): void => {
        try {
          this.digests.update(chunk);
        } catch (err) {
          return fail(err as Error);
        }
        size += chunk.length;
        if (size > limit) return fail(new IncompleteBodyError(''));
        chunks.push(chunk);
      };
      const onEnd = (): void => {
        done();
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      };
      // Destroyed without an error, the source closes without ending: never wait for it.
      const onClose = (): void => fail(new IncompleteBodyError(''));
      this.#failRead = fail;
      source.on('data', onData);
      source.once('end', onEnd);
      source.once('close', onClose);
    });
  }
}

/** A body already in memory, as a stream for openPayload's `source`. */
export function bufferSource(body: Buffer): Readable {
  const stream = new PassThrough();
  stream.end(body);
  return stream;
}
