import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { XtsBatcher } from './xts-batch.js';
import type { WorkerResult } from './xts-threads.js';

interface Sent {
  readonly items: number[];
  readonly data: Buffer;
  readonly answer: (r: WorkerResult) => void;
  readonly fail: (e: Error) => void;
}

/** A batcher whose worker is the test: each batch waits in `sent` until answered. */
function fakeBatcher(maxInFlight: number): { batcher: XtsBatcher; sent: Sent[] } {
  const sent: Sent[] = [];
  const batcher = new XtsBatcher(
    (items, buffer) =>
      new Promise((answer, fail) => sent.push({ items: [...items], data: Buffer.from(buffer), answer, fail })),
    maxInFlight,
  );
  return { batcher, sent };
}

describe('XtsBatcher', () => {
  it('sends the requests of one turn as one batch, in order, and hands each its own result', async () => {
    const { batcher, sent } = fakeBatcher(2);
    const a = batcher.read(3, 4096, 1, 16);
    const w = batcher.write(3, 0, 0, Buffer.alloc(16, 0xaa));
    const b = batcher.read(4, 8192, 2, 32);
    await nextTurn();
    assert.equal(sent.length, 1);
    const batch = sent[0];
    assert.ok(batch);
    assert.deepEqual(batch.items, [0, 3, 4096, 1, 16, 1, 3, 0, 0, 16, 0, 4, 8192, 2, 32]);
    assert.deepEqual(batch.data.subarray(16, 32), Buffer.alloc(16, 0xaa), 'the write plaintext is in its window');
    const back = Buffer.alloc(64);
    back.fill(1, 0, 16);
    back.fill(3, 32, 64);
    batch.answer({ buffer: back, failures: [{ index: 1, message: 'no space', code: 'ENOSPC' }] });
    assert.deepEqual(await a, Buffer.alloc(16, 1));
    assert.deepEqual(await b, Buffer.alloc(32, 3));
    await assert.rejects(w, { code: 'ENOSPC' });
  });

  it('holds new requests while maxInFlight batches are out, and sends them together when one returns', async () => {
    const { batcher, sent } = fakeBatcher(1);
    const first = batcher.read(3, 0, 0, 16);
    await nextTurn();
    const later = [batcher.read(3, 16, 1, 16), batcher.read(3, 32, 2, 16)];
    await nextTurn();
    const third = batcher.read(3, 48, 3, 16);
    await nextTurn();
    assert.equal(sent.length, 1, 'nothing more is sent while the first batch is out');
    sent[0]?.answer({ buffer: Buffer.alloc(16), failures: undefined });
    await first;
    assert.equal(sent.length, 2);
    assert.equal(sent[1]?.items.length, 15, 'the three waiting reads went together');
    sent[1]?.answer({ buffer: Buffer.alloc(48, 7), failures: undefined });
    for (const r of [...later, third]) assert.deepEqual(await r, Buffer.alloc(16, 7));
  });

  it('rejects every request of a batch the worker could not take', async () => {
    const { batcher, sent } = fakeBatcher(2);
    const requests = [batcher.read(3, 0, 0, 16), batcher.write(3, 0, 0, Buffer.alloc(16))];
    await nextTurn();
    sent[0]?.fail(new Error('worker gone'));
    for (const r of requests) await assert.rejects(r, /worker gone/);
  });
});
