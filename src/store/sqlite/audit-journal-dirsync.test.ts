import assert from 'node:assert/strict';
import { fstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeAuditEvent } from '../../audit/encode-event.js';
import { sampleEvent, writerStoreFixtures } from '../../audit/test-support.js';
import { scanJournalFrames } from './audit-journal-frame.js';
import { JournalIngester } from './audit-journal-ingest.js';
import { AuditJournalWriter, journalFileName } from './audit-journal.js';
import type { SqliteAuditStore } from './audit-store.js';
import { encodeAuditBatch } from './audit-writer-client.js';
import { SqliteAuditWriter } from './audit-writer.js';

// A rotation whose directory fsync fails (src/audit/README.md, "The audit journal"): the
// ingester takes g+1's name as the sign that g is complete and seals (unlinks) g, so from the
// open of g+1 on the writer must never write to g again, whatever the fsync then says.

const { freshStore, tempDir } = writerStoreFixtures('cipherlake-audit-journal-dirsync-');

/** The batch text of events from..from+n-1 (requestIDs req-<i>), as the request thread journals it. */
function batch(from: number, n: number): string {
  return encodeAuditBatch(Array.from({ length: n }, (_, i) => encodeAuditEvent(sampleEvent(from + i))));
}

function storedRequestIds(store: SqliteAuditStore): string[] {
  return store.db.prepare("SELECT json_extract(event_json, '$.requestID') FROM audit_records ORDER BY seq").pluck().all() as string[];
}

/** The requestIDs in journal file `p.<gen>` (complete frames only), in file order. */
function fileRequestIds(dir: string, gen: number): string[] {
  const text = scanJournalFrames(readFileSync(join(dir, journalFileName('p', gen))), 10_000).batch;
  return Array.from(text.matchAll(/"requestID":"(req-[0-9]+)"/g), (m) => m[1] as string);
}

const injectedEio = (): Error => Object.assign(new Error('EIO: injected directory fsync failure'), { code: 'EIO' });

/** 'ok' once `p` resolved, 'rejected' once it rejected. */
const settle = (p: Promise<void> | undefined): Promise<'ok' | 'rejected'> => Promise.resolve(p).then(() => 'ok' as const, () => 'rejected' as const);

describe('AuditJournalWriter: a directory fsync that fails at rotation', () => {
  it('power: the writer switches to g+1 all the same; appends to it reject, writing nothing, until a directory fsync succeeds, then resolve', async () => {
    const dir = tempDir();
    let failDirSync = false;
    let flushes = 0;
    const j = new AuditJournalWriter({
      dir,
      name: 'p',
      durability: 'power',
      rotateBytes: 1, // a rotation after every written batch
      fdatasync: (_fd, cb) => {
        flushes += 1;
        cb(null);
      },
      syncDir: () => {
        if (failDirSync) throw injectedEio();
      },
    });
    failDirSync = true;
    // Written to p.1 and flushed: recorded, although the rotation after it could not fsync the directory.
    await j.append(batch(1, 1));
    assert.equal(j.gen, 2, 'p.2 exists, so p.1 is never written again');
    assert.deepEqual(readdirSync(dir).sort(), ['p.1', 'p.2'], 'the new file is kept');
    await assert.rejects(j.append(batch(2, 1))!, /EIO: injected/);
    await assert.rejects(j.append(batch(3, 1))!, /EIO: injected/);
    assert.equal(flushes, 1, 'a batch refused before its write is neither written nor flushed');
    failDirSync = false;
    await j.append(batch(4, 1));
    await j.append(batch(5, 1));
    j.close();
    assert.deepEqual(readdirSync(dir).sort(), ['p.1', 'p.2', 'p.3', 'p.4']);
    assert.deepEqual([1, 2, 3, 4].map((g) => fileRequestIds(dir, g)), [['req-1'], ['req-4'], ['req-5'], []]);
  });

  it('power: an ingester that seals g as soon as g+1 appears (inside the failing fsync) loses no append that resolved', async () => {
    const { path, store } = await freshStore();
    const dir = tempDir();
    const writer = new SqliteAuditWriter(path, { synchronous: 'NORMAL' });
    const ingester = new JournalIngester(writer, { dir, name: 'p', onCommit: () => undefined, onDamaged: () => assert.fail('no damage') });
    const pollErrors: unknown[] = [];
    let sealedInFailingSync = 0;
    // Directory fsync outcomes in call order (the first is the constructor's): the ingester polls
    // at each call, so it sees every new generation before the fsync's outcome is known.
    const fails = [false, true, true, false, true, false, false, true, true, true, false, true, false, false];
    let call = 0;
    const j = new AuditJournalWriter({
      dir,
      name: 'p',
      durability: 'power',
      rotateBytes: 1,
      syncDir: () => {
        const fail = fails[call++] ?? false;
        let records = 0;
        try {
          records = ingester.ingestAll();
        } catch (error) {
          pollErrors.push(error); // the writer thread reports it and polls again later
        }
        if (!fail) return;
        sealedInFailingSync += records;
        throw injectedEio();
      },
    });
    const resolved: string[] = [];
    const outcomes: string[] = [];
    for (let i = 1; i <= 10; i++) {
      const outcome = await settle(j.append(batch(i, 1)));
      outcomes.push(outcome);
      if (outcome === 'ok') resolved.push(`req-${i}`);
    }
    j.close();
    try {
      ingester.finish();
    } catch (error) {
      pollErrors.push(error);
    }
    writer.close();
    assert.deepEqual(storedRequestIds(store), resolved, 'every acknowledged record chained, in order; nothing refused');
    assert.deepEqual(pollErrors, []);
    assert.deepEqual(readdirSync(dir), [], 'every generation ingested and sealed');
    // Not vacuous: some appends were refused, and the ingester sealed g while g+1 awaited its fsync.
    assert.ok(outcomes.includes('ok') && outcomes.includes('rejected'), `both outcomes seen: ${outcomes.join(',')}`);
    assert.ok(sealedInFailingSync > 0, 'the race happened');
    store.close();
  });

  it('power: a rotation with a flush in flight whose directory fsync fails closes the old file once, after that flush, and writes nothing more to it', async () => {
    const dir = tempDir();
    let failDirSync = false;
    const flushes: Array<{ fd: number; cb: (error: NodeJS.ErrnoException | null) => void }> = [];
    const j = new AuditJournalWriter({
      dir,
      name: 'p',
      durability: 'power',
      rotateBytes: 1,
      fdatasync: (fd, cb) => void flushes.push({ fd, cb }),
      syncDir: () => {
        if (failDirSync) throw injectedEio();
      },
    });
    failDirSync = true;
    const first = j.append(batch(1, 1))!; // written to p.1; its flush is held; the rotation to p.2 cannot fsync the directory
    assert.equal(j.gen, 2);
    const [held] = flushes;
    assert.ok(held !== undefined);
    // The held descriptor is still p.1's (a closed-and-reused number would name p.2's inode).
    assert.equal(fstatSync(held.fd).ino, statSync(join(dir, journalFileName('p', 1))).ino, 'p.1 stays open while its flush is in flight');
    await assert.rejects(j.append(batch(2, 1))!, /EIO: injected/);
    assert.equal(flushes.length, 1, 'the refused batch was neither written nor flushed');
    held.cb(null); // the last use of p.1's descriptor: closed here, once (a second close would throw EBADF here or in close())
    await first;
    failDirSync = false;
    const third = j.append(batch(3, 1))!;
    assert.equal(flushes.length, 2);
    assert.notEqual(flushes[1]!.fd, held.fd, 'the batch went to p.2, not to p.1');
    flushes[1]!.cb(null);
    await third;
    j.close();
    assert.deepEqual([1, 2, 3].map((g) => fileRequestIds(dir, g)), [['req-1'], ['req-3'], []]);
  });

  it('power: the first file is still refused as before: a constructor whose directory fsync fails raises and leaves no file', () => {
    const dir = tempDir();
    const refuse = (): void => {
      throw injectedEio();
    };
    assert.throws(() => new AuditJournalWriter({ dir, name: 'p', durability: 'power', syncDir: refuse }), /EIO: injected/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('process: no directory fsync at all, so nothing changes: every append is written and done at once, one rotation each', () => {
    const dir = tempDir();
    let dirSyncs = 0;
    const j = new AuditJournalWriter({
      dir,
      name: 'p',
      durability: 'process',
      rotateBytes: 1,
      syncDir: () => {
        dirSyncs += 1;
        throw injectedEio();
      },
    });
    for (let i = 1; i <= 3; i++) assert.equal(j.append(batch(i, 1)), undefined, `append ${i}: done once written`);
    assert.equal(j.gen, 4);
    j.close();
    assert.equal(dirSyncs, 0);
    assert.deepEqual(readdirSync(dir).sort(), ['p.1', 'p.2', 'p.3', 'p.4']);
    assert.deepEqual([1, 2, 3, 4].map((g) => fileRequestIds(dir, g)), [['req-1'], ['req-2'], ['req-3'], []]);
  });
});
