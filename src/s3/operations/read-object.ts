import { Readable } from 'node:stream';
import { createSegmentDecryptor, encryptedSize, openSegments, planRange, type ByteRange, type SecretBytes } from '../../crypto/index.js';
import { InvalidRangeError, NotModifiedError, PreconditionFailedError } from '../errors.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { BodyReader, StoredRange } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';
import type { CustomerKey } from '../wire/headers/sse.js';
import { dataBinding } from '../sse/sealing.js';
import { readSealed } from './inline-body.js';
import { readMultipartPlaintext } from './multipart/read-multipart.js';
import { modeForRead } from './sse-select.js';

/** The conditional headers of GET/HEAD (and the copy-source ones of CopyObject). */
export interface Conditions {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  readonly ifModifiedSince?: Date;
  readonly ifUnmodifiedSince?: Date;
}

/** A Range header, as parsed: `bytes=a-b`, `bytes=a-` or `bytes=-n`. */
export type RangeSpec = { readonly start: number; readonly end?: number } | { readonly suffix: number };

/**
 * Applies S3's precedence of conditions: If-Match (else If-Unmodified-Since) failing raises
 * PreconditionFailedError naming that header as its `condition` (S3's `<Condition>` element);
 * If-None-Match matching (else If-Modified-Since not modified) raises NotModifiedError. Times
 * compare at one-second granularity, as HTTP dates have.
 */
export function checkConditions(o: ObjectRecord, c: Conditions): void {
  const failed = failedCondition(o, c);
  if (failed === 'If-Match' || failed === 'If-Unmodified-Since') throw new PreconditionFailedError('', { condition: failed });
  if (failed !== undefined) throw new NotModifiedError('');
}

/**
 * Checks the copy-source conditions of CopyObject / UploadPartCopy: any of them failing raises
 * PreconditionFailedError (S3 never answers 304 to a copy) whose `condition` names the
 * copy-source header, e.g. `x-amz-copy-source-If-Match`. Same precedence as checkConditions.
 */
export function checkCopySourceConditions(o: ObjectRecord, c: Conditions): void {
  const failed = failedCondition(o, c);
  if (failed !== undefined) throw new PreconditionFailedError('', { condition: `x-amz-copy-source-${failed}` });
}

type ConditionHeader = 'If-Match' | 'If-Unmodified-Since' | 'If-None-Match' | 'If-Modified-Since';

/** The header whose condition does not hold, in S3's precedence (412 conditions first); undefined when all hold. */
function failedCondition(o: ObjectRecord, c: Conditions): ConditionHeader | undefined {
  const modified = Math.floor(o.lastModified.getTime() / 1000);
  if (c.ifMatch !== undefined) {
    if (!etagMatches(o.etag, c.ifMatch)) return 'If-Match';
  } else if (c.ifUnmodifiedSince !== undefined && modified > Math.floor(c.ifUnmodifiedSince.getTime() / 1000)) {
    return 'If-Unmodified-Since';
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagMatches(o.etag, c.ifNoneMatch)) return 'If-None-Match';
  } else if (c.ifModifiedSince !== undefined && modified <= Math.floor(c.ifModifiedSince.getTime() / 1000)) {
    return 'If-Modified-Since';
  }
  return undefined;
}

function etagMatches(etag: string, header: string): boolean {
  const bare = etag.replace(/"/g, '');
  return header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '').replace(/"/g, '');
    return v === '*' || v === bare;
  });
}

/** Resolves a Range against the object size; raises InvalidRangeError when it cannot be satisfied. */
export function resolveRange(spec: RangeSpec, size: number): ByteRange {
  if ('suffix' in spec) {
    if (spec.suffix === 0 || size === 0) throw new InvalidRangeError('');
    return { start: Math.max(0, size - spec.suffix), endInclusive: size - 1 };
  }
  if (spec.start >= size) throw new InvalidRangeError('');
  return { start: spec.start, endInclusive: Math.min(spec.end ?? size - 1, size - 1) };
}

/**
 * Unseals an object's key (KMS errors, SseCustomerKeyMissingError,
 * SseCustomerKeyMismatchError). The caller owns the returned key: pass it to readPlaintext,
 * which disposes it, or dispose it.
 */
export async function unsealObjectKey(deps: S3Deps, o: ObjectRecord, customer: CustomerKey | undefined): Promise<SecretBytes> {
  return modeForRead(deps, o.sealedKey, customer).unseal(o.sealedKey, o);
}

/**
 * The object's plaintext (or a range of it), decrypting only the segments the range
 * covers. The stored body is opened before this resolves (a body file removed afterwards,
 * by an overwrite or delete committing, stays readable through the open descriptor), so a
 * missing body raises here (see isMissingBody), before the caller sent anything. Takes
 * ownership of `objectKey` and disposes it when the stream closes (or on a raise); the body
 * closes with the stream. Never emits a segment before its tag verified; any tampering
 * surfaces as a stream error. A failure while nobody listens (a single-part body is read
 * ahead at once, before the caller reads) never becomes an uncaught 'error': the stream
 * is left errored (`errored`, destroyed), and a reader that comes later (pipeline,
 * for await, finished) gets that error.
 */
export async function readPlaintext(deps: S3Deps, o: ObjectRecord, objectKey: SecretBytes, range?: ByteRange): Promise<Readable> {
  let body: SealedBody | undefined;
  try {
    body = await openSealed(deps, o);
    const opened = body;
    // A multipart object: each part is its own segment stream under its own part key. The key
    // is disposed on close too: a stream destroyed before its first read never runs the
    // generator whose `finally` disposes it.
    if (o.parts !== undefined) {
      return keepErrorsForReader(readMultipartPlaintext(opened.read, o, objectKey, range)).once('close', () => {
        objectKey.dispose();
        closeQuietly(opened);
      });
    }
    const aad = dataBinding(o);
    if (range === undefined || o.size === 0 || (range.start === 0 && range.endInclusive === o.size - 1)) {
      return wire(opened, undefined, createSegmentDecryptor(objectKey, { aad }), objectKey);
    }
    const plan = planRange(range.start, range.endInclusive, o.size, o.segmentSize);
    const header = await readAll(opened.read(plan.headerRange));
    return wire(opened, plan.segmentRange, createSegmentDecryptor(objectKey, { aad, range: { header, plan } }), objectKey);
  } catch (err) {
    objectKey.dispose();
    await body?.close();
    throw err;
  }
}

/**
 * True when `err` says a stored body is gone (the file backend's ENOENT): for a row read
 * before, an overwrite or delete committed since and removed its body file.
 */
export function isMissingBody(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Runs `attempt` on the object `lookup` returns. When the attempt raises a missing body
 * (isMissingBody) and `canRetry()` (nothing was sent yet), looks the object up again: if
 * it is another object now (an overwrite committed and removed the body this reader lost
 * the race to open), runs the attempt once more on it; `lookup`'s errors (NoSuchKeyError
 * after a delete, failed conditions) surface as they are. A body missing for an object
 * that did not change is raised as it is (an internal error). Never retries more than once.
 * Works across processes (no in-process bookkeeping): the row is the truth.
 */
export async function readCurrent<T>(lookup: () => Promise<ObjectRecord>, attempt: (o: ObjectRecord) => Promise<T>, canRetry: () => boolean = () => true): Promise<T> {
  const first = await lookup();
  try {
    return await attempt(first);
  } catch (err) {
    if (!isMissingBody(err) || !canRetry()) throw err;
    const current = await lookup();
    if (current.objectId === first.objectId && current.storageId === first.storageId) throw err;
    return attempt(current);
  }
}

/** An opened stored body: streams of ranges of it (the whole of it without one), then close. */
interface SealedBody {
  read(range?: StoredRange): Readable;
  close(): Promise<void>;
}

/** Opens the body of `o` now (the inline bytes, or the file: raises if it is missing). */
async function openSealed(deps: S3Deps, o: ObjectRecord): Promise<SealedBody> {
  if (o.inlineBody !== undefined) return { read: (range) => readSealed(deps, o, range), close: async () => {} };
  const reader = await deps.backend.openReader(o.storageId);
  // A stream destroyed early may leave a read in flight: the descriptor closes only once it
  // landed (a number reused by another open must never take a late read).
  const inFlight = new Set<Promise<number>>();
  const tracked: BodyReader = {
    read: (buffer, offset, length, position) => {
      const p = reader.read(buffer, offset, length, position);
      inFlight.add(p);
      p.then(() => inFlight.delete(p), () => inFlight.delete(p));
      return p;
    },
    close: async () => {
      await Promise.allSettled([...inFlight]);
      await reader.close();
    },
  };
  return { read: (range) => readerStream(tracked, range), close: () => tracked.close() };
}

/** Bytes per read of readerStream: 1 MiB, one thread-pool trip each (as the backend's streams). */
const STREAM_CHUNK = 1024 * 1024;

/** A stream of `range` of an open body (to its end without one), in positional reads. */
function readerStream(reader: BodyReader, range: StoredRange | undefined): Readable {
  let at = range?.start ?? 0;
  const end = range === undefined ? Number.POSITIVE_INFINITY : range.endInclusive + 1;
  return new Readable({
    highWaterMark: STREAM_CHUNK,
    read(): void {
      const want = Math.min(STREAM_CHUNK, end - at);
      if (want <= 0) {
        this.push(null);
        return;
      }
      const buffer = Buffer.allocUnsafe(want);
      reader.read(buffer, 0, want, at).then(
        (n) => {
          if (this.destroyed) return;
          at += n;
          if (n > 0) this.push(buffer.subarray(0, n));
          if (n < want || at >= end) this.push(null);
        },
        (err: Error) => this.destroy(err),
      );
    },
  });
}

/** Largest plaintext readSmallPlaintext serves: memory per request stays about twice this. */
export const SMALL_OBJECT_MAX = 1024 * 1024;

/** True when a whole-object read of `o` may go through readSmallPlaintext (single part, small). */
export function isSmallObject(o: ObjectRecord): boolean {
  return o.parts === undefined && o.size <= SMALL_OBJECT_MAX;
}

/**
 * The whole plaintext of a small single-part object (see isSmallObject), as one buffer per
 * segment: its inline body, or one read of header and segments together, started at once
 * so that it overlaps the unsealing of the key (a KMS round trip and its audit record).
 * Every tag (and the stream's end) is verified before anything is returned, so a tampered,
 * truncated or extended body raises DecryptionError with nothing sent. Raises the
 * unsealing's error first when it fails (after the read landed), and a missing body
 * (isMissingBody) as the read's error. Takes ownership of the key `unsealing` resolves to
 * and disposes it on every path.
 */
export async function readSmallPlaintext(deps: S3Deps, o: ObjectRecord, unsealing: Promise<SecretBytes>): Promise<Buffer[]> {
  if (o.inlineBody !== undefined) return openOwned(await unsealing, o.inlineBody, o);
  // One byte more than the format says, so that an extended body fails to open.
  const limit = encryptedSize(o.size, o.segmentSize) + 1;
  const buffer = readBuffers.take(limit);
  try {
    const reading = startRead(() => deps.backend.readHead(o.storageId, limit, buffer));
    reading.catch(() => undefined);
    let objectKey: SecretBytes;
    try {
      objectKey = await unsealing;
    } catch (err) {
      await reading.catch(() => undefined); // the buffer goes back to the pool only once the read landed
      throw err;
    }
    let sealed: Buffer;
    try {
      sealed = await reading;
    } catch (err) {
      objectKey.dispose();
      throw err;
    }
    // The opened pieces are fresh buffers (decipher output), so the read buffer is free after this.
    return openOwned(objectKey, sealed, o);
  } finally {
    readBuffers.give(buffer);
  }
}

/** `read()`, with a synchronous raise (a malformed storage id) turned into a rejection, so the unsealed key is still disposed. */
function startRead(read: () => Promise<Buffer>): Promise<Buffer> {
  try {
    return read();
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

function openOwned(objectKey: SecretBytes, sealed: Buffer, o: ObjectRecord): Buffer[] {
  try {
    return openSegments(objectKey, sealed, { aad: dataBinding(o) });
  } finally {
    objectKey.dispose();
  }
}

/**
 * Reused read buffers for small GETs: a 1 MiB GET reads into one of these instead of a
 * fresh 1 MiB allocation (whose garbage collection cost ~15% of the CPU of 1 MiB GETs).
 * They only ever hold ciphertext; at most MAX_IDLE wait, the rest are dropped.
 */
class ReadBufferPool {
  static readonly SIZE = encryptedSize(SMALL_OBJECT_MAX) + 1;
  static readonly MAX_IDLE = 8;
  readonly #idle: Buffer[] = [];

  /** A buffer of at least `size` bytes (pooled when it fits). */
  take(size: number): Buffer {
    if (size > ReadBufferPool.SIZE) return Buffer.allocUnsafe(size);
    return this.#idle.pop() ?? Buffer.allocUnsafe(ReadBufferPool.SIZE);
  }

  give(buffer: Buffer): void {
    if (buffer.length === ReadBufferPool.SIZE && this.#idle.length < ReadBufferPool.MAX_IDLE) this.#idle.push(buffer);
  }
}

const readBuffers = new ReadBufferPool();

/**
 * Pipes `range` of the body into its decryptor and returns the decryptor. The pipe starts
 * reading at once, before the caller reads (a copy waits for its target's key and file
 * meanwhile), so the decryptor gets an 'error' listener of its own here: the source's
 * failure (a read error) and the decryptor's (a tampered segment) may come while the caller
 * has not begun or has stopped listening, and without one node:stream's pipe re-emits the
 * error as an uncaught exception that stops the process.
 */
function wire(body: SealedBody, range: StoredRange | undefined, decryptor: NodeJS.ReadWriteStream & Readable, objectKey: SecretBytes): Readable {
  const source = body.read(range);
  source.on('error', (err) => decryptor.destroy(err));
  decryptor.on('close', () => {
    source.destroy();
    objectKey.dispose();
    closeQuietly(body);
  });
  return source.pipe(keepErrorsForReader(decryptor));
}

/**
 * Gives `stream` an 'error' listener that does nothing: an error then leaves the stream
 * errored (destroyed, `errored` set) for its reader to raise, instead of being an uncaught
 * exception when no reader listens at that moment. The caller's own listeners still get it.
 */
function keepErrorsForReader<S extends Readable>(stream: S): S {
  return stream.on('error', () => undefined);
}

/** Releases an opened body once its stream closed; nobody awaits that, so a failure to release must not be an unhandled rejection (which stops the process). */
function closeQuietly(body: SealedBody): void {
  body.close().catch(() => undefined);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
