import { DecryptionError, InvalidCryptoArgumentError } from '../errors.js';
import { DEFAULT_SEGMENT_SIZE, MAX_SEGMENTS, TAG_SIZE, assertSegmentSize, headerSize } from './format.js';

/** An inclusive byte range, as in an HTTP `Range: bytes=start-end` header. */
export interface ByteRange {
  readonly start: number;
  readonly endInclusive: number;
}

/**
 * What to read and keep for a plaintext range of a sealed object.
 *
 * Read `headerRange` and `segmentRange` from the sealed object (when `firstSegment` is 0
 * they are adjacent and may be fetched as one read), hand both to the decryptor with this
 * plan, and it returns exactly plaintext bytes [plainStart, plainEndInclusive]: it opens
 * segments `firstSegment..lastSegment`, drops `skip` bytes and keeps `keep` bytes.
 */
export interface RangePlan {
  readonly segmentSize: number;
  readonly headerRange: ByteRange;
  readonly segmentRange: ByteRange;
  readonly firstSegment: number;
  readonly lastSegment: number;
  /** True when `lastSegment` is the object's final segment (sealed with the final flag). */
  readonly includesFinal: boolean;
  readonly skip: number;
  readonly keep: number;
}

function assertSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidCryptoArgumentError(`${name} must be a non-negative safe integer`);
  }
}

/** Segments in an object of `plainSize` bytes: at least one, so empty objects are sealed too. */
function segmentCount(plainSize: number, segmentSize: number): number {
  return Math.max(1, Math.ceil(plainSize / segmentSize));
}

/**
 * Sealed size of a `plainSize`-byte object: header + plaintext + one tag per segment.
 * Pure. Throws InvalidCryptoArgumentError for a negative or non-integer size, a segment
 * size outside the format's limits, or an object needing more than MAX_SEGMENTS segments.
 */
export function encryptedSize(plainSize: number, segmentSize: number = DEFAULT_SEGMENT_SIZE): number {
  assertSize('plainSize', plainSize);
  assertSegmentSize(segmentSize);
  const segments = segmentCount(plainSize, segmentSize);
  if (segments > MAX_SEGMENTS) throw new InvalidCryptoArgumentError('plainSize exceeds the format limit');
  return headerSize + plainSize + segments * TAG_SIZE;
}

/**
 * Plaintext size of a sealed object of `sealedSize` bytes. Pure; the inverse of
 * `encryptedSize`. Throws DecryptionError when no plaintext size maps to `sealedSize`
 * (a truncated or extended object), InvalidCryptoArgumentError for bad arguments.
 */
export function plaintextSize(sealedSize: number, segmentSize: number = DEFAULT_SEGMENT_SIZE): number {
  assertSize('sealedSize', sealedSize);
  assertSegmentSize(segmentSize);
  const body = sealedSize - headerSize;
  if (body < TAG_SIZE) throw new DecryptionError();
  const unit = segmentSize + TAG_SIZE;
  const segments = Math.ceil(body / unit);
  const last = body - (segments - 1) * unit;
  // Only the first segment may be empty: a later empty final segment is never written.
  if (segments > 1 && last <= TAG_SIZE) throw new DecryptionError();
  if (segments > MAX_SEGMENTS) throw new DecryptionError();
  return body - segments * TAG_SIZE;
}

/**
 * Plans a ranged read of plaintext bytes [plainStart, plainEndInclusive] of an object of
 * `plainSize` bytes: which sealed bytes to fetch (the header and only the segments that
 * cover the range) and what to trim after decryption. Pure.
 *
 * Throws InvalidCryptoArgumentError unless 0 ≤ plainStart ≤ plainEndInclusive < plainSize
 * (so never for an empty object: the caller answers such a request without reading).
 */
export function planRange(
  plainStart: number,
  plainEndInclusive: number,
  plainSize: number,
  segmentSize: number = DEFAULT_SEGMENT_SIZE,
): RangePlan {
  assertSize('plainStart', plainStart);
  assertSize('plainEndInclusive', plainEndInclusive);
  encryptedSize(plainSize, segmentSize); // validates plainSize and segmentSize
  if (plainStart > plainEndInclusive || plainEndInclusive >= plainSize) {
    throw new InvalidCryptoArgumentError('range must satisfy start <= end < plainSize');
  }
  const unit = segmentSize + TAG_SIZE;
  const firstSegment = Math.floor(plainStart / segmentSize);
  const lastSegment = Math.floor(plainEndInclusive / segmentSize);
  const finalSegment = segmentCount(plainSize, segmentSize) - 1;
  const lastPlainLength = Math.min(segmentSize, plainSize - lastSegment * segmentSize);
  return {
    segmentSize,
    headerRange: { start: 0, endInclusive: headerSize - 1 },
    segmentRange: {
      start: headerSize + firstSegment * unit,
      endInclusive: headerSize + lastSegment * unit + lastPlainLength + TAG_SIZE - 1,
    },
    firstSegment,
    lastSegment,
    includesFinal: lastSegment === finalSegment,
    skip: plainStart - firstSegment * segmentSize,
    keep: plainEndInclusive - plainStart + 1,
  };
}
