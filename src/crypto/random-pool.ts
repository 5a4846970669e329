import { randomFillSync } from 'node:crypto';

/** Bytes drawn from OpenSSL per refill: about a hundred PUTs' worth of nonces and salts. */
const POOL_BYTES = 4096;

const pool = Buffer.allocUnsafe(POOL_BYTES);
/** Bytes of the pool already handed out: all of it until the first draw fills it. */
let used = POOL_BYTES;

/**
 * `size` fresh bytes from node:crypto's CSPRNG (OpenSSL's RAND_bytes), for values that are
 * stored or sent in the clear: nonces, IVs, salts, ETags, upload ids. They are drawn into a
 * pool POOL_BYTES at a time, as node:crypto's own randomUUID does, because each call into
 * OpenSSL costs about 3 µs whatever its size and a PUT needs several such values. Each byte
 * is handed out once, and the returned buffer is the caller's own copy. Never use it for
 * key material (use SecretBytes.random): unused pool bytes wait in memory until drawn.
 * Raises RangeError for a size that is not an integer from 0 to POOL_BYTES.
 */
export function publicRandomBytes(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0 || size > POOL_BYTES) throw new RangeError(`publicRandomBytes: size must be an integer from 0 to ${POOL_BYTES}`);
  if (used + size > POOL_BYTES) {
    // Refilled in place: every byte handed out was copied out first.
    randomFillSync(pool);
    used = 0;
  }
  const out = Buffer.allocUnsafe(size);
  pool.copy(out, 0, used, used + size);
  used += size;
  return out;
}
