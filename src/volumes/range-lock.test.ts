import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RangeLock } from './range-lock.js';

describe('RangeLock', () => {
  it('tryAcquire takes free or shared ranges at once and refuses conflicting ones', () => {
    const lock = new RangeLock();
    const read = lock.tryAcquire(0, 9, false);
    assert.ok(read);
    const otherRead = lock.tryAcquire(5, 15, false);
    assert.ok(otherRead, 'shared with shared');
    assert.equal(lock.tryAcquire(9, 9, true), undefined, 'exclusive over a held read');
    assert.ok(lock.tryAcquire(16, 20, true), 'exclusive on a free range');
    assert.equal(lock.size, 3, 'a refused tryAcquire queues nothing');
    read();
    otherRead();
    assert.ok(lock.tryAcquire(9, 9, true));
  });

  it('tryAcquire never overtakes a waiting request, so writes are not starved', async () => {
    const lock = new RangeLock();
    const read = lock.tryAcquire(0, 0, false);
    assert.ok(read);
    let writeGranted = false;
    const write = lock.acquire(0, 0, true).then((release) => {
      writeGranted = true;
      return release;
    });
    assert.equal(lock.tryAcquire(0, 0, false), undefined, 'a read behind a waiting write waits too');
    read();
    const release = await write;
    assert.equal(writeGranted, true);
    release();
    assert.equal(lock.size, 0);
  });

  it('a release grants, in order, each waiter that no earlier entry conflicts with', async () => {
    const lock = new RangeLock();
    const held = lock.tryAcquire(0, 0, true);
    assert.ok(held);
    const granted: string[] = [];
    const wait = (name: string, first: number, last: number, exclusive: boolean): Promise<() => void> =>
      lock.acquire(first, last, exclusive).then((release) => {
        granted.push(name);
        return release;
      });
    const readA = wait('readA', 0, 0, false);
    const readB = wait('readB', 0, 0, false);
    const write = wait('write', 0, 5, true);
    const readC = wait('readC', 3, 3, false);
    const other = wait('other', 9, 9, true);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(granted, ['other'], 'only the range nothing earlier touches');
    held();
    const [a, b] = await Promise.all([readA, readB]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(granted, ['other', 'readA', 'readB'], 'shared readers together; the write and the read behind it wait');
    a();
    b();
    const w = await write;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(granted, ['other', 'readA', 'readB', 'write'], 'a read behind a waiting write waits for it');
    w();
    (await readC)();
    (await other)();
    assert.equal(lock.size, 0);
  });
});
