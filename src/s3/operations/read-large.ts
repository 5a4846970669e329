import { DecryptionError, DEFAULT_SEGMENT_SIZE, encryptedSize, headerSize, openSegments, planRange, SegmentOpener, TAG_SIZE, type ByteRange, type RangePlan, type SecretBytes } from '../../crypto/index.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { BodyReader } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';
import { dataBinding, derivePartKey, partDataBinding } from '../sse/sealing.js';
import { checkPartList, touchedParts } from './multipart/read-multipart.js';

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

/** The sealed header of the segment stream at `base` of the body; DecryptionError when the body is shorter. */
async function readHeader(reader: BodyReader, base: number): Promise<Buffer> {
  const header = Buffer.allocUnsafe(headerSize);
  if ((await reader.read(header, 0, headerSize, base)) !== headerSize) throw new DecryptionError();
  return header;
}

/**
 * True when `o` is read by plaintextBatches: a body in a file (not inline), not empty,
 * single-part or multipart.
 */
export function readsInBatches(o: ObjectRecord): boolean {
  return o.inlineBody === undefined && o.size > 0;
}

/**
 * Batches read and opened ahead of the one being sent. One would leave the main thread idle
 * whenever it sent a batch faster than the thread pool read and opened the next (a loaded
 * machine: the pool's threads wait for a core): two keep one more in hand. The two read
 * buffers suffice: batch i + 2 starts once batch i was opened, whose plaintext is in buffers
 * of its own.
 */
const AHEAD = 2;

/**
 * The plaintext of a file-backed object (see readsInBatches), or of `range` of it, as
 * batches of verified pieces: one batch per ~1 MiB read. Each read lands in one of two
 * buffers (pooled across GETs), aligned to whole sealed segments, and its segments are
 * opened on the libuv thread pool (SegmentOpener.updateAsync; on this thread without the
 * addon): the next two batches are read and opened while the caller sends the current one,
 * so the main thread only schedules and sends. A multipart object is read part by part, only
 * the parts the range touches (MULTIPART.md, "Reading"), each part's segment stream under its
 * own part key (derived when its reading starts, disposed when it ends) and binding. A batch
 * never holds a piece whose segment tag was not verified; each stream's final segment is
 * checked as final, a part's stream ends exactly where the next part's begins, and for a read
 * that reaches the end of the body one byte past it is requested (past the object's empty last
 * parts, whose streams are opened first: openEmptyTail), so a truncated, extended,
 * reordered or tampered body (or part) raises DecryptionError (after the batches verified
 * before it; nothing of the batch that holds the bad segment). Takes ownership of
 * `objectKey` and disposes it, and closes the body, when the iteration ends in any way.
 * Raises the backend's errors (a missing body).
 */
export async function* plaintextBatches(deps: S3Deps, o: ObjectRecord, objectKey: SecretBytes, range?: ByteRange): AsyncGenerator<Buffer[]> {
  let reader: BodyReader | undefined;
  try {
    if (o.parts === undefined) {
      const plan = planRange(range?.start ?? 0, range?.endInclusive ?? o.size - 1, o.size, o.segmentSize);
      reader = await deps.backend.openReader(o.storageId);
      yield* streamBatches(reader, { base: 0, key: objectKey, aad: dataBinding(o), plan, endsBody: true });
      return;
    }
    checkPartList(o, objectKey);
    const parts = touchedParts(o, range);
    reader = await deps.backend.openReader(o.storageId);
    if (range === undefined || range.endInclusive === o.size - 1) await openEmptyTail(reader, o, objectKey);
    for (const { part, from, to, last } of parts) {
      const plan = planRange(from, to, part.size, o.segmentSize);
      const partKey = derivePartKey(objectKey, part.partNumber, part.keySalt);
      try {
        yield* streamBatches(reader, { base: part.sealedOffset, key: partKey, aad: partDataBinding(o, part.partNumber), plan, endsBody: last });
      } finally {
        partKey.dispose();
      }
    }
  } finally {
    objectKey.dispose();
    await reader?.close();
  }
}

/**
 * For a read of multipart `o` that reaches its last byte: the empty parts after its last
 * part with bytes (only a completed upload's last part can be empty), which no range touches,
 * are where the body ends. Their streams (a header and a lone tag each) are read at once with
 * one byte past the body and opened, each under its part key and binding, before any batch:
 * an extended body, or one with them cut, reordered or altered, raises DecryptionError with
 * nothing sent, as the probe byte of a last part with bytes does. Nothing for other objects.
 */
async function openEmptyTail(reader: BodyReader, o: ObjectRecord, objectKey: SecretBytes): Promise<void> {
  const parts = o.parts ?? [];
  let first = parts.length;
  while (first > 0 && parts[first - 1]!.size === 0) first -= 1;
  if (first === parts.length) return;
  const at = parts.slice(0, first).reduce((sum, p) => sum + encryptedSize(p.size, o.segmentSize), 0);
  const each = encryptedSize(0, o.segmentSize);
  const want = (parts.length - first) * each;
  const sealed = Buffer.allocUnsafe(want + 1);
  if ((await reader.read(sealed, 0, want + 1, at)) !== want) throw new DecryptionError();
  parts.slice(first).forEach((p, i) => {
    const partKey = derivePartKey(objectKey, p.partNumber, p.keySalt);
    try {
      if (openSegments(partKey, sealed.subarray(i * each, (i + 1) * each), { aad: partDataBinding(o, p.partNumber) }).length !== 0) throw new DecryptionError();
    } finally {
      partKey.dispose();
    }
  });
}

/**
 * One segment stream of a body: it starts at `base` (its header), opens under `key` and
 * `aad`, and `plan` (relative to the stream) says which of its segments and bytes are
 * wanted. `endsBody`: nothing follows it in the body, so a read of its final segment asks for
 * one byte more (an extended body must not pass as whole); a part followed by another ends
 * where the next begins, which its final segment's flag and the next part's header check.
 */
interface SealedStream {
  readonly base: number;
  readonly key: SecretBytes;
  readonly aad: Buffer;
  readonly plan: RangePlan;
  readonly endsBody: boolean;
}

/**
 * The batches of one segment stream (plaintextBatches), read through `reader` (left open) and
 * opened under `s.key` (left undisposed). Every read or open it started has landed, and its
 * buffers are pooled again, before it returns or raises.
 */
async function* streamBatches(reader: BodyReader, s: SealedStream): AsyncGenerator<Buffer[]> {
  let opener: SegmentOpener | undefined;
  // Started in order, not yet handed to the caller.
  const inFlight: Array<Promise<Buffer[]>> = [];
  // Set by a failure or the end: a batch whose read lands afterwards opens nothing.
  let stopped = false;
  // Filled lazily (a stream that fits one read never needs the second), released at the end.
  const buffers: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];
  try {
    const { base, key, aad, plan } = s;
    const unit = plan.segmentSize + TAG_SIZE;
    const start = plan.segmentRange.start;
    const end = plan.segmentRange.endInclusive + 1;
    // At the end of the body, one byte more: an extended body must not pass as whole.
    const probe = plan.includesFinal && s.endsBody ? 1 : 0;
    const chunk = UNITS_PER_READ * unit;
    // From the first segment (a whole-stream read), the header comes with the first read: one
    // thread-pool trip less. Otherwise it is read on its own.
    const lead = start === headerSize ? headerSize : 0;
    const header = lead > 0 ? undefined : await readHeader(reader, base);
    // The largest read this stream makes: the first one (later ones never exceed it).
    const capacity = lead + Math.min(chunk, end - start) + probe;
    const count = Math.ceil((end - start) / chunk);
    let opened: Promise<unknown> = Promise.resolve();
    // Batch i: read into buffers[i % 2] at once, opened once batch i - 1 was (the opener is
    // sequential; batch 0 makes it, from the header its read holds). Its buffer is free again
    // once this settled: the opener keeps no view of it past updateAsync.
    const batch = (i: number): Promise<Buffer[]> => {
      const at = start + i * chunk;
      const want = Math.min(chunk, end - at);
      const last = at + want === end;
      const extra = i === 0 ? lead : 0;
      const buffer = (buffers[i % 2] ??= acquireReadBuffer(capacity));
      const reading = reader.read(buffer, 0, extra + (last ? want + probe : want), base + at - extra);
      const before = opened;
      const result = (async (): Promise<Buffer[]> => {
        const got = (await reading) - extra;
        await before;
        if (stopped || got > want || got < 0) throw new DecryptionError();
        // The header is parsed (and copied) by the constructor: its view is not kept.
        opener ??= new SegmentOpener(key, { aad, range: { header: header ?? buffer.subarray(0, headerSize), plan } });
        // Aligned reads leave no partial segment queued, only the final one until the end; a
        // short read is the end of the body (too early: the final checks fail).
        return opener.updateAsync(buffer.subarray(extra, extra + got), last || got < want);
      })();
      result.catch(() => {
        stopped = true;
      });
      opened = result;
      return result;
    };
    let next = 0;
    while (next < count && next < AHEAD) inFlight.push(batch(next++));
    while (inFlight.length > 0) {
      const out = await inFlight[0]!;
      inFlight.shift();
      // The next batches are read and opened on the thread pool while this one is sent.
      if (next < count) inFlight.push(batch(next++));
      if (out.length > 0) yield out;
    }
  } finally {
    stopped = true;
    // Disposed first: a batch whose read is still in flight then opens nothing.
    opener?.dispose();
    // A read or open still in flight (we stopped early) must land before the caller closes
    // the body (or disposes the key) and before its buffer goes back to the pool.
    await Promise.allSettled(inFlight);
    // Only now: no read lands in them any more, and the disposed opener holds no view of them.
    releaseReadBuffer(buffers[0]);
    releaseReadBuffer(buffers[1]);
  }
}
