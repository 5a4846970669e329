import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import { VolumeFormatError, VolumeKeyMismatchError } from './errors.js';
import { VOLUME_BLOCK_SIZE } from './sector-cipher.js';

/**
 * The first 4 KiB of a volume's backing file (see FORMAT.md beside this file):
 *
 * | offset | bytes | field                                                    |
 * | 0      | 8     | magic "CLVOLUME"                                         |
 * | 8      | 1     | format version, 1                                        |
 * | 9      | 1     | cipher: 1 = AES-256-XTS, block number as tweak           |
 * | 10     | 2     | reserved, zero                                           |
 * | 12     | 4     | block size, big-endian (4096)                            |
 * | 16     | 8     | volume size in bytes, big-endian                         |
 * | 24     | 32    | key check: HMAC-SHA256(key, "cipherlake volume key v1")  |
 * | 56     | 4040  | zero                                                     |
 *
 * Persisted codes never change meaning: version 1 and cipher 1 mean what is written here
 * for as long as any volume carries them.
 */
export const HEADER_BYTES = VOLUME_BLOCK_SIZE;

const MAGIC = Buffer.from('CLVOLUME', 'ascii');
const FORMAT_VERSION = 1;
const CIPHER_AES_256_XTS = 1;
const KEY_CHECK_LABEL = 'cipherlake volume key v1';

/** What the header records about a volume. */
export interface VolumeHeader {
  readonly size: number;
  readonly blockSize: number;
}

/** Builds the header block for a new volume of `size` bytes under `key`. */
export function encodeHeader(size: number, key: SecretBytes): Buffer {
  const out = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(out, 0);
  out.writeUInt8(FORMAT_VERSION, 8);
  out.writeUInt8(CIPHER_AES_256_XTS, 9);
  out.writeUInt32BE(VOLUME_BLOCK_SIZE, 12);
  out.writeBigUInt64BE(BigInt(size), 16);
  keyCheck(key).copy(out, 24);
  return out;
}

/**
 * Parses a header and checks that `key` is the volume's key.
 *
 * @throws VolumeFormatError for a foreign file, an unknown version or cipher.
 * @throws VolumeKeyMismatchError when the key check fails (says nothing about the keys).
 */
export function decodeHeader(header: Buffer, key: SecretBytes): VolumeHeader {
  if (header.length < HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) {
    throw new VolumeFormatError('not a Cipherlake volume');
  }
  const version = header.readUInt8(8);
  if (version !== FORMAT_VERSION) throw new VolumeFormatError(`unknown volume format version ${version}`);
  const cipher = header.readUInt8(9);
  if (cipher !== CIPHER_AES_256_XTS) throw new VolumeFormatError(`unknown volume cipher ${cipher}`);
  const blockSize = header.readUInt32BE(12);
  const size = Number(header.readBigUInt64BE(16));
  if (blockSize !== VOLUME_BLOCK_SIZE || !Number.isSafeInteger(size) || size % blockSize !== 0) {
    throw new VolumeFormatError('volume header has an unusable geometry');
  }
  if (!timingSafeEqual(header.subarray(24, 56), keyCheck(key))) {
    throw new VolumeKeyMismatchError('the key does not open this volume');
  }
  return { size, blockSize };
}

function keyCheck(key: SecretBytes): Buffer {
  return createHmac('sha256', key.unsafeBytes()).update(KEY_CHECK_LABEL).digest();
}
