import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { LocalAuditSigner } from '../../audit/signer.js';
import { INDEX_ON_CLOSE as INDEX, sampleEvent, writerStoreFixtures } from '../../audit/test-support.js';
import { AuditTrail } from '../../audit/trail.js';
import { verifyAudit } from '../../audit/verify.js';
import { recoverAuditJournals } from './audit-journal-recovery.js';
import { SqliteAuditStore } from './audit-store.js';
import { JournalAuditWriter, ThreadAuditWriter } from './audit-writer-client.js';

// One writer thread ingesting other processes' journals (src/audit/README.md, "Several
// processes": the cluster primary's thread and its workers' journals), in-process: each
// "worker" is a trail over a JournalAuditWriter whose flush asks the thread; the thread
// watches each journal, ingests them together, and retires one whose writer is gone.

const { freshStore, tempDir } = writerStoreFixtures('cipherlake-audit-journal-watch-');

function storedRequestIds(store: SqliteAuditStore): string[] {
  return store.db.prepare("SELECT json_extract(event_json, '$.requestID') FROM audit_records ORDER BY seq").pluck().all() as string[];
}

async function cluster(names: readonly string[], rotateBytes?: number) {
  const { path, store } = await freshStore();
  const dir = join(tempDir(), 'audit-journal');
  const threads: Worker[] = [];
  const ingester = new ThreadAuditWriter({ path, synchronous: 'NORMAL', index: INDEX, onThreadStart: (t) => threads.push(t), watchedJournals: { dir } });
  const signer = LocalAuditSigner.generate();
  const primary = await AuditTrail.open({ store, signer, writer: ingester, sharedChain: true, digestIntervalMs: 0, digestEveryRecords: 0 });
  const workers = await Promise.all(
    names.map(async (name) => {
      await ingester.watchJournal(name);
      const writer = new JournalAuditWriter({
        journal: { dir, name, durability: 'process', ...(rotateBytes !== undefined ? { rotateBytes } : {}) },
        ingest: async () => {
          const head = await ingester.flush();
          assert.ok(head !== null);
          return head;
        },
      });
      const readerStore = new SqliteAuditStore(path);
      const trail = await AuditTrail.open({ store: readerStore, signer: null, writer, digestIntervalMs: 0, digestEveryRecords: 0 });
      return { name, writer, trail, readerStore };
    }),
  );
  return { path, store, dir, threads, ingester, signer, primary, workers };
}

describe('ThreadAuditWriter watching other processes journals', () => {
  it("a journal-only writer's flush has the thread chain its records (read-your-writes); every record once; retire seals one journal, close the rest", { timeout: 20_000 }, async () => {
    const c = await cluster(['w-a', 'w-b'], 4096);
    const [a, b] = c.workers as [(typeof c.workers)[number], (typeof c.workers)[number]];
    const appendTo = (w: typeof a, prefix: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => w.trail.append(sampleEvent(i, { requestID: `${prefix}-${i}` }))));
    const receipts = await appendTo(a, 'a1', 30);
    assert.ok(receipts.every((r) => r.seq === undefined), 'journaled: no seq yet');
    await a.trail.flush();
    const page = await a.readerStore.lookup({ limit: 50 });
    assert.deepEqual(new Set(page.records.map((r) => r.event.requestID)), new Set(Array.from({ length: 30 }, (_, i) => `a1-${i}`)), "the worker's lookup after its flush finds its own writes");

    // Both at once, rotating every 4 KiB, with the thread killed in between: each record once.
    await Promise.all([appendTo(a, 'a2', 40), appendTo(b, 'b2', 40)]);
    await c.threads.at(-1)?.terminate();
    await Promise.all([appendTo(a, 'a3', 40), appendTo(b, 'b3', 40)]);
    // And killed at varying points of its polling, while both journals grow.
    for (let round = 0; round < 6; round++) {
      const started = c.threads.length;
      while (c.threads.length === started) await new Promise((r) => setTimeout(r, 10));
      await Promise.all([appendTo(a, `a-k${round}`, 7), appendTo(b, `b-k${round}`, 7)]);
      for (let k = 0; k < round; k++) await new Promise((r) => setTimeout(r, 2));
      await c.threads.at(-1)?.terminate();
    }
    await b.trail.flush();
    const ids = storedRequestIds(c.store);
    assert.equal(ids.length, 30 + 160 + 6 * 14);
    assert.equal(new Set(ids).size, ids.length, 'no record chained twice');

    // Worker a stops: its journal is retired (chained to the end and removed); b's stays.
    await appendTo(a, 'a4', 5);
    await a.trail.close();
    await c.ingester.retireJournal('w-a');
    assert.deepEqual(readdirSync(c.dir).filter((f) => f.startsWith('w-a.')), [], "a retired journal's files are gone");
    assert.ok(readdirSync(c.dir).some((f) => f.startsWith('w-b.')), 'the live journal stays');
    assert.deepEqual(c.ingester.watchedJournals(), ['w-b']);
    // Recovery on its own connection leaves the watched name alone.
    assert.equal(recoverAuditJournals(c.path, c.dir, { except: c.ingester.watchedJournals() }).files, 0);

    await appendTo(b, 'b4', 5);
    await b.trail.close();
    await c.primary.close();
    assert.deepEqual(readdirSync(c.dir), [], 'every journal chained and removed');
    const all = storedRequestIds(c.store);
    assert.equal(all.length, 30 + 160 + 6 * 14 + 10);
    assert.equal(new Set(all).size, all.length);
    const report = await verifyAudit(c.store, c.signer.publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    assert.equal(report.lastSignedSeq, all.length, "the primary's final digest covers every record");
    for (const w of c.workers) w.readerStore.close();
    c.store.close();
  });

  it('a journal-only writer stores no digests, and its flush rejects as its ingest does', async () => {
    const dir = join(tempDir(), 'audit-journal');
    const writer = new JournalAuditWriter({ journal: { dir, name: 'w-x', durability: 'process' }, ingest: () => Promise.reject(new Error('no primary')) });
    await assert.rejects(writer.appendDigest({ fromSeq: 1, toSeq: 1, payloadJson: '{}', signature: '' }), /stores no digests/);
    await assert.rejects(writer.flush(), /no primary/);
    await writer.close();
    await assert.rejects(writer.commit([]), /closed/);
  });
});
