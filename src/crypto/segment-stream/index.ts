// Public surface of the segment stream format (src/crypto/FORMAT.md). Other parts import
// it through src/crypto/index.ts. SegmentSealer's injectable randomness is deliberately
// not re-exported here: it exists for known-answer tests only.
export {
  DEFAULT_SEGMENT_SIZE,
  FORMAT_VERSION_1,
  MAX_SEGMENTS,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  OBJECT_KEY_SIZE,
  TAG_SIZE,
  headerSize,
  parseSegmentHeader,
} from './format.js';
export type { SegmentHeader } from './format.js';
export { encryptedSize, plaintextSize, planRange } from './sizes.js';
export type { ByteRange, RangePlan } from './sizes.js';
export type { SealOptions } from './sealer.js';
export type { OpenOptions } from './opener.js';
// The synchronous opener, for readers that manage their own buffers (reused read buffers, read-ahead).
export { SegmentOpener } from './opener.js';
export { createSegmentDecryptor, createSegmentEncryptor, openBuffer, openSegments, sealBuffer } from './streams.js';
