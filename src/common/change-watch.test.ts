import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeWatch } from './change-watch.js';

const nextRun = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ChangeWatch', () => {
  it('reads the count once per synchronous run and drops the cache when it moved', async () => {
    let n = 1;
    let reads = 0;
    let drops = 0;
    const watch = new ChangeWatch(() => (reads++, n), () => drops++);
    assert.equal(watch.check(), 1);
    n = 2;
    assert.equal(watch.check(), 1, 'the same run: not read again');
    assert.equal(reads, 1);
    await nextRun();
    assert.equal(watch.check(), 2);
    assert.equal(drops, 2);
    assert.ok(watch.stillAt(2));
    assert.ok(!watch.stillAt(1));
  });

  it('a count read that throws checks nothing: the next check of the same run reads again, never answering the old count', async () => {
    let n = 1;
    let failing = false;
    let drops = 0;
    const watch = new ChangeWatch(
      () => {
        if (failing) throw new Error('EIO');
        return n;
      },
      () => drops++,
    );
    assert.equal(watch.check(), 1);
    await nextRun();
    n = 2;
    failing = true;
    assert.throws(() => watch.check(), /EIO/);
    failing = false;
    // Without this, what the cache holds from count 1 would be served for the rest of the run.
    assert.equal(watch.check(), 2);
    assert.equal(drops, 2);
  });

  it('keeps nothing at NaN ("changing now")', () => {
    let drops = 0;
    const watch = new ChangeWatch(() => NaN, () => drops++);
    const seen = watch.check();
    assert.ok(!watch.stillAt(seen));
    assert.equal(drops, 1);
  });
});
