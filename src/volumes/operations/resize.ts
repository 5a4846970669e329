import { open } from 'node:fs/promises';
import type { SecretBytes } from '../../crypto/secret-bytes.js';
import { VolumeRangeError } from '../errors.js';
import { writeFully } from '../file-io.js';
import { encodeHeader, HEADER_BYTES } from '../volume-header.js';

/**
 * Grows a closed volume file to `newSize` bytes: the header is rewritten with the new
 * size (same key check) and the file extended with a hole, so the new blocks read as
 * unwritten (zeros). Borrows `key`. Raises VolumeRangeError for a size that is not a
 * positive multiple of 4096.
 */
export async function enlargeVolumeFile(path: string, newSize: number, key: SecretBytes): Promise<void> {
  if (!Number.isSafeInteger(newSize) || newSize <= 0 || newSize % HEADER_BYTES !== 0) throw new VolumeRangeError('a volume size is a positive multiple of 4096 bytes');
  const file = await open(path, 'r+');
  try {
    await file.truncate(HEADER_BYTES + newSize);
    await writeFully(file, [encodeHeader(newSize, key)], 0);
    await file.sync();
  } finally {
    await file.close();
  }
}
