/**
 * A small seeded pseudo-random generator (mulberry32) for randomized and differential
 * tests: the same cases on every run, so a failure names a reproducible case (its seed).
 * Returns a function giving numbers in [0, 1). Not for anything secret: use node:crypto.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
