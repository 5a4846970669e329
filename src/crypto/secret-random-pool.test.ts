import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { secretRandomBytes as pooledRandomBytes } from './random-pool.js';

describe('secretRandomBytes, as KMS draws data keys and GenerateRandom from it', () => {
  it('returns the requested length, pooled or not', () => {
    for (const n of [0, 1, 12, 16, 28, 32, 64, 65, 1024]) assert.equal(pooledRandomBytes(n).length, n);
  });

  it('never hands out the same bytes twice, across several refills of the pool', () => {
    const seen = new Set<string>();
    const draws = 600; // 600 × 32 bytes: more than four pools
    for (let i = 0; i < draws; i++) seen.add(pooledRandomBytes(32).toString('hex'));
    assert.equal(seen.size, draws);
    assert.ok(!seen.has('00'.repeat(32)), 'a zeroed (already handed out) region was returned');
  });

  it('returns buffers the caller owns: zeroing one leaves the next draw random', () => {
    const a = pooledRandomBytes(32);
    const copy = Buffer.from(a);
    a.fill(0);
    const b = pooledRandomBytes(32);
    assert.notEqual(b.toString('hex'), '00'.repeat(32));
    assert.notEqual(b.toString('hex'), copy.toString('hex'));
  });

  it('hands out no view into the pool: later draws and refills leave an earlier buffer as it was', () => {
    const a = pooledRandomBytes(32);
    const copy = Buffer.from(a);
    assert.notEqual(copy.toString('hex'), '00'.repeat(32));
    for (let i = 0; i < 300; i++) pooledRandomBytes(32); // more than two refills of the pool
    assert.equal(a.toString('hex'), copy.toString('hex'));
  });
});
