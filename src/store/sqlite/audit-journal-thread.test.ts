import assert from 'node:assert/strict';
import { readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { LocalAuditSigner } from '../../audit/signer.js';
import { INDEX_ON_CLOSE as INDEX, sampleEvent, writerStoreFixtures } from '../../audit/test-support.js';
import { AuditTrail } from '../../audit/trail.js';
import { verifyAudit } from '../../audit/verify.js';
import type { SqliteAuditStore } from './audit-store.js';
import type { AuditJournalOptions } from './audit-journal.js';
import { ThreadAuditWriter } from './audit-writer-client.js';

// The writer thread ingesting its process's journal (src/audit/README.md, "The audit
// journal"): appends resolve once journaled, flush chains them, a killed thread's successor
// goes on from the offset stored with the records, rotation seals old generations.

const { freshStore, tempDir } = writerStoreFixtures('cipherlake-audit-journal-thread-');

function storedRequestIds(store: SqliteAuditStore): string[] {
  return store.db.prepare("SELECT json_extract(event_json, '$.requestID') FROM audit_records ORDER BY seq").pluck().all() as string[];
}

const ids = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `req-${from + i}`);

/** A trail journaling through a writer thread on a fresh store. */
async function journaled(
  journal: Partial<AuditJournalOptions> = {},
  o: { signer?: LocalAuditSigner; onBackgroundError?: (e: Error) => void; digestEveryRecords?: number } = {},
) {
  const { path, store } = await freshStore();
  const dir = join(tempDir(), 'audit-journal');
  const threads: Worker[] = [];
  const writer = new ThreadAuditWriter({
    path,
    synchronous: 'NORMAL',
    index: INDEX,
    onThreadStart: (t) => threads.push(t),
    ...(o.onBackgroundError !== undefined ? { onBackgroundError: o.onBackgroundError } : {}),
    journal: { dir, name: 'test', durability: 'process', ...journal },
  });
  const trail = await AuditTrail.open({ store, signer: o.signer ?? null, writer, digestIntervalMs: 0, digestEveryRecords: o.digestEveryRecords ?? 0 });
  const append = (from: number, n: number) => Promise.all(Array.from({ length: n }, (_, i) => trail.append(sampleEvent(from + i))));
  return { path, store, dir, threads, writer, trail, append };
}

describe('ThreadAuditWriter with a journal', () => {
  it('appends resolve without a seq; flush chains them in order and moves head(); close signs over all and leaves no journal file', async () => {
    const signer = LocalAuditSigner.generate();
    const t = await journaled({}, { signer });
    const receipts = await t.append(1, 20);
    assert.ok(receipts.every((r) => r.seq === undefined && typeof r.eventID === 'string'));
    await t.trail.flush();
    assert.deepEqual(storedRequestIds(t.store), ids(1, 20));
    assert.equal(t.trail.head().seq, 20, 'the head the flush answered');
    await t.append(21, 5);
    const digest = await t.trail.checkpoint();
    assert.ok(digest !== null);
    assert.equal(t.store.db.prepare('SELECT max(to_seq) FROM audit_digests').pluck().get(), 25, 'the digest covers what was journaled before it');
    await t.append(26, 3);
    await t.trail.close();
    assert.deepEqual(storedRequestIds(t.store), ids(1, 28));
    assert.deepEqual(readdirSync(t.dir), [], 'ingested and sealed on close');
    const report = await verifyAudit(t.store, signer.publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    assert.equal(report.lastSignedSeq, 28);
    t.store.close();
  });

  it('exactly once: a thread killed after a commit, before it ran, or at any point of its polling: every record once, in order', { timeout: 20_000 }, async () => {
    const t = await journaled({ rotateBytes: 4096 });
    const kill = async (): Promise<void> => {
      await t.threads.at(-1)?.terminate();
    };
    await t.append(1, 5);
    await t.trail.flush();
    await kill(); // after a commit (the flush's)
    await t.append(6, 5); // no thread is running: journaled all the same
    let next = 11;
    for (let round = 0; round < 8; round++) {
      // The writer starts a new thread on its own (no commit would): wait for it.
      const started = t.threads.length;
      while (t.threads.length === started) await new Promise((r) => setTimeout(r, 10));
      await t.append(next, 7);
      next += 7;
      // Let it poll for a varying while, then kill it wherever it is.
      for (let k = 0; k < round; k++) await new Promise((r) => setTimeout(r, 2));
      await kill();
    }
    await t.trail.flush();
    assert.deepEqual(storedRequestIds(t.store), ids(1, next - 1));
    assert.ok(t.threads.length >= 9, `threads: ${t.threads.length}`);
    await t.trail.close();
    const report = await verifyAudit(t.store, LocalAuditSigner.generate().publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    assert.deepEqual(readdirSync(t.dir), []);
    t.store.close();
  });

  it('rotation: a tiny threshold spreads the journal over many generations; each record is ingested once and old generations are unlinked', async () => {
    const t = await journaled({ rotateBytes: 1 }); // every batch rotates
    for (let round = 0; round < 10; round++) await t.append(round * 3 + 1, 3);
    await t.trail.flush();
    assert.deepEqual(storedRequestIds(t.store), ids(1, 30));
    const left = readdirSync(t.dir);
    assert.equal(left.length, 1, `only the generation being written is left: ${left.join(',')}`);
    assert.ok(Number(left[0]!.split('.')[1]) >= 10, left[0]);
    const rows = t.store.db.prepare('SELECT name FROM audit_journal').pluck().all() as string[];
    assert.ok(rows.every((r) => left.includes(r)), `rows of sealed generations are dropped: ${rows.join(',')}`);
    await t.trail.close();
    assert.deepEqual(readdirSync(t.dir), []);
    assert.deepEqual(t.store.db.prepare('SELECT name FROM audit_journal').pluck().all(), []);
    t.store.close();
  });

  it('an ingestion failure is reported once, not per poll; the records stay journaled and are chained once it passes', { timeout: 20_000 }, async () => {
    const errors: string[] = [];
    const t = await journaled({}, { onBackgroundError: (e) => errors.push(e.message) });
    await t.append(1, 2);
    await t.trail.flush();
    const other = new Database(t.path);
    other.exec("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END");
    const receipts = await t.append(3, 4);
    assert.equal(receipts.length, 4, 'acknowledged: they are in the journal');
    await assert.rejects(t.trail.flush(), /disk full \(test\)/);
    // The polls report it (a condition, bounded: a loaded machine may delay the thread), then
    // several more fail meanwhile (250 ms apart: three or more in 800 ms): still one report.
    const deadline = Date.now() + 10_000;
    while (!errors.some((m) => m.includes('disk full (test)')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(errors.filter((m) => m.includes('disk full (test)')).length, 1, errors.join('\n'));
    other.exec('DROP TRIGGER fail_audit');
    other.close();
    await t.trail.flush();
    assert.deepEqual(storedRequestIds(t.store), ids(1, 6));
    await t.trail.close();
    t.store.close();
  });

  it('power: each journaled batch resolves only after its fdatasync, one per batch', async () => {
    let calls = 0;
    let hold: (() => void) | undefined;
    const t = await journaled({
      durability: 'power',
      fdatasync: (_fd, cb) => {
        calls++;
        hold = () => cb(null);
      },
    });
    let settled = false;
    const first = t.append(1, 3).then(() => (settled = true));
    for (let i = 0; i < 5 && hold === undefined; i++) await new Promise((r) => setImmediate(r));
    assert.equal(calls, 1, 'one flush for the batch');
    assert.equal(settled, false, 'not acknowledged before the flush');
    hold!();
    await first;
    assert.equal(settled, true);
    hold = undefined;
    const second = t.append(4, 2);
    for (let i = 0; i < 5 && hold === undefined; i++) await new Promise((r) => setImmediate(r));
    assert.equal(calls, 2);
    hold!();
    await second;
    await t.trail.close();
    assert.deepEqual(storedRequestIds(t.store), ids(1, 5));
    t.store.close();
  });

  it('a frame damaged after it was written stops ingestion of its file; once the next generation exists the file is kept as .damaged, reported, and ingestion goes on', async () => {
    const errors: string[] = [];
    let damage = false;
    const t = await journaled(
      {
        rotateBytes: 1, // a file per batch
        // As if the disk (or someone) changed the bytes after a successful write.
        writeSync: (fd, buf) => {
          const out = Buffer.from(buf);
          if (damage) out[out.length - 3]! ^= 0x04;
          return writeSync(fd, out);
        },
      },
      { onBackgroundError: (e) => errors.push(e.message) },
    );
    await t.append(1, 3);
    damage = true;
    await t.append(4, 2);
    damage = false;
    await t.append(6, 3);
    await t.trail.flush();
    assert.deepEqual(storedRequestIds(t.store), [...ids(1, 3), ...ids(6, 3)]);
    assert.ok(readdirSync(t.dir).includes('test.2.damaged'), readdirSync(t.dir).join(','));
    assert.ok(errors.some((m) => /test\.2: invalid frame at byte 0; renamed test\.2\.damaged/.test(m)), errors.join('\n'));
    await t.trail.close();
    assert.deepEqual(readdirSync(t.dir), ['test.2.damaged']);
    t.store.close();
  });

  it('digestEveryRecords counts journaled records: a digest is signed once that many were acknowledged, over them', { timeout: 20_000 }, async () => {
    const signer = LocalAuditSigner.generate();
    const t = await journaled({}, { signer, digestEveryRecords: 10 });
    await t.append(1, 6);
    assert.equal(t.trail.stats().digests, 0);
    await t.append(7, 6);
    const deadline = Date.now() + 10_000;
    while (t.trail.stats().digests === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(t.trail.stats().digests, 1, 'one digest once 12 records were journaled');
    assert.ok((t.store.db.prepare('SELECT max(to_seq) FROM audit_digests').pluck().get() as number) >= 10);
    await t.trail.close();
    const report = await verifyAudit(t.store, signer.publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    t.store.close();
  });
});
