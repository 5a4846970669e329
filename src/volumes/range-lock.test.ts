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
});
