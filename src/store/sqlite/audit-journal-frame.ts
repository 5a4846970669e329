// The audit journal's frame format (stable; src/audit/README.md, "The audit journal"):
//
//   u32 BE payload length | u32 BE CRC-32 of the payload (zlib.crc32) | payload
//
// payload = one AuditBatchText (encodeAuditBatch) as UTF-8. A file is frames back to back,
// nothing else. A reader stops at the first frame that is incomplete (a torn tail: that
// write never returned, so none of its requests was answered) or whose CRC fails.
import { crc32 } from 'node:zlib';
import { LINES_PER_RECORD, type AuditBatchText } from './audit-writer.js';

/** Bytes before each payload: length and CRC. */
export const FRAME_HEADER_BYTES = 8;
/**
 * Largest payload a reader accepts. A batch is at most maxBatch (512) events; a length
 * above this cannot have been written by us and is read as damage, not as a torn tail.
 */
export const MAX_FRAME_PAYLOAD = 256 * 1024 * 1024;

/**
 * `batch` framed: header and UTF-8 payload in one buffer, for one write. Pure. Raises a
 * RangeError for a batch over MAX_FRAME_PAYLOAD bytes, which readers would take for damage
 * (its records would be acknowledged and then never chained): the batch fails instead.
 */
export function encodeJournalFrame(batch: AuditBatchText): Buffer {
  const length = Buffer.byteLength(batch, 'utf8');
  if (length > MAX_FRAME_PAYLOAD) throw new RangeError(`audit journal: a batch of ${length} bytes exceeds a frame's ${MAX_FRAME_PAYLOAD}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame.write(batch, FRAME_HEADER_BYTES, 'utf8');
  frame.writeUInt32BE(length, 0);
  frame.writeUInt32BE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4);
  return frame;
}

/** A buffer that encodeJournalFrameInto reuses from one frame to the next (one per journal writer). */
export interface FrameScratch {
  buf: Buffer | undefined;
}

/** Scratch buffers up to this size are kept; a larger frame is built in a buffer of its own. */
const MAX_KEPT_FRAME = 1024 * 1024;

/**
 * Exactly encodeJournalFrame's bytes, built in `scratch` (grown as needed, kept up to 1 MiB):
 * the result is a view of it, valid until the next call with the same scratch (write it
 * before). Spares the request thread a buffer per batch (malloc, page faults, external
 * memory for the GC to account) and the UTF-8 length pass: UTF-8 takes at most 3 bytes per
 * UTF-16 unit, so a batch that fits that bound is written at once and measured by the write.
 * Raises as encodeJournalFrame for a batch over MAX_FRAME_PAYLOAD bytes.
 */
export function encodeJournalFrameInto(batch: AuditBatchText, scratch: FrameScratch): Buffer {
  const bound = FRAME_HEADER_BYTES + batch.length * 3;
  if (bound > MAX_KEPT_FRAME) return encodeJournalFrame(batch);
  let buf = scratch.buf;
  if (buf === undefined || buf.length < bound) {
    // Powers of two from 64 KiB, so a growing load does not reallocate at every batch.
    buf = Buffer.allocUnsafeSlow(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(bound))));
    scratch.buf = buf;
  }
  const length = buf.write(batch, FRAME_HEADER_BYTES, 'utf8');
  const frame = buf.subarray(0, FRAME_HEADER_BYTES + length);
  frame.writeUInt32BE(length, 0);
  frame.writeUInt32BE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4);
  return frame;
}

/**
 * Why a scan stopped: `end` every byte was a valid frame; `limit` it took `maxRecords` or
 * more and left the rest; `torn` the next frame is incomplete (`need`: the bytes it needs
 * from its start, when its header is complete); `invalid` the next frame's CRC fails or its
 * length is impossible.
 */
export type FrameScanStop = 'end' | 'limit' | 'torn' | 'invalid';

/** What scanJournalFrames found. */
export interface FrameScan {
  /**
   * The valid frames' payloads (views of the scanned buffer, valid as long as its bytes are),
   * empty ones left out: what a writer ingests (SqliteAuditWriter.ingestFrames), never decoded.
   */
  readonly payloads: readonly Buffer[];
  /** The same payloads decoded and joined into one AuditBatchText ('' for none), computed when first read. */
  readonly batch: AuditBatchText;
  readonly records: number;
  /** Bytes of `buf` consumed by those frames: the offset of the first frame not taken. */
  readonly end: number;
  readonly stop: FrameScanStop;
  /** For `torn` with a complete header, and `invalid` with a possible length: header plus payload bytes of that frame. */
  readonly need?: number;
}

/**
 * Scans `buf` (which starts at a frame boundary) for complete valid frames, taking whole
 * frames until `maxRecords` is reached. Pure; never throws on any input (a frame whose
 * payload is not well-formed batch text is the SQLite writer's to refuse).
 */
export function scanJournalFrames(buf: Buffer, maxRecords: number): FrameScan {
  const payloads: Buffer[] = [];
  let records = 0;
  let at = 0;
  const result = (stop: FrameScanStop, need?: number): FrameScan => {
    let batch: AuditBatchText | undefined;
    return {
      payloads,
      // Decoded only for a reader that wants the text (offline commands, tests): the writer
      // ingests the bytes, and one joined string of a poll's frames (often above V8's
      // large-object size, so fresh pages every poll) was ~25% of the writer thread's CPU.
      get batch(): AuditBatchText {
        return (batch ??= payloads.map((p) => p.toString('utf8')).join('\n'));
      },
      records,
      end: at,
      stop,
      ...(need !== undefined ? { need } : {}),
    };
  };
  while (at < buf.length) {
    if (records >= maxRecords) return result('limit');
    if (buf.length - at < FRAME_HEADER_BYTES) return result('torn');
    const length = buf.readUInt32BE(at);
    if (length > MAX_FRAME_PAYLOAD) return result('invalid');
    const total = FRAME_HEADER_BYTES + length;
    if (buf.length - at < total) return result('torn', total);
    const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + total);
    if (crc32(payload) !== buf.readUInt32BE(at + 4)) return result('invalid', total);
    // An empty payload carries no record; it is skipped rather than joined as an empty line.
    if (length > 0) {
      payloads.push(payload);
      records += recordsIn(payload);
    }
    at += total;
  }
  return result('end');
}

/** Records in one batch payload: its lines (line feeds + 1) over LINES_PER_RECORD, rounded up (the writer refuses a ragged batch). */
function recordsIn(payload: Buffer): number {
  let lines = 1;
  for (let i = payload.indexOf(0x0a); i !== -1; i = payload.indexOf(0x0a, i + 1)) lines++;
  return Math.ceil(lines / LINES_PER_RECORD);
}
