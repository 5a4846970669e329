import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { planRange, sealBuffer, SecretBytes } from '../../crypto/index.js';
import { FsObjectBackend } from '../../store/fs-objects/fs-object-backend.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { BodyReader } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';
import { dataBinding } from '../sse/sealing.js';
import { OpenPoolUnavailableError, openPoolFromEnv, SegmentOpenPool } from './open-pool.js';
import { plaintextBatches } from './read-large.js';

const MiB = 1024 * 1024;

describe('SegmentOpenPool', () => {
  const root = mkdtempSync(join(tmpdir(), 'cipherlake-open-pool-'));
  const backend = new FsObjectBackend(root);
  after(() => rmSync(root, { recursive: true, force: true }));

  interface Stored {
    readonly record: ObjectRecord;
    readonly key: Buffer;
    readonly plain: Buffer;
  }

  async function store(size: number): Promise<Stored> {
    const plain = randomBytes(size);
    const key = randomBytes(32);
    const binding = { bucket: 'b', key: `k-${size}`, objectId: randomUUID() };
    const sealed = sealBuffer(SecretBytes.copyOf(key), plain, { aad: dataBinding(binding) });
    const pending = await backend.create();
    await new Promise<void>((resolve, reject) => pending.stream.once('error', reject).end(sealed, resolve));
    await pending.commit();
    return { record: { ...binding, storageId: pending.storageId, size, segmentSize: 64 * 1024 } as unknown as ObjectRecord, key, plain };
  }

  /** The backend, counting the reads it was asked for and the readers still open. */
  function counting(): { deps: (pool: SegmentOpenPool) => S3Deps; reads: () => number; open: () => number } {
    let reads = 0;
    let open = 0;
    const openReader = async (storageId: string): Promise<BodyReader> => {
      const reader = await backend.openReader(storageId);
      open += 1;
      return {
        read: (buffer, offset, length, position) => {
          reads += 1;
          return reader.read(buffer, offset, length, position);
        },
        close: () => {
          open -= 1;
          return reader.close();
        },
      };
    };
    return { deps: (pool) => ({ backend: { openReader }, openPool: pool }) as unknown as S3Deps, reads: () => reads, open: () => open };
  }

  async function readAll(deps: S3Deps, s: Stored, key = SecretBytes.copyOf(s.key)): Promise<Buffer> {
    const out: Buffer[] = [];
    for await (const batch of plaintextBatches(deps, s.record, key)) out.push(...batch);
    return Buffer.concat(out);
  }

  it('a consumer that stops early: no read beyond two chunks ahead, the key dropped on the thread, the body closed', async () => {
    const pool = new SegmentOpenPool(1);
    try {
      const s = await store(12 * MiB + 3);
      const c = counting();
      const key = SecretBytes.copyOf(s.key);
      const batches = plaintextBatches(c.deps(pool), s.record, key);
      const first = await batches.next();
      assert.equal(first.done, false);
      assert.ok(Buffer.concat(first.value as Buffer[]).equals(s.plain.subarray(0, 16 * 64 * 1024)));
      // The thread holds its own copy; the caller's is gone already (the main thread keeps none).
      assert.equal(key.disposed, true);
      assert.deepEqual(await pool.liveStreams(), [1]);
      // Held without pulling: the reads stop at the batch held plus two ahead, however long it waits.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(c.reads() <= 3, `${c.reads()} reads with one batch taken`);
      await batches.return(undefined);
      assert.equal(c.open(), 0);
      assert.deepEqual(await pool.liveStreams(), [0]);
      // The next GET on the same pool reads whole.
      assert.ok((await readAll(c.deps(pool), s)).equals(s.plain));
      assert.deepEqual(await pool.liveStreams(), [0]);
    } finally {
      await pool.close();
    }
  });

  for (const death of ['terminated', 'crashing on an exception'] as const) it(`a thread ${death} mid-GET fails that GET (OpenPoolUnavailableError, the body closed); the next GET gets a new thread`, async () => {
    const pool = new SegmentOpenPool(1);
    try {
      const s = await store(8 * MiB + 1);
      const c = counting();
      const batches = plaintextBatches(c.deps(pool), s.record, SecretBytes.copyOf(s.key));
      assert.equal((await batches.next()).done, false);
      const [worker] = pool.workers;
      assert.ok(worker !== undefined);
      if (death === 'terminated') {
        await worker.terminate();
      } else {
        // A message the thread does not know makes it throw: it emits 'error', then exits.
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.postMessage({ op: 'no such op' });
        await exited;
      }
      await assert.rejects(
        (async () => {
          for (;;) if ((await batches.next()).done === true) return;
        })(),
        OpenPoolUnavailableError,
      );
      assert.equal(c.open(), 0);
      assert.ok((await readAll(c.deps(pool), s)).equals(s.plain));
      assert.notEqual(pool.workers[0], worker);
    } finally {
      await pool.close();
    }
  });

  it('close() has the threads drop every key left and end; a GET after it fails cleanly', async () => {
    const pool = new SegmentOpenPool(1);
    const s = await store(3 * MiB);
    const key = SecretBytes.copyOf(s.key);
    // A stream opened and never closed: its key is on the thread until close().
    pool.open(key, dataBinding(s.record), planRange(0, s.record.size - 1, s.record.size), undefined);
    assert.equal(key.disposed, false, 'the caller keeps its own key');
    assert.deepEqual(await pool.liveStreams(), [1]);
    const [worker] = pool.workers;
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    await pool.close();
    await exited;
    assert.equal(pool.closed, true);
    const c = counting();
    await assert.rejects(readAll(c.deps(pool), s), OpenPoolUnavailableError);
    assert.equal(c.open(), 0);
    key.dispose();
  });

  it('reads its thread count from CIPHERLAKE_GET_THREADS: none for 0, refuses a bad value', async () => {
    assert.equal(openPoolFromEnv({ CIPHERLAKE_GET_THREADS: '0' }), undefined);
    assert.throws(() => openPoolFromEnv({ CIPHERLAKE_GET_THREADS: 'two' }), /CIPHERLAKE_GET_THREADS/);
    const pool = openPoolFromEnv({});
    assert.ok(pool instanceof SegmentOpenPool);
    // Never used: no thread was started, and closing it is immediate.
    assert.deepEqual(pool.workers, []);
    await pool.close();
  });
});
