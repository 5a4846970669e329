import { DecryptionError, DEFAULT_SEGMENT_SIZE, headerSize, planRange, SegmentOpener, TAG_SIZE, type ByteRange, type RangePlan, type SecretBytes } from '../../crypto/index.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { BodyReader } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';
import { dataBinding } from '../sse/sealing.js';
import type { OpenedChunk, OpenStream, SegmentOpenPool } from './open-pool.js';

/** Sealed segments per read: 16 × (64 KiB + tag) ≈ 1 MiB, one thread-pool trip each. */
const UNITS_PER_READ = 16;

/**
 * Size of a pooled read buffer: the header (read with the first segments of a whole-object
 * GET), one read of reference-size segments and the probe byte. Every fresh 1 MiB buffer is external memory V8 counts towards its next full collection,
 * and a GET's two buffers live long enough to be promoted (only a mark-compact frees them):
 * reusing them across GETs takes that churn off every large GET.
 */
const POOLED_BYTES = headerSize + UNITS_PER_READ * (DEFAULT_SEGMENT_SIZE + TAG_SIZE) + 1;
// The plaintext pieces are the cipher's own buffers: node:crypto allocates a fresh ArrayBuffer
// per update call, so a GET makes one byte of V8 external memory per byte it decrypts. V8
// (Node 20) scavenges young backing stores only once they pass 32 MB, and counts them as
// external memory allocated since the last mark-compact; with the server's ~15 MB old
// generation that can exceed the heap's headroom, and a process may settle into a full
// collection every 20–40 MB decrypted (~1 ms more CPU per MiB, main thread and V8's helper
// threads; the 64 MiB GET's ms/MiB is then bimodal across runs). Copying the plaintext into
// pooled output buffers, so that none lives long enough to be promoted, was tried and made no
// consistent difference to either (s3-bench --against, 12 alternating pairs); a larger initial
// old space for the server process (node --initial-old-space-size=64 or 128) removed them.

/** Idle read buffers kept for the next GETs (at most this many, ~1 MiB each). */
const MAX_SPARE = 8;
const spare: Buffer[] = [];

/** A read buffer of at least `size` bytes: a pooled one when that size fits, else a fresh one. */
function acquireReadBuffer(size: number): Buffer {
  if (size > POOLED_BYTES) return Buffer.allocUnsafe(size);
  // A small read that finds no spare gets its own small buffer rather than a pooled 1 MiB one.
  return spare.pop() ?? Buffer.allocUnsafe(size * 4 < POOLED_BYTES ? size : POOLED_BYTES);
}

/** Returns a buffer no read is in flight into and no opener holds a view of (ciphertext only). */
function releaseReadBuffer(buffer: Buffer | undefined): void {
  if (buffer !== undefined && buffer.length === POOLED_BYTES && spare.length < MAX_SPARE) spare.push(buffer);
}

/** The sealed header at the start of the body; DecryptionError when the body is shorter. */
async function readHeader(reader: BodyReader): Promise<Buffer> {
  const header = Buffer.allocUnsafe(headerSize);
  if ((await reader.read(header, 0, headerSize, 0)) !== headerSize) throw new DecryptionError();
  return header;
}

/** True when `o` is read by plaintextBatches: a single-part body in a file (not inline), not empty. */
export function readsInBatches(o: ObjectRecord): boolean {
  return o.parts === undefined && o.inlineBody === undefined && o.size > 0;
}

/**
 * Sealed bytes of a read from which its decryption goes to the open threads (deps.openPool):
 * below that, the extra hops cost about what they free on the event loop.
 */
export const OFFLOAD_BYTES = 2 * 1024 * 1024;
/** Chunks of one GET read or decrypted on an open thread ahead of the batch being sent. */
const CHUNKS_AHEAD = 2;

/** Where a GET's reads go: sealed bytes [start, end), the probe byte, the read size, a lead header. */
interface ReadGeometry {
  readonly start: number;
  readonly end: number;
  /** 1 at the end of the body: one byte more, so an extended body does not pass as whole. */
  readonly probe: number;
  readonly chunk: number;
  /** headerSize when the header comes with the first read (a GET from the first segment), else 0. */
  readonly lead: number;
}

function geometry(plan: RangePlan): ReadGeometry {
  const start = plan.segmentRange.start;
  return {
    start,
    end: plan.segmentRange.endInclusive + 1,
    probe: plan.includesFinal ? 1 : 0,
    chunk: UNITS_PER_READ * (plan.segmentSize + TAG_SIZE),
    // From the first segment (a whole-object GET), the header comes with the first read: one
    // thread-pool trip less. Otherwise it is read on its own.
    lead: start === headerSize ? headerSize : 0,
  };
}

/**
 * The plaintext of a file-backed single-part object (see readsInBatches), or of `range` of
 * it, as batches of verified pieces: one batch per ~1 MiB read. Each read is aligned to
 * whole sealed segments, and the next read is already in flight while a batch is decrypted
 * and sent. With `deps.openPool` and at least OFFLOAD_BYTES to read, the chunks are
 * decrypted on an open thread (at most CHUNKS_AHEAD read or decrypted ahead of the batch
 * being sent), so the event loop only reads and sends; otherwise on the event loop, into
 * two buffers (pooled across GETs). A batch never holds a piece whose segment
 * tag was not verified; the final segment is checked as final, and for a read that
 * reaches the end one byte past it is requested, so a truncated, extended, reordered or
 * tampered body raises DecryptionError (after the batches verified before it). Takes
 * ownership of `objectKey` and disposes it, and closes the body, when the iteration ends
 * in any way. Raises the backend's errors (a missing body), and OpenPoolUnavailableError
 * when the open threads are closed or the one decrypting this GET died.
 */
export async function* plaintextBatches(deps: S3Deps, o: ObjectRecord, objectKey: SecretBytes, range?: ByteRange): AsyncGenerator<Buffer[]> {
  try {
    const plan = planRange(range?.start ?? 0, range?.endInclusive ?? o.size - 1, o.size, o.segmentSize);
    const g = geometry(plan);
    const pool = deps.openPool;
    if (pool !== undefined && g.end - g.start >= OFFLOAD_BYTES) yield* pooledBatches(pool, deps, o, objectKey, plan, g);
    else yield* inThreadBatches(deps, o, objectKey, plan, g);
  } finally {
    objectKey.dispose();
  }
}

/** plaintextBatches decrypting on the event loop. */
async function* inThreadBatches(deps: S3Deps, o: ObjectRecord, objectKey: SecretBytes, plan: RangePlan, g: ReadGeometry): AsyncGenerator<Buffer[]> {
  let reader: BodyReader | undefined;
  let opener: SegmentOpener | undefined;
  let pending: Promise<number> | undefined;
  // Filled lazily (an object that fits one read never needs the second), released at the end.
  const buffers: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];
  try {
    reader = await deps.backend.openReader(o.storageId);
    const { start, end, probe, chunk, lead } = g;
    const header = lead > 0 ? undefined : await readHeader(reader);
    // The largest read this GET makes: the first one (later ones never exceed it).
    const capacity = lead + Math.min(chunk, end - start) + probe;
    const body = reader;
    const readAt = async (i: number, at: number): Promise<number> => {
      const want = Math.min(chunk, end - at);
      const extra = i === 0 ? lead : 0;
      const buffer = (buffers[i % 2] ??= acquireReadBuffer(capacity));
      return (await body.read(buffer, 0, extra + (at + want === end ? want + probe : want), at - extra)) - extra;
    };
    let at = start;
    let i = 0;
    pending = readAt(0, at);
    while (pending !== undefined) {
      const want = Math.min(chunk, end - at);
      const got: number = await pending;
      if (got > want || got < 0) throw new DecryptionError();
      const skip = i === 0 ? lead : 0;
      const buffer = buffers[i % 2]!;
      // The header is parsed (and copied) by the constructor: its view is not kept.
      opener ??= new SegmentOpener(objectKey, { aad: dataBinding(o), range: { header: header ?? buffer.subarray(0, headerSize), plan } });
      at += want;
      // Read ahead into the other buffer: this one is free again once `update` returned
      // (aligned reads leave no partial segment queued, only the final one until `final`).
      pending = got === want && at < end ? readAt(i + 1, at) : undefined;
      const out = opener.update(buffer.subarray(skip, skip + got));
      if (pending === undefined) out.push(...opener.final());
      if (out.length > 0) yield out;
      i += 1;
    }
  } finally {
    opener?.dispose();
    objectKey.dispose();
    // A read still in flight (we stopped early) must land before its descriptor closes.
    await pending?.catch(() => undefined);
    await reader?.close();
    // Only now: no read lands in them any more, and the disposed opener holds no view of them.
    releaseReadBuffer(buffers[0]);
    releaseReadBuffer(buffers[1]);
  }
}

/** plaintextBatches decrypting on an open thread of `pool`. */
async function* pooledBatches(pool: SegmentOpenPool, deps: S3Deps, o: ObjectRecord, objectKey: SecretBytes, plan: RangePlan, g: ReadGeometry): AsyncGenerator<Buffer[]> {
  let reader: BodyReader | undefined;
  let stream: OpenStream | undefined;
  let ahead: ReadAhead | undefined;
  try {
    reader = await deps.backend.openReader(o.storageId);
    const header = g.lead > 0 ? undefined : await readHeader(reader);
    stream = pool.open(objectKey, dataBinding(o), plan, header);
    // The thread has its own copy now: this one goes at once.
    objectKey.dispose();
    ahead = new ReadAhead(reader, stream, g);
    for (let r = await ahead.next(); r !== undefined; r = await ahead.next()) {
      releaseReadBuffer(r.buffer);
      if (r.pieces.length > 0) yield r.pieces;
    }
  } finally {
    stream?.close();
    objectKey.dispose();
    // Reads still in flight (we stopped early) must land before the descriptor closes.
    await ahead?.stop();
    await reader?.close();
  }
}

/**
 * The reads of one pooled GET, each handed to its open stream as soon as it landed, in
 * order: at most CHUNKS_AHEAD chunks read or decrypted beyond the one the consumer holds,
 * one read in flight at a time.
 */
class ReadAhead {
  readonly #queue: Array<Promise<OpenedChunk>> = [];
  readonly #body: BodyReader;
  readonly #stream: OpenStream;
  readonly #g: ReadGeometry;
  #at: number;
  #reads = 0;
  #ahead = 0;
  #reading = false;
  #done = false;
  #stopped = false;

  constructor(body: BodyReader, stream: OpenStream, g: ReadGeometry) {
    this.#body = body;
    this.#stream = stream;
    this.#g = g;
    this.#at = g.start;
  }

  /** The next chunk's verified plaintext (and its buffer), or undefined after the last; raises what the read or the decryption raised. */
  async next(): Promise<OpenedChunk | undefined> {
    this.#pump();
    const job = this.#queue.shift();
    if (job === undefined) return undefined;
    const r = await job;
    this.#ahead -= 1;
    this.#pump();
    return r;
  }

  /** Starts no more reads and waits until every read and decryption started has settled. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const r of await Promise.allSettled(this.#queue)) if (r.status === 'fulfilled') releaseReadBuffer(r.value.buffer);
  }

  #pump(): void {
    if (this.#reading || this.#done || this.#stopped || this.#ahead >= CHUNKS_AHEAD) return;
    const g = this.#g;
    const at = this.#at;
    const want = Math.min(g.chunk, g.end - at);
    const extra = this.#reads === 0 ? g.lead : 0;
    const atEnd = at + want === g.end;
    this.#at += want;
    this.#reads += 1;
    this.#ahead += 1;
    this.#reading = true;
    const buffer = ownedReadBuffer(g.lead + Math.min(g.chunk, g.end - g.start) + g.probe);
    const job = this.#body.read(buffer, 0, extra + want + (atEnd ? g.probe : 0), at - extra).then(
      (n) => this.#landed(buffer, n - extra, want, extra, atEnd),
      (err: unknown) => {
        this.#reading = false;
        this.#done = true;
        releaseReadBuffer(buffer);
        throw err;
      },
    );
    // Raised when the consumer reaches it (or dropped by stop()).
    job.catch(() => undefined);
    this.#queue.push(job);
  }

  #landed(buffer: Buffer, got: number, want: number, extra: number, atEnd: boolean): Promise<OpenedChunk> | OpenedChunk {
    this.#reading = false;
    const last = got !== want || atEnd;
    if (got > want || got < 0 || last) this.#done = true;
    if (got > want || got < 0) {
      releaseReadBuffer(buffer);
      throw new DecryptionError();
    }
    if (this.#stopped) return { pieces: [], buffer };
    const opened = this.#stream.decrypt(buffer, extra, got, extra > 0, last);
    this.#pump();
    return opened;
  }
}

/** acquireReadBuffer, but always a buffer alone in its ArrayBuffer (it is transferred to an open thread). */
function ownedReadBuffer(size: number): Buffer {
  const b = acquireReadBuffer(size);
  return b.byteOffset === 0 && b.buffer.byteLength === b.length ? b : Buffer.allocUnsafeSlow(size);
}
