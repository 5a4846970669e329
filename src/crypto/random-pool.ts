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
 * key material (use SecretBytes.random, i.e. secretRandomBytes): this pool keeps its copy of
 * every value handed out until the next refill overwrites it.
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

// '0'..'9', 'a'..'f' as bytes, and where each of a UUID's 16 bytes goes in its text.
const HEX_DIGITS = Uint8Array.from(Buffer.from('0123456789abcdef', 'latin1'));
const UUID_HEX_AT = Uint8Array.of(0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34);
/** The text of the last UUID, reused: its dashes never change. */
const uuidText = Buffer.alloc(36, 0x2d);

/**
 * A random (version 4) UUID, lower-case, as node:crypto's randomUUID returns it: 122 bits
 * from the same pool as publicRandomBytes (so for ids that are stored or sent in the clear:
 * request ids, event ids, object ids), the version nibble 4 and the RFC 4122 variant bits 10.
 * Written as hex into a reused buffer and decoded once, so the result is one flat 36-byte
 * string: node 20's randomUUID concatenates 20 pieces (a rope of ~19 nodes, ~750 bytes per
 * UUID before it is flattened), and a request makes about six of them, each copied into an
 * audit record. Twice as fast too (~100 ns against ~200 ns, measured).
 */
export function randomUuid(): string {
  if (used + 16 > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const from = used;
  used += 16;
  for (let i = 0; i < 16; i++) {
    let b = pool[from + i] as number;
    if (i === 6) b = (b & 0x0f) | 0x40;
    else if (i === 8) b = (b & 0x3f) | 0x80;
    const at = UUID_HEX_AT[i] as number;
    uuidText[at] = HEX_DIGITS[b >> 4] as number;
    uuidText[at + 1] = HEX_DIGITS[b & 15] as number;
  }
  return uuidText.toString('latin1', 0, 36);
}

/** Bytes drawn from OpenSSL per refill of the secret pool: 32 object keys' worth. */
const SECRET_POOL_BYTES = 1024;

/** The largest draw secretRandomBytes serves from its pool; larger ones go to OpenSSL directly. */
export const MAX_SECRET_DRAW = 64;

const secretPool = Buffer.allocUnsafeSlow(SECRET_POOL_BYTES);
/** Bytes of the secret pool already handed out (and zeroed): all of it until the first draw fills it. */
let secretUsed = SECRET_POOL_BYTES;

/**
 * `size` fresh bytes from node:crypto's CSPRNG for key material, in a buffer of its own
 * (not a slice of a shared allocation) that the caller owns and should zero when done.
 * Draws of up to MAX_SECRET_DRAW bytes come from a pool refilled SECRET_POOL_BYTES at a
 * time, for the reason publicRandomBytes pools (each call into OpenSSL costs a crypto job
 * and OpenSSL's fork check, a getpid syscall: randomBytes(32) took 8–15 µs on the shared
 * VM against 0.5–1 µs for a pooled draw, refills included, measured); the pool's copy of every byte handed out is
 * zeroed at once, so a key lives only in its owner's buffer. What a memory dump would
 * find beyond that are the next few keys not yet drawn: no more than OpenSSL's DRBG state,
 * which lives in the same memory, already tells about its future output. Larger draws go
 * to OpenSSL directly. Never hands out the same bytes twice. Raises RangeError for a size
 * that is not a non-negative integer.
 */
export function secretRandomBytes(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0) throw new RangeError('secretRandomBytes: size must be a non-negative integer');
  if (size > MAX_SECRET_DRAW) return randomFillSync(Buffer.allocUnsafeSlow(size));
  if (secretUsed + size > SECRET_POOL_BYTES) {
    randomFillSync(secretPool);
    secretUsed = 0;
  }
  const out = Buffer.allocUnsafeSlow(size);
  secretPool.copy(out, 0, secretUsed, secretUsed + size);
  secretPool.fill(0, secretUsed, secretUsed + size);
  secretUsed += size;
  return out;
}
