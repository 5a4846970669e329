import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time comparison of two strings or byte arrays of possibly different lengths.
 * Both sides are hashed to a fixed length first, so neither the content nor the length
 * of the expected value leaks through timing.
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && (typeof a === 'string' ? a.length : a.byteLength) === (typeof b === 'string' ? b.length : b.byteLength);
}
