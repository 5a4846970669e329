import { randomBytes, randomFillSync } from 'node:crypto';

// Each randomFillSync/randomBytes call has a fixed cost (a crypto job object and a trip
// into OpenSSL's DRBG) far above that of the few bytes a KMS call needs, so short draws
// come from a buffer refilled by one randomFillSync per POOL_BYTES, as node's own
// randomUUID does. The bytes are the same CSPRNG output, only fetched in bulk.
const POOL_BYTES = 4096;
const MAX_POOLED_DRAW = 64;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * `n` fresh random bytes from the OS CSPRNG (through OpenSSL), in a new buffer the caller
 * owns. Draws of up to 64 bytes come from a pool; the pool's copy of the bytes handed out
 * is zeroed at once, so data keys drawn from it stay only in the caller's buffer. Larger
 * draws go to randomBytes directly. Never returns the same bytes twice.
 */
export function pooledRandomBytes(n: number): Buffer {
  if (n > MAX_POOLED_DRAW || n < 0) return randomBytes(n);
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.allocUnsafeSlow(n);
  pool.copy(out, 0, offset, offset + n);
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
