import { Readable } from 'node:stream';
import { createSegmentDecryptor, DecryptionError, encryptedSize, planRange, type ByteRange, type SecretBytes } from '../../../crypto/index.js';
import { InvalidArgumentError, InvalidPartNumberError } from '../../errors.js';
import type { ObjectRecord, PartLayout } from '../../metadata-store.js';
import type { StoredRange } from '../../object-backend.js';
import { derivePartKey, partDataBinding, partListVerifies } from '../../sse/sealing.js';
import { MAX_PART_NUMBER } from './limits.js';

/** A part's place in the object: plaintext offset and the offset of its sealed stream in the body. */
export interface PlacedPart extends PartLayout {
  readonly plainOffset: number;
  readonly sealedOffset: number;
}

function place(o: ObjectRecord, parts: readonly PartLayout[]): PlacedPart[] {
  let plainOffset = 0;
  let sealedOffset = 0;
  return parts.map((p) => {
    const placed = { ...p, plainOffset, sealedOffset };
    plainOffset += p.size;
    sealedOffset += encryptedSize(p.size, o.segmentSize);
    return placed;
  });
}

/** A part a read of a multipart object touches, and the plaintext bytes [from, to] of it the read wants. */
export interface TouchedPart {
  readonly part: PlacedPart;
  readonly from: number;
  readonly to: number;
  /** The object's last part: its sealed stream ends the body. */
  readonly last: boolean;
}

/**
 * The parts of multipart object `o` that `range` (the whole object without one) touches, in
 * order, each with the bytes of it wanted; an empty part is never touched (no byte of it can
 * be wanted), so nothing of it is read or opened.
 */
export function touchedParts(o: ObjectRecord, range?: ByteRange): TouchedPart[] {
  const parts = o.parts ?? [];
  const start = range?.start ?? 0;
  const end = range?.endInclusive ?? o.size - 1;
  const touched: TouchedPart[] = [];
  place(o, parts).forEach((p, i) => {
    if (p.size === 0 || p.plainOffset > end || p.plainOffset + p.size - 1 < start) return;
    touched.push({ part: p, from: Math.max(start, p.plainOffset) - p.plainOffset, to: Math.min(end, p.plainOffset + p.size - 1) - p.plainOffset, last: i === parts.length - 1 });
  });
  return touched;
}

/**
 * The plaintext of a multipart object (or a range of it), as a stream: what CopyObject and
 * UploadPartCopy read (a GET reads in batches: read-large.ts). Opens only the parts the range
 * touches, each under its own part key and binding, and of each only the segments the range
 * covers. Takes ownership of `objectKey` (disposed when the stream ends or is destroyed);
 * part keys live only while their part is read. Never emits a segment before its tag
 * verified; tampering surfaces as a stream error (DecryptionError). `read` gives a range of
 * the stored body, already opened by the caller (so that a concurrent overwrite, which removes
 * the old body file, cannot make a part vanish mid-read).
 */
export function readMultipartPlaintext(read: (range: StoredRange) => Readable, o: ObjectRecord, objectKey: SecretBytes, range?: ByteRange): Readable {
  const wanted = touchedParts(o, range);
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      checkPartList(o, objectKey);
      for (const t of wanted) yield* partChunks(read, o, objectKey, t.part, t.from, t.to);
    } finally {
      objectKey.dispose();
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/**
 * Raises DecryptionError unless multipart `o`'s part list is the one its completion tagged
 * (sse/sealing.ts partListVerifies): checked before any part is read, by every reader.
 */
export function checkPartList(o: ObjectRecord, objectKey: SecretBytes): void {
  if (!partListVerifies(objectKey, { bucket: o.bucket, key: o.key, objectId: o.objectId, parts: o.parts ?? [], sealedKey: o.sealedKey, ...(o.partsTag !== undefined ? { partsTag: o.partsTag } : {}) })) throw new DecryptionError();
}

async function* partChunks(read: (range: StoredRange) => Readable, o: ObjectRecord, objectKey: SecretBytes, p: PlacedPart, from: number, to: number): AsyncGenerator<Buffer> {
  const partKey = derivePartKey(objectKey, p.partNumber, p.keySalt);
  const aad = partDataBinding(o, p.partNumber);
  const base = p.sealedOffset;
  let source: Readable | undefined;
  let decryptor: NodeJS.ReadWriteStream & Readable;
  try {
    if (from === 0 && to === p.size - 1) {
      source = read({ start: base, endInclusive: base + encryptedSize(p.size, o.segmentSize) - 1 });
      decryptor = createSegmentDecryptor(partKey, { aad });
    } else {
      const plan = planRange(from, to, p.size, o.segmentSize);
      const header = await readAll(read(shift(plan.headerRange, base)));
      source = read(shift(plan.segmentRange, base));
      decryptor = createSegmentDecryptor(partKey, { aad, range: { header, plan } });
    }
    const s = source;
    s.on('error', (err) => decryptor.destroy(err));
    for await (const c of s.pipe(decryptor)) yield c as Buffer;
  } finally {
    source?.destroy();
    partKey.dispose();
  }
}

function shift(r: ByteRange, by: number): ByteRange {
  return { start: r.start + by, endInclusive: r.endInclusive + by };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * What GET/HEAD `?partNumber=N` reads: for a multipart object, part N's byte range and the
 * parts count (x-amz-mp-parts-count); for a single-part object, part 1 is the whole object.
 * Raises InvalidArgumentError for a number outside 1–10000, InvalidPartNumberError (416)
 * past the object's parts (or for an empty part, which no byte range can name).
 */
export function partRead(o: ObjectRecord, raw: string): { range?: ByteRange; partsCount?: number } {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_PART_NUMBER) throw new InvalidArgumentError('Part number must be an integer between 1 and 10000, inclusive');
  if (o.parts === undefined) {
    if (n !== 1) throw new InvalidPartNumberError('');
    return {};
  }
  const p = place(o, o.parts)[n - 1];
  if (p === undefined || p.size === 0) throw new InvalidPartNumberError('');
  return { range: { start: p.plainOffset, endInclusive: p.plainOffset + p.size - 1 }, partsCount: o.parts.length };
}
