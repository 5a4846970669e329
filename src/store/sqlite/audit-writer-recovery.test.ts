import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { AuditCommitError } from '../../audit/errors.js';
import { LocalAuditSigner } from '../../audit/signer.js';
import { INDEX_ON_CLOSE as INDEX, sampleEvent, writerStoreFixtures } from '../../audit/test-support.js';
import { AuditTrail } from '../../audit/trail.js';
import { verifyAudit } from '../../audit/verify.js';
import { SqliteAuditStore } from './audit-store.js';
import { ThreadAuditWriter } from './audit-writer-client.js';

// The writer thread's failure paths (src/audit/README.md, "The writer thread"): a thread
// that dies rejects what it had pending and the next batch starts a new one on the same
// chain; a thread that cannot open audit.db fails the appends clearly, never hangs.

const { freshStore, tempDir } = writerStoreFixtures('cipherlake-audit-recovery-');
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ThreadAuditWriter: the thread dies', () => {
  it('rejects the in-flight batch with AuditCommitError, writes none of it, and the next batch continues the chain on a new thread', { timeout: 20_000 }, async () => {
    const { path, store } = await freshStore();
    const signer = LocalAuditSigner.generate();
    const threads: Worker[] = [];
    const writer = new ThreadAuditWriter({ path, synchronous: 'NORMAL', index: INDEX, onThreadStart: (t) => threads.push(t) });
    const trail = await AuditTrail.open({ store, signer, writer, digestIntervalMs: 0, digestEveryRecords: 0 });
    const before = await Promise.all(Array.from({ length: 5 }, (_, i) => trail.append(sampleEvent(i))));
    assert.deepEqual(before.map((r) => r.seq), [1, 2, 3, 4, 5]);
    assert.ok(await trail.checkpoint(), 'a signed digest over 1..5, so the chain continues through a signed point');

    // Another connection holds the write lock, so the thread cannot commit the next batch
    // before it is killed: whatever it had started is rolled back, nothing of it is written.
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const inFlight = Array.from({ length: 4 }, (_, i) => trail.append(sampleEvent(100 + i)));
    await turn(); // the trail's turn has posted the batch to the thread (setImmediate is FIFO)
    const queued = Array.from({ length: 3 }, (_, i) => trail.append(sampleEvent(200 + i)));
    const killed = threads[0]?.terminate();
    assert.ok(killed, 'the first thread was started');
    other.exec('ROLLBACK');
    other.close();
    await killed;

    for (const r of await Promise.allSettled(inFlight)) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof AuditCommitError, String(r.reason));
    }
    const later = await Promise.all(queued);
    assert.deepEqual(later.map((r) => r.seq), [6, 7, 8], 'the next batch chained after the head in the file, no gap');
    assert.equal(threads.length, 2, 'a new thread took over');
    assert.equal((await trail.append(sampleEvent(300))).seq, 9);

    const rows = store.db.prepare('SELECT seq, event_json FROM audit_records ORDER BY seq').all() as { seq: number; event_json: string }[];
    assert.deepEqual(rows.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const [i, r] of later.entries()) assert.ok(rows[5 + i]?.event_json.includes(r.eventID), `seq ${r.seq} holds the event acknowledged with it`);
    assert.ok(!rows.some((r) => /"req-10[0-3]"/.test(r.event_json)), 'no record of the rejected batch was written');

    await trail.close();
    const report = await verifyAudit(store, signer.publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    assert.equal(report.lastSeq, 9);
    assert.equal(report.lastSignedSeq, 9, 'close signed the final digest through the new thread');
    store.close();
  });
});

describe('ThreadAuditWriter: the thread cannot open audit.db', () => {
  it('fails each batch with AuditCommitError naming why, tries a new thread for the next batch, and goes on once the file is usable', { timeout: 20_000 }, async () => {
    const { store } = await freshStore();
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    writeFileSync(path, 'not a database '.repeat(512)); // the file the thread gets is unusable
    const threads: Worker[] = [];
    const writer = new ThreadAuditWriter({ path, synchronous: 'NORMAL', index: null, onThreadStart: (t) => threads.push(t) });
    const trail = await AuditTrail.open({ store, signer: null, writer, digestIntervalMs: 0 });
    for (const round of [0, 1]) {
      const failed = await Promise.allSettled([trail.append(sampleEvent(round * 10)), trail.append(sampleEvent(round * 10 + 1))]);
      for (const r of failed) {
        assert.equal(r.status, 'rejected');
        assert.ok(r.reason instanceof AuditCommitError, String(r.reason));
        assert.match(String((r.reason as AuditCommitError).cause), /file is not a database/, 'the caller learns why');
      }
    }
    assert.equal(threads.length, 2, 'each batch tried a new thread: a failed start is not kept for good');

    // The cause goes away (here: the file becomes a migrated audit store): the next batch succeeds.
    rmSync(path);
    const fixed = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    await fixed.prepareForWriters();
    assert.equal((await trail.append(sampleEvent(99))).seq, 1);
    assert.equal(threads.length, 3);
    await trail.close();
    assert.equal(fixed.db.prepare('SELECT count(*) FROM audit_records').pluck().get(), 1);
    fixed.close();
    store.close();
  });

  it('close() resolves when the thread never opened the file (nothing to close); the failed appends already said why', { timeout: 20_000 }, async () => {
    const { store } = await freshStore();
    const dir = tempDir();
    const writer = new ThreadAuditWriter({ path: join(dir, 'missing', 'audit.db'), synchronous: 'NORMAL', index: INDEX });
    const trail = await AuditTrail.open({ store, signer: LocalAuditSigner.generate(), writer, digestIntervalMs: 0 });
    await assert.rejects(trail.append(sampleEvent(1)), AuditCommitError);
    await trail.close();
    // A writer closed while its thread is still starting and then fails to open resolves too.
    const starting = new ThreadAuditWriter({ path: join(dir, 'missing', 'audit.db'), synchronous: 'NORMAL', index: null });
    await starting.close();
    store.close();
  });
});
