import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { VerifiedRequest } from '../../iam/index.js';
import { BadDigestError, ContentSha256MismatchError, EntityTooLargeError, IncompleteBodyError, InvalidDigestError, InvalidRequestError, NotImplementedError } from '../errors.js';
import { AwsChunkedDecoder } from './aws-chunked.js';

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
  readonly stream: Readable;
  verify(): void;
  readonly checksums: Record<string, string>;
}

type Algorithm = 'crc32' | 'sha1' | 'sha256';
const CHECKSUM_ALGORITHMS: readonly string[] = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'];

/** The payload modes of x-amz-content-sha256 we decode. */
function payloadMode(verified: VerifiedRequest): 'unsigned' | 'signed' | 'chunked-unsigned' | 'chunked-signed' {
  const h = verified.payloadHash;
  if (h === 'UNSIGNED-PAYLOAD') return 'unsigned';
  if (h === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return 'chunked-unsigned';
  if (h === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD') return 'chunked-signed';
  if (/^[0-9a-f]{64}$/.test(h)) return 'signed';
  throw new NotImplementedError(`Payload mode ${h.slice(0, 64)} is not implemented.`);
}

/**
 * Opens the body of an authenticated request. Raises up front for a body that is too
 * large (EntityTooLarge), a malformed Content-MD5 (InvalidDigest), a checksum algorithm
 * we cannot verify (NotImplemented); failures found while reading surface on the stream
 * or from `verify`. Never acknowledges bytes it has not checked.
 */
export function openPayload(req: IncomingMessage, verified: VerifiedRequest, maxBytes: number = MAX_PUT_BYTES, source: Readable = req): Payload {
  const mode = payloadMode(verified);
  const chunked = mode === 'chunked-unsigned' || mode === 'chunked-signed';
  const declared = Number(req.headers[chunked ? 'x-amz-decoded-content-length' : 'content-length'] ?? NaN);
  if (declared > maxBytes) throw new EntityTooLargeError('');
  const md5Header = header(req, 'content-md5');
  if (md5Header !== undefined && Buffer.from(md5Header, 'base64').length !== 16) throw new InvalidDigestError('');
  const trailerName = header(req, 'x-amz-trailer')?.toLowerCase();
  const checksumAlgorithm = checksumToCheck(req, trailerName);
  const decoder = chunked ? new AwsChunkedDecoder(mode === 'chunked-signed' ? signingOf(verified) : undefined) : undefined;
  const hashes = new Hashes(mode === 'signed', md5Header !== undefined, checksumAlgorithm, maxBytes);
  const stream = decoder !== undefined ? source.pipe(decoder).pipe(hashes) : source.pipe(hashes);
  if (decoder !== undefined) decoder.on('error', (err) => hashes.destroy(err));
  source.on('error', (err) => hashes.destroy(err));
  const checksums: Record<string, string> = {};
  return {
    stream: stream as Readable,
    checksums,
    verify: () => {
      if (Number.isFinite(declared) && hashes.size !== declared) throw new IncompleteBodyError('');
      if (mode === 'signed' && hashes.sha256Hex() !== verified.payloadHash) throw new ContentSha256MismatchError('');
      if (md5Header !== undefined && hashes.md5Base64() !== md5Header) throw new BadDigestError('');
      if (checksumAlgorithm !== undefined) {
        const name = `x-amz-checksum-${checksumAlgorithm}`;
        const expected = decoder?.trailers.get(name) ?? header(req, name);
        const actual = hashes.checksumBase64();
        if (expected === undefined) throw new InvalidRequestError(`The ${name} trailer was declared but not sent.`);
        if (expected !== actual) throw new BadDigestError(`The ${checksumAlgorithm.toUpperCase()} you specified did not match the calculated checksum.`);
        checksums[checksumAlgorithm] = actual;
      }
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function checksumToCheck(req: IncomingMessage, trailerName: string | undefined): Algorithm | undefined {
  const fromTrailer = trailerName?.startsWith('x-amz-checksum-') ? trailerName.slice('x-amz-checksum-'.length) : undefined;
  const fromHeader = CHECKSUM_ALGORITHMS.find((a) => req.headers[`x-amz-checksum-${a}`] !== undefined);
  const algorithm = fromTrailer ?? fromHeader;
  if (algorithm === undefined) return undefined;
  if (algorithm === 'crc32' || algorithm === 'sha1' || algorithm === 'sha256') return algorithm;
  throw new NotImplementedError(`Checksum algorithm ${algorithm.slice(0, 16)} is not implemented yet; use CRC32, SHA1 or SHA256.`);
}

function signingOf(v: VerifiedRequest): { signingKey: Buffer; amzDate: string; scope: string; seedSignature: string } {
  const s = v.signature;
  return { signingKey: v.signingKey, amzDate: s.amzDate, scope: `${s.date}/${s.region}/${s.service}/aws4_request`, seedSignature: s.signature };
}

/** Passes bytes through, counting them and computing only the digests asked for. */
class Hashes extends Transform {
  size = 0;
  readonly #sha256: Hash | undefined;
  readonly #md5: Hash | undefined;
  readonly #checksum: Hash | undefined;
  #crc = 0;

  constructor(sha256: boolean, md5: boolean, private readonly algorithm: Algorithm | undefined, private readonly maxBytes: number) {
    super();
    this.#sha256 = sha256 ? createHash('sha256') : undefined;
    this.#md5 = md5 ? createHash('md5') : undefined;
    this.#checksum = algorithm === 'sha1' || algorithm === 'sha256' ? createHash(algorithm) : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return done(new EntityTooLargeError(''));
    this.#sha256?.update(chunk);
    this.#md5?.update(chunk);
    this.#checksum?.update(chunk);
    if (this.algorithm === 'crc32') this.#crc = crc32(chunk, this.#crc);
    done(null, chunk);
  }

  sha256Hex(): string {
    return this.#sha256?.digest('hex') ?? '';
  }
  md5Base64(): string {
    return this.#md5?.digest('base64') ?? '';
  }
  checksumBase64(): string {
    if (this.algorithm === 'crc32') {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(this.#crc >>> 0);
      return b.toString('base64');
    }
    return this.#checksum?.digest('base64') ?? '';
  }
}

/** A body already in memory, as a stream for openPayload's `source`. */
export function bufferSource(body: Buffer): Readable {
  const stream = new PassThrough();
  stream.end(body);
  return stream;
}
