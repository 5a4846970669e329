import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { finished, type Readable, type Transform, type Writable } from 'node:stream';
import { createSegmentEncryptor, DEFAULT_SEGMENT_SIZE, randomUuid, sealBuffer, SecretBytes } from '../../crypto/index.js';
import { INLINE_STORAGE_ID, type ContentHeaders, type ObjectRecord } from '../metadata-store.js';
import type { S3Deps } from '../s3-deps.js';
import { etagIsPlaintextMd5, sealedBodyEtag } from '../sse/etag.js';
import { dataBinding, type ObjectBinding, type SealedObjectKey, type SseMode } from '../sse/sealing.js';
import { NoSuchKeyError } from '../errors.js';
import { checkWriteCondition, type WriteCondition } from '../write-condition.js';
import { fitsInline, readBodyLimited } from './inline-body.js';
import { removeUnreferencedBodies } from './remove-unreferenced.js';

/** What a write stores: the body, where, how it is sealed and what it says about itself. */
export interface WriteRequest {
  readonly bucket: string;
  readonly key: string;
  /**
   * The plaintext, or a function that opens it (called at most once, and not at all when
   * `readWhole` reads an inline body): so that a small body never builds a stream. A function,
   * not a getter: an object literal with an accessor (and spreads) is built in dictionary
   * mode, which cost more than the stream it spares (measured: +10–20% server CPU per PUT).
   */
  readonly body: Readable | (() => Readable);
  /**
   * Reads the whole body (at most `limit` bytes) as readBodyLimited would read `body`, for a
   * body stored inline: a caller that can do so without a stream (Payload.readWhole) passes it.
   */
  readonly readWhole?: (limit: number) => Promise<Buffer>;
  /** Stops the body (a failed seal): `body.destroy(err)` when not given. */
  readonly abort?: (err: Error) => void;
  /**
   * The plaintext size the client declared (Content-Length, x-amz-decoded-content-length)
   * or the copy source's size; undefined when unknown. `verify` must reject a body of any
   * other size. A small one is stored inline (see fitsInline).
   */
  readonly declaredSize?: number;
  /** Called once the body has been read, before anything is committed; raises to refuse it. */
  readonly verify: () => void;
  readonly mode: SseMode;
  readonly content: ContentHeaders;
  readonly userMetadata: Readonly<Record<string, string>>;
  /** Verified checksums; read after `verify` ran. */
  readonly checksums: () => Readonly<Record<string, string>>;
  /** Object tags (already validated); absent or empty for none. */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * If-Match / If-None-Match, checked atomically with the commit. Callers also check it early
   * (precheckWriteCondition) before a body flows, so a doomed upload is refused unread.
   */
  readonly condition?: WriteCondition;
}

/**
 * Writes one object: a fresh object key sealed by the mode while the body is read (a KMS
 * error stops the body and raises), the body encrypted as a segment stream bound to its
 * location. A body
 * declared small enough (fitsInline) is read into memory, checked by `verify`, sealed and
 * kept inline in the metadata record; any other is written to a temporary object that is
 * fsynced and renamed only after `verify` accepted the body. Then the metadata is committed
 * (durably), then the replaced body's removal started (it may still be under way when this
 * resolves; see commit). A failure anywhere leaves no trace: nothing
 * half-written is ever listed or read. Raises NoSuchBucketError, the mode's errors,
 * IncompleteBodyError (more bytes than declared), and whatever `verify` or the body raise;
 * for a `condition`, PreconditionFailedError or NoSuchKeyError (nothing kept).
 * The ETag is the MD5 of the plaintext for SSE-S3, opaque for SSE-KMS, DSSE-KMS and SSE-C
 * (as S3; the rule is sse/etag.ts): MD5 is computed for SSE-S3 only.
 */
export async function writeObject(deps: S3Deps, req: WriteRequest): Promise<ObjectRecord> {
  const body = bodyOf(req);
  const trace = TRACE_PHASES_FILE === undefined ? undefined : new PhaseTrace(TRACE_PHASES_FILE);
  // No bucket lookup here: every caller has just looked the bucket up (to pick the SSE
  // mode), and the metadata commit raises NoSuchBucketError if it went away since.
  const binding: ObjectBinding = { bucket: req.bucket, key: req.key, objectId: randomUuid() };
  const segmentSize = deps.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const objectKey = SecretBytes.random(32);
  // The object key is ours, so sealing it (for SSE-KMS a KMS round trip plus the durable
  // audit record of that call) runs while the body arrives and is encrypted, instead of
  // before. A seal that fails stops the body at once with its error; nothing is committed
  // before the seal succeeded.
  const sealing = req.mode.seal(objectKey, binding);
  if (trace !== undefined) void sealing.then(() => trace.mark('keySealed'), () => undefined);
  sealing.catch((err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    if (req.abort !== undefined) req.abort(error);
    else body().destroy(error);
  });
  try {
    const seal: Sealing = { objectKey, aad: dataBinding(binding), segmentSize, md5: etagIsPlaintextMd5(req.mode.label), sealed: sealing };
    const sealedBody = fitsInline(req.declaredSize, segmentSize) ? await sealInline(req, body, seal) : await sealToFile(deps, req, body, seal, trace);
    const sealedKey = await sealing;
    trace?.mark('keyAwaited');
    // Assigned field by field: this literal with its leading and trailing spreads took V8's
    // slow path (≈ 9 µs per PUT in a micro-benchmark, against well under 1 µs).
    const record: { -readonly [K in keyof ObjectRecord]: ObjectRecord[K] } = {
      bucket: binding.bucket,
      key: binding.key,
      objectId: binding.objectId,
      storageId: sealedBody.storageId,
      size: sealedBody.size,
      etag: sealedBodyEtag(sealedBody.md5Hex),
      lastModified: deps.clock.now(),
      segmentSize,
      content: req.content,
      userMetadata: req.userMetadata,
      sealedKey,
      checksums: req.checksums(),
    };
    if (req.tags !== undefined && Object.keys(req.tags).length > 0) record.tags = req.tags;
    if (sealedBody.inline !== undefined) record.inlineBody = sealedBody.inline;
    await commit(deps, record, req.condition, trace);
    trace?.write();
    return record;
  } finally {
    // The seal reads the object key once KMS answers: never dispose it before that settled.
    await sealing.catch(() => undefined);
    objectKey.dispose();
  }
}

interface Sealing {
  readonly objectKey: SecretBytes;
  readonly aad: Buffer;
  readonly segmentSize: number;
  /** Compute the plaintext MD5 (SSE-S3 ETags only). */
  readonly md5: boolean;
  /** The object key's seal, in flight: a body file is committed only once it succeeded. */
  readonly sealed: Promise<SealedObjectKey>;
}

interface SealedBody {
  readonly storageId: string;
  readonly size: number;
  readonly md5Hex: string | undefined;
  readonly inline?: Buffer;
}

/** The request's body opened once, on first use (see WriteRequest.body). */
function bodyOf(req: WriteRequest): () => Readable {
  const given = req.body;
  if (typeof given !== 'function') return () => given;
  let opened: Readable | undefined;
  return () => (opened ??= given());
}

/** A small body: read whole (at most its declared size), verified, sealed in one call. */
async function sealInline(req: WriteRequest, body: () => Readable, s: Sealing): Promise<SealedBody> {
  const limit = req.declaredSize ?? 0;
  const plain = await (req.readWhole !== undefined ? req.readWhole(limit) : readBodyLimited(body(), limit));
  req.verify();
  const inline = sealBuffer(s.objectKey, plain, { aad: s.aad, segmentSize: s.segmentSize });
  const md5Hex = s.md5 ? createHash('md5').update(plain).digest('hex') : undefined;
  return { storageId: INLINE_STORAGE_ID, size: plain.length, md5Hex, inline };
}

/** Any other body: streamed through the encryptor into a temporary object, made durable and renamed after `verify`. */
async function sealToFile(deps: S3Deps, req: WriteRequest, body: () => Readable, s: Sealing, trace: PhaseTrace | undefined): Promise<SealedBody> {
  // Counted (and, for SSE-S3, hashed) inside the encryptor: no Transform of its own.
  let size = 0;
  const md5 = s.md5 ? createHash('md5') : undefined;
  const observe = (chunk: Buffer): void => {
    size += chunk.length;
    md5?.update(chunk);
  };
  const pending = await deps.backend.create();
  try {
    // The body opened only now, when pump listens: a stream built before `create` and failing
    // during it (a client gone) would emit 'error' with no listener, an uncaught exception.
    const source = body();
    trace?.watchBody(source);
    await pump(source, createSegmentEncryptor(s.objectKey, { aad: s.aad, segmentSize: s.segmentSize }, observe), pending.stream);
    trace?.mark('bodyDurable');
    req.verify();
    await s.sealed;
    trace?.mark('keyAwaited');
    await pending.commit();
    trace?.mark('bodyCommitted');
  } catch (err) {
    await pending.abort();
    throw err;
  }
  return { storageId: pending.storageId, size, md5Hex: md5?.digest('hex') };
}

/**
 * Checks a write's condition against the object under the key now (raises as
 * checkWriteCondition): an early answer only, since another write may land before the
 * commit, which checks again atomically.
 */
export async function precheckWriteCondition(deps: S3Deps, bucket: string, key: string, condition: WriteCondition): Promise<void> {
  const current = await deps.store.getObjectHead(bucket, key).catch((err: unknown) => {
    if (err instanceof NoSuchKeyError) return undefined;
    throw err;
  });
  checkWriteCondition(current?.etag, condition);
}

async function commit(deps: S3Deps, record: ObjectRecord, condition: WriteCondition | undefined, trace: PhaseTrace | undefined): Promise<void> {
  let replaced: string | undefined;
  try {
    replaced = await deps.store.putObject(record, condition);
    trace?.mark('metadataCommitted');
  } catch (err) {
    // The row committed but its WAL sync failed (SqliteGroupCommit marks the error): it is
    // visible now and may survive a crash, so its body stays (the orphan sweep removes it at
    // the next start if the row was lost), as does the body it replaced.
    const committed = (err as { committedUnsynced?: unknown } | null)?.committedUnsynced === true;
    if (record.inlineBody === undefined && !committed) await deps.backend.delete(record.storageId);
    throw err;
  }
  // The replaced body's removal is started, not awaited (removeUnreferencedBodies says why it
  // is safe): the answer need not wait for its thread-pool trip (≈ 3 ms of a 1 MiB PUT's
  // latency under load). A failure is logged; the orphan sweep removes the file.
  if (replaced !== undefined) removeUnreferencedBodies(deps, record.bucket, [replaced]);
}

/**
 * source → transform → sink, as stream.pipeline does it (each stream watched with
 * `finished`, so an error or a premature close anywhere destroys all three and rejects;
 * resolves once the sink finished and closed), without pipeline's per-call
 * AbortController, whose abort on completion builds a DOMException with a stack trace.
 */
function pump(source: Readable, transform: Transform, sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      for (const s of [source, transform, sink]) if (!s.destroyed) s.destroy(err);
      reject(err);
    };
    const watch = (err: Error | null | undefined): void => {
      if (err !== null && err !== undefined) fail(err);
    };
    finished(source, { writable: false }, watch);
    finished(transform, watch);
    finished(sink, { readable: false }, (err) => {
      if (err !== null && err !== undefined) return fail(err);
      if (settled) return;
      settled = true;
      resolve();
    });
    source.pipe(transform).pipe(sink);
  });
}

/**
 * CIPHERLAKE_TRACE_PHASES=<file>, read once at startup: each PUT appends one JSON line of
 * its phases (ms since writeObject began) to that file, for bench/s3-bench.ts --phases.
 * Unset (the default), a PUT pays one comparison. Never records names, keys or bytes.
 */
const TRACE_PHASES_FILE = process.env.CIPHERLAKE_TRACE_PHASES === '' ? undefined : process.env.CIPHERLAKE_TRACE_PHASES;

/** The phase marks of one PUT (first mark of each name wins). */
class PhaseTrace {
  readonly #file: string;
  readonly #start = process.hrtime.bigint();
  readonly #marks: Record<string, number> = {};

  constructor(file: string) {
    this.#file = file;
  }

  /**
   * Marks `bodyReceived` when the body's last plaintext byte has arrived (what follows is the
   * sink's last write and its sync). Called only once something consumes and listens to
   * the body: opening it earlier (at the start of the PUT) would undo the late open that keeps
   * a client gone during `backend.create` from raising an unhandled 'error'.
   */
  watchBody(body: Readable): void {
    body.once('end', () => this.mark('bodyReceived'));
  }

  mark(phase: string): void {
    this.#marks[phase] ??= Number(process.hrtime.bigint() - this.#start) / 1e6;
  }

  /** Appends the line; a failure to write it is ignored (tracing never fails a PUT). */
  write(): void {
    try {
      appendFileSync(this.#file, `${JSON.stringify({ pid: process.pid, ...this.#marks })}\n`);
    } catch {
      // Diagnostics only.
    }
  }
}
