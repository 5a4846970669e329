import { DecryptionError, headerSize, planRange, SegmentOpener, TAG_SIZE, type ByteRange, type SecretBytes } from '../../crypto/index.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { BodyReader } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';
import { dataBinding } from '../sse/sealing.js';

/** Sealed segments per read: 16 × (64 KiB + tag) ≈ 1 MiB, one thread-pool trip each. */
const UNITS_PER_READ = 16;

/** True when `o` is read by plaintextBatches: a single-part body in a file (not inline), not empty. */
export function readsInBatches(o: ObjectRecord): boolean {
  return o.parts === undefined && o.inlineBody === undefined && o.size > 0;
}

/**
 * The plaintext of a file-backed single-part object (see readsInBatches), or of `range` of
 * it, as batches of verified pieces: one batch per ~1 MiB read. Each read lands in one of
 * two reused buffers, aligned to whole sealed segments, and the next read is already in
 * flight while a batch is decrypted and sent. A batch never holds a piece whose segment
 * tag was not verified; the final segment is checked as final, and for a read that
 * reaches the end one byte past it is requested, so a truncated, extended, reordered or
 * tampered body raises DecryptionError (after the batches verified before it). Takes
 * ownership of `objectKey` and disposes it, and closes the body, when the iteration ends
 * in any way. Raises the backend's errors (a missing body).
 */
export async function* plaintextBatches(deps: S3Deps, o: ObjectRecord, objectKey: SecretBytes, range?: ByteRange): AsyncGenerator<Buffer[]> {
  let reader: BodyReader | undefined;
  let opener: SegmentOpener | undefined;
  let pending: Promise<number> | undefined;
  try {
    const plan = planRange(range?.start ?? 0, range?.endInclusive ?? o.size - 1, o.size, o.segmentSize);
    reader = await deps.backend.openReader(o.storageId);
    const header = Buffer.allocUnsafe(headerSize);
    if ((await reader.read(header, 0, headerSize, 0)) !== headerSize) throw new DecryptionError();
    opener = new SegmentOpener(objectKey, { aad: dataBinding(o), range: { header, plan } });
    const unit = plan.segmentSize + TAG_SIZE;
    const end = plan.segmentRange.endInclusive + 1;
    // At the end of the body, one byte more: an extended body must not pass as whole.
    const probe = plan.includesFinal ? 1 : 0;
    const chunk = UNITS_PER_READ * unit;
    const buffers = [Buffer.allocUnsafe(chunk + probe), Buffer.allocUnsafe(chunk + probe)] as const;
    const body = reader;
    const readAt = (i: number, at: number): Promise<number> => {
      const want = Math.min(chunk, end - at);
      return body.read(buffers[i % 2]!, 0, at + want === end ? want + probe : want, at);
    };
    let at = plan.segmentRange.start;
    let i = 0;
    pending = readAt(0, at);
    while (pending !== undefined) {
      const want = Math.min(chunk, end - at);
      const got: number = await pending;
      if (got > want) throw new DecryptionError();
      at += want;
      // Read ahead into the other buffer: this one is free again once `update` returned
      // (aligned reads leave no partial segment queued, only the final one until `final`).
      pending = got === want && at < end ? readAt(i + 1, at) : undefined;
      const out = opener.update(buffers[i % 2]!.subarray(0, got));
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
  }
}
