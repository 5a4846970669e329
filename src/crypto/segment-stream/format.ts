import { createHmac } from 'node:crypto';
import type { SecretBytes } from '../secret-bytes.js';
import { DecryptionError, InvalidCryptoArgumentError } from '../errors.js';

/**
 * Version byte of the segment stream format. Persisted: a value never changes meaning,
 * and a new layout gets a new value while readers keep decoding the old ones.
 */
export const FORMAT_VERSION_1 = 0x01;

/** Bytes in the object key the caller supplies (AES-256). */
export const OBJECT_KEY_SIZE = 32;
/** Bytes of the random HKDF salt stored in the header. */
export const SALT_SIZE = 32;
/** Bytes of the random nonce prefix stored in the header. */
export const NONCE_PREFIX_SIZE = 8;
/** Bytes of a GCM nonce: prefix followed by the 32-bit big-endian segment number. */
export const NONCE_SIZE = 12;
/** Bytes of the GCM tag that follows each segment's ciphertext. */
export const TAG_SIZE = 16;

/** Bytes of the v1 header: version (1) ‖ segment size (4) ‖ salt (32) ‖ nonce prefix (8). */
export const headerSize = 1 + 4 + SALT_SIZE + NONCE_PREFIX_SIZE;

/** The reference plaintext segment size: 64 KiB. */
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
/** Smallest segment size the format accepts (tests use it for exhaustive sweeps). */
export const MIN_SEGMENT_SIZE = 16;
/** Largest segment size: bounds the memory a reader spends on one hostile header. */
export const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
/** Segments per object: the segment number is a 32-bit counter in the nonce. */
export const MAX_SEGMENTS = 2 ** 32;

/** HKDF info label: ties the derived content key to this format and version. */
const HKDF_INFO = Buffer.from('cipherlake segment-stream v1 content key', 'ascii');
/** HKDF-Expand's only block input for 32 bytes: info ‖ 0x01. */
const HKDF_INFO_BLOCK = Buffer.concat([HKDF_INFO, Buffer.from([1])]);

const FLAG_NOT_FINAL = 0x00;
const FLAG_FINAL = 0x01;

/** The parsed, validated fields of a v1 header. Salt and prefix are not secret. */
export interface SegmentHeader {
  readonly version: typeof FORMAT_VERSION_1;
  readonly segmentSize: number;
  readonly salt: Buffer;
  readonly noncePrefix: Buffer;
}

/**
 * Checks that `segmentSize` is an integer within [MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE].
 * Throws InvalidCryptoArgumentError otherwise; returns nothing.
 */
export function assertSegmentSize(segmentSize: number): void {
  if (!Number.isInteger(segmentSize) || segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) {
    throw new InvalidCryptoArgumentError(
      `segment size must be an integer in [${MIN_SEGMENT_SIZE}, ${MAX_SEGMENT_SIZE}]`,
    );
  }
}

/** Serialises a header. The caller has validated the fields. */
export function encodeHeader(segmentSize: number, salt: Buffer, noncePrefix: Buffer): Buffer {
  const header = Buffer.alloc(headerSize);
  header[0] = FORMAT_VERSION_1;
  header.writeUInt32BE(segmentSize, 1);
  salt.copy(header, 5);
  noncePrefix.copy(header, 5 + SALT_SIZE);
  return header;
}

/**
 * Parses and validates the first `headerSize` bytes of a sealed stream.
 *
 * Returns the header fields (copies, not views). Throws DecryptionError, with no hint,
 * when the buffer is too short, the version is unknown or the segment size is outside
 * the format's limits: a reader treats all of these as tampering.
 */
export function parseSegmentHeader(bytes: Uint8Array): SegmentHeader {
  if (bytes.byteLength < headerSize) throw new DecryptionError();
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, headerSize);
  if (buf[0] !== FORMAT_VERSION_1) throw new DecryptionError();
  const segmentSize = buf.readUInt32BE(1);
  if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) throw new DecryptionError();
  return {
    version: FORMAT_VERSION_1,
    segmentSize,
    salt: Buffer.from(buf.subarray(5, 5 + SALT_SIZE)),
    noncePrefix: Buffer.from(buf.subarray(5 + SALT_SIZE, headerSize)),
  };
}

/** Throws InvalidCryptoArgumentError unless `objectKey` is 32 bytes and not disposed. */
export function assertObjectKey(objectKey: SecretBytes): void {
  if (objectKey.disposed || objectKey.length !== OBJECT_KEY_SIZE) {
    throw new InvalidCryptoArgumentError(`object key must be ${OBJECT_KEY_SIZE} live bytes`);
  }
}

/**
 * Derives the per-object content key: HKDF-SHA256(ikm = object key, salt, info), 32 bytes.
 * The object key itself never reaches GCM. The returned buffer belongs to the caller,
 * who must zero it when done. Throws InvalidCryptoArgumentError for a key that is not
 * 32 bytes (or is disposed).
 */
export function deriveContentKey(objectKey: SecretBytes, salt: Buffer): Buffer {
  assertObjectKey(objectKey);
  // HKDF-SHA256 (RFC 5869) written as its two HMACs: for a 32-byte output, Expand is one
  // block, T(1) = HMAC(PRK, info ‖ 0x01). The same bytes as hkdfSync (pinned by the
  // known-answer vectors) at about half the cost, which is paid on every PUT and GET.
  const prk = createHmac('sha256', salt).update(objectKey.unsafeBytes()).digest();
  try {
    return createHmac('sha256', prk).update(HKDF_INFO_BLOCK).digest();
  } finally {
    prk.fill(0);
  }
}

/**
 * The two per-segment additional data strings: header ‖ flag ‖ aad, with flag 0x00 for
 * every segment but the last and 0x01 for the last. Index 0 is not-final, 1 is final.
 * The header is fixed-length, so the caller's variable-length aad needs no length prefix.
 */
export function segmentAads(header: Buffer, aad: Buffer): readonly [Buffer, Buffer] {
  // Built in place (every sealer and opener makes both): header, flag byte, aad.
  const notFinal = Buffer.allocUnsafe(header.length + 1 + aad.length);
  header.copy(notFinal, 0);
  notFinal[header.length] = FLAG_NOT_FINAL;
  aad.copy(notFinal, header.length + 1);
  const final = Buffer.from(notFinal);
  final[header.length] = FLAG_FINAL;
  return [notFinal, final];
}

/** Writes the nonce for `segment` into `nonce` (prefix already in bytes 0..7) and returns it. */
export function setNonceSegment(nonce: Buffer, segment: number): Buffer {
  nonce.writeUInt32BE(segment, NONCE_PREFIX_SIZE);
  return nonce;
}

/** A fresh nonce buffer holding `prefix` and segment number 0. */
export function nonceBuffer(prefix: Buffer): Buffer {
  const nonce = Buffer.alloc(NONCE_SIZE);
  prefix.copy(nonce, 0);
  return nonce;
}
