import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync as writeSyncOnce } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeAuditEvent } from '../../audit/encode-event.js';
import { LocalAuditSigner } from '../../audit/signer.js';
import { sampleEvent, writerStoreFixtures } from '../../audit/test-support.js';
import { verifyAudit } from '../../audit/verify.js';
import { encodeJournalFrame, encodeJournalFrameInto, FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD, scanJournalFrames, type FrameScratch } from './audit-journal-frame.js';
import { AuditJournalWriter, journalFileName, parseJournalFileName } from './audit-journal.js';
import { recoverAuditJournals } from './audit-journal-recovery.js';
import { encodeAuditBatch } from './audit-writer-client.js';
import { SqliteAuditWriter } from './audit-writer.js';

// The journal's frame format, its append side and recovery (src/audit/README.md, "The audit
// journal"); the writer thread's ingestion is in audit-journal-thread.test.ts, a rotation whose
// directory fsync fails in audit-journal-dirsync.test.ts.

const { freshStore, tempDir } = writerStoreFixtures('cipherlake-audit-journal-');

/** The batch text of events from..from+n-1, as ThreadAuditWriter journals it. */
function batch(from: number, n: number): string {
  return encodeAuditBatch(Array.from({ length: n }, (_, i) => encodeAuditEvent(sampleEvent(from + i))));
}

/** requestIDs of the stored records in seq order. */
function storedRequestIds(store: { db: { prepare(sql: string): { pluck(): { all(): unknown[] } } } }): string[] {
  return store.db.prepare("SELECT json_extract(event_json, '$.requestID') FROM audit_records ORDER BY seq").pluck().all() as string[];
}

const ids = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `req-${from + i}`);

/** A fresh audit store and a closed journal `name` (one file, gen 1) of `batches`; `ends[i]`: the file's size after batch i. */
async function storeWithJournal(name: string, batches: string[]) {
  const { path, store } = await freshStore();
  const dir = tempDir();
  const j = new AuditJournalWriter({ dir, name, durability: 'process' });
  const ends = batches.map((b) => {
    j.append(b);
    return statSync(join(dir, journalFileName(name, 1))).size;
  });
  j.close();
  return { path, store, dir, ends };
}

describe('journal frames', () => {
  it('round trip: the frames of a file scan back to the joined batches, with their record count', () => {
    const batches = [batch(1, 3), batch(4, 1), batch(5, 2)];
    const file = Buffer.concat(batches.map(encodeJournalFrame));
    const scan = scanJournalFrames(file, 10_000);
    assert.equal(scan.stop, 'end');
    assert.equal(scan.end, file.length);
    assert.equal(scan.records, 6);
    assert.equal(scan.batch, batches.join('\n'));
    // A cap is met with whole frames only: the frame that reaches it is taken, the next is not.
    const capped = scanJournalFrames(file, 3);
    assert.deepEqual([capped.stop, capped.records, capped.batch], ['limit', 3, batches[0]]);
    assert.equal(capped.end, encodeJournalFrame(batches[0]!).length);
  });

  it('a frame built in a reused scratch buffer has exactly encodeJournalFrame\'s bytes, after a larger one too, and a large batch still gets them', () => {
    const scratch: FrameScratch = { buf: undefined };
    // ASCII, 2-, 3- and 4-byte UTF-8 (a surrogate pair), a lone surrogate (3 bytes: U+FFFD), a
    // larger batch then a smaller one in the same buffer, an empty one, and one past the 1 MiB kept.
    const texts = [batch(1, 3), 'caf\u00e9 \u20ac \ud83d\ude00', 'lone \ud800 x', batch(4, 40), batch(50, 1), '', 'x'.repeat(400_000)];
    for (const text of texts) {
      const framed = encodeJournalFrameInto(text, scratch);
      assert.deepEqual(framed, encodeJournalFrame(text), `${text.length} characters`);
      assert.equal(scanJournalFrames(Buffer.from(framed), 10).batch, Buffer.from(text, 'utf8').toString('utf8'));
    }
    assert.ok(scratch.buf !== undefined && scratch.buf.length <= 1024 * 1024, 'the kept buffer stays bounded');
    assert.throws(() => encodeJournalFrameInto('\u00e9'.repeat(MAX_FRAME_PAYLOAD / 2 + 1), scratch), RangeError);
  });

  it('a batch over MAX_FRAME_PAYLOAD bytes is refused, not framed (readers would take the frame for damage)', () => {
    assert.throws(() => encodeJournalFrame('\u00e9'.repeat(MAX_FRAME_PAYLOAD / 2 + 1)), RangeError); // 2 UTF-8 bytes each
    const dir = tempDir();
    const j = new AuditJournalWriter({ dir, name: 'big', durability: 'process' });
    assert.throws(() => j.append('\u00e9'.repeat(MAX_FRAME_PAYLOAD / 2 + 1)), RangeError);
    assert.equal(statSync(join(dir, journalFileName('big', 1))).size, 0, 'nothing written');
    j.close();
  });

  it('a torn tail (cut at every length inside the last frame) is ignored: only the complete frames are taken', () => {
    const first = encodeJournalFrame(batch(1, 2));
    const last = encodeJournalFrame(batch(3, 1));
    for (let cut = 1; cut < last.length; cut++) {
      const scan = scanJournalFrames(Buffer.concat([first, last.subarray(0, cut)]), 10_000);
      assert.equal(scan.stop, 'torn', `cut at ${cut}`);
      assert.equal(scan.end, first.length, `cut at ${cut}`);
      assert.equal(scan.records, 2, `cut at ${cut}`);
    }
  });

  it('a flipped byte anywhere in a frame stops the scan at that frame (the frames before it are taken)', () => {
    const first = encodeJournalFrame(batch(1, 2));
    const second = encodeJournalFrame(batch(3, 1));
    const third = encodeJournalFrame(batch(4, 1));
    // Every byte of the payload and the CRC; the length bytes make the frame torn or invalid, never valid.
    for (let at = 0; at < second.length; at++) {
      const bad = Buffer.from(second);
      bad[at]! ^= 0x01;
      const scan = scanJournalFrames(Buffer.concat([first, bad, third]), 10_000);
      assert.ok(scan.stop === 'invalid' || (at < 4 && scan.stop === 'torn'), `byte ${at}: ${scan.stop}`);
      assert.equal(scan.end, first.length, `byte ${at}`);
      assert.equal(scan.records, 2, `byte ${at}`);
    }
  });

  it('journal file names: <name>.<gen>, nothing else', () => {
    assert.deepEqual(parseJournalFileName(journalFileName('w-abc-12', 7)), { name: 'w-abc-12', gen: 7 });
    for (const other of ['w-abc.7.damaged', 'w-abc.0', 'w-abc', '.1', 'a.b.1', 'x.1e3']) assert.equal(parseJournalFileName(other), null, other);
  });
});

describe('AuditJournalWriter', () => {
  it('writes one frame per append to <name>.1 (0600 in a 0700 directory) and rotates past the threshold', () => {
    const dir = join(tempDir(), 'audit-journal');
    const j = new AuditJournalWriter({ dir, name: 'p', durability: 'process', rotateBytes: 3000 });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (let i = 0; i < 6; i++) assert.equal(j.append(batch(i * 2 + 1, 2)), undefined, 'process durability: done once written');
    j.close();
    const files = readdirSync(dir).sort();
    assert.ok(files.length >= 2, `rotated: ${files.join(',')}`);
    for (const f of files) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    const all = Buffer.concat(files.map((f) => parseJournalFileName(f)!).sort((a, b) => a.gen - b.gen).map((p) => readFileSync(join(dir, journalFileName(p.name, p.gen)))));
    const scan = scanJournalFrames(all, 10_000);
    assert.deepEqual([scan.stop, scan.records], ['end', 12]);
    for (const f of files.slice(0, -1)) assert.ok(statSync(join(dir, f)).size >= 3000, `${f} was rotated only once past the threshold`);
    assert.throws(() => j.append(batch(99, 1)), /closed/);
  });

  it('a failed or short write raises, leaves no torn bytes, and goes on in the next generation', () => {
    const dir = tempDir();
    let mode: 'ok' | 'short' | 'throw' = 'ok';
    const j = new AuditJournalWriter({
      dir,
      name: 'p',
      durability: 'process',
      writeSync: (fd, buf) => {
        if (mode === 'throw') throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        const n = mode === 'short' ? buf.length >> 1 : buf.length;
        return writeSyncAll(fd, buf.subarray(0, n));
      },
    });
    j.append(batch(1, 1));
    mode = 'short';
    assert.throws(() => j.append(batch(2, 1)), /short write/);
    assert.equal(j.gen, 2);
    mode = 'throw';
    assert.throws(() => j.append(batch(3, 1)), /ENOSPC/);
    assert.equal(j.gen, 3);
    mode = 'ok';
    j.append(batch(4, 1));
    j.close();
    const scan = (gen: number) => scanJournalFrames(readFileSync(join(dir, journalFileName('p', gen))), 10_000);
    assert.deepEqual([scan(1).stop, scan(1).records], ['end', 1], 'the short write was cut off');
    assert.deepEqual([scan(2).stop, scan(2).records], ['end', 0]);
    assert.deepEqual([scan(3).stop, scan(3).records], ['end', 1]);
  });

  it('a rotation that fails after a successful write (the next file exists) does not fail that batch: the file grows and the next append tries again', () => {
    const dir = tempDir();
    const stray = join(dir, journalFileName('p', 2));
    writeFileSync(stray, ''); // open(O_EXCL) of generation 2 fails with EEXIST
    const j = new AuditJournalWriter({ dir, name: 'p', durability: 'process', rotateBytes: 1 });
    assert.equal(j.append(batch(1, 1)), undefined);
    assert.equal(j.append(batch(2, 1)), undefined);
    assert.equal(j.gen, 1);
    unlinkSync(stray);
    j.append(batch(3, 1));
    assert.equal(j.gen, 2, 'rotated once it could');
    j.append(batch(4, 1));
    j.close();
    const scan = (gen: number) => scanJournalFrames(readFileSync(join(dir, journalFileName('p', gen))), 10_000);
    assert.deepEqual([scan(1).stop, scan(1).records], ['end', 3]);
    assert.deepEqual([scan(2).stop, scan(2).records], ['end', 1]);
  });

  it('a failed write whose rotation fails too: the next append raises without writing until a new file can be opened', () => {
    const dir = tempDir();
    const stray = join(dir, journalFileName('p', 2));
    let fail = false;
    const j = new AuditJournalWriter({
      dir,
      name: 'p',
      durability: 'process',
      writeSync: (fd, buf) => {
        if (fail) {
          writeSyncOnce(fd, buf.subarray(0, 5)); // torn bytes, cut off by the writer
          throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
        }
        return writeSyncAll(fd, buf);
      },
    });
    j.append(batch(1, 1));
    writeFileSync(stray, '');
    fail = true;
    assert.throws(() => j.append(batch(2, 1)), /EIO/);
    fail = false;
    assert.throws(() => j.append(batch(3, 1)), /EEXIST/, 'nothing is written to the file a write failed in');
    assert.equal(j.gen, 1);
    unlinkSync(stray);
    j.append(batch(4, 1));
    assert.equal(j.gen, 2);
    j.close();
    const scan = (gen: number) => scanJournalFrames(readFileSync(join(dir, journalFileName('p', gen))), 10_000);
    assert.deepEqual([scan(1).stop, scan(1).records, scan(1).end], ['end', 1, readFileSync(join(dir, journalFileName('p', 1))).length]);
    assert.deepEqual([scan(2).stop, scan(2).records], ['end', 1]);
  });

  it('power: an append resolves only after its fdatasync called back, and rejects when it failed', async () => {
    const dir = tempDir();
    const pending: ((error: NodeJS.ErrnoException | null) => void)[] = [];
    const j = new AuditJournalWriter({ dir, name: 'p', durability: 'power', fdatasync: (_fd, cb) => void pending.push(cb) });
    let done = false;
    const first = j.append(batch(1, 1));
    assert.ok(first instanceof Promise);
    void first.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'not before the flush');
    assert.equal(pending.length, 1);
    pending.shift()!(null);
    await first;
    assert.equal(done, true);
    const second = j.append(batch(2, 1))!;
    pending.shift()!(Object.assign(new Error('EIO'), { code: 'EIO' }));
    await assert.rejects(second, /EIO/);
    j.close();
  });

  it('power with rotation: the file a batch rotated away from stays open until its fdatasync ended', async () => {
    const dir = tempDir();
    const j = new AuditJournalWriter({ dir, name: 'p', durability: 'power', rotateBytes: 1 }); // the real fdatasync
    // One at a time: a descriptor closed too early would not be reused by the next file meanwhile.
    await j.append(batch(1, 1));
    await j.append(batch(2, 1));
    await j.append(batch(3, 2));
    j.close();
    assert.deepEqual(readdirSync(dir).sort(), ['p.1', 'p.2', 'p.3', 'p.4']);
    const records = [1, 2, 3].map((g) => scanJournalFrames(readFileSync(join(dir, journalFileName('p', g))), 10_000).records);
    assert.deepEqual(records, [1, 1, 2]);
  });
});

describe('recoverAuditJournals', () => {
  it("ingests another process's journal in (name, gen) order, skips live names, removes what it ingested, and the chain verifies", async () => {
    const { path, store } = await freshStore();
    const dir = tempDir();
    const dead = new AuditJournalWriter({ dir, name: 'dead', durability: 'process', rotateBytes: 1 }); // a file per batch
    dead.append(batch(1, 2));
    dead.append(batch(3, 3));
    dead.append(batch(6, 1));
    const live = new AuditJournalWriter({ dir, name: 'live', durability: 'process' });
    live.append(batch(100, 2));
    // A torn tail in the dead process's last file: its write never returned.
    const lastDead = join(dir, journalFileName('dead', dead.gen));
    writeFileSync(lastDead, encodeJournalFrame(batch(7, 1)).subarray(0, 20), { flag: 'a' });
    const report = recoverAuditJournals(path, dir, { except: ['live'] });
    assert.deepEqual([report.records, report.damaged], [6, []]);
    assert.deepEqual(storedRequestIds(store), ids(1, 6));
    assert.deepEqual(readdirSync(dir), [journalFileName('live', 1)], 'the live journal is untouched, the dead one removed');
    assert.deepEqual(store.db.prepare('SELECT name FROM audit_journal').pluck().all(), [], 'no row left for removed files');
    live.close();
    // Once that process is gone too, its journal is chained after.
    recoverAuditJournals(path, dir);
    assert.deepEqual(storedRequestIds(store), [...ids(1, 6), ...ids(100, 2)]);
    assert.deepEqual(readdirSync(dir), []);
    const verified = await verifyAudit(store, LocalAuditSigner.generate().publicKeyPem());
    assert.equal(verified.intact, true, JSON.stringify(verified.problems));
    store.close();
  });

  it('a flipped byte stops ingestion at that frame; the file is kept as <file>.damaged and reported with the offset', async () => {
    const { path, store, dir, ends } = await storeWithJournal('x', [batch(1, 2), batch(3, 2), batch(5, 1)]);
    const file = join(dir, journalFileName('x', 1));
    const bytes = readFileSync(file);
    const second = ends[0]!;
    bytes[second + FRAME_HEADER_BYTES + 5]! ^= 0x20; // inside the second frame's payload
    writeFileSync(file, bytes);
    const report = recoverAuditJournals(path, dir);
    assert.deepEqual(report.damaged, [{ file: journalFileName('x', 1), offset: second }]);
    assert.equal(report.records, 2);
    assert.deepEqual(storedRequestIds(store), ids(1, 2), 'nothing from the damaged frame on');
    assert.deepEqual(readdirSync(dir), [`${journalFileName('x', 1)}.damaged`]);
    assert.deepEqual(readFileSync(join(dir, `${journalFileName('x', 1)}.damaged`)), bytes, 'the evidence is kept as it was');
    // Running again changes nothing: .damaged files are not journals.
    assert.deepEqual(recoverAuditJournals(path, dir), { files: 0, records: 0, damaged: [] });
    store.close();
  });

  it('goes on from the stored offset: frames ingested before a crash are not chained twice; rows of gone files are dropped', async () => {
    const { path, store, dir, ends } = await storeWithJournal('c', [batch(1, 2), batch(3, 2)]);
    const firstEnd = ends[0]!;
    // As if a writer thread had ingested the first frame and died: its records and the offset, in one transaction.
    const w = new SqliteAuditWriter(path, { synchronous: 'NORMAL' });
    w.ingest(batch(1, 2), { file: journalFileName('c', 1), from: 0, to: firstEnd });
    assert.throws(() => w.ingest(batch(1, 2), { file: journalFileName('c', 1), from: 0, to: firstEnd }), /ingested to/, 'a span is taken once');
    w.ingest('', { file: 'gone.3', from: 0, to: 10 });
    w.close();
    recoverAuditJournals(path, dir);
    assert.deepEqual(storedRequestIds(store), ids(1, 4));
    assert.deepEqual(store.db.prepare('SELECT name FROM audit_journal').pluck().all(), []);
    store.close();
  });

  it('a frame larger than one read (4 MiB) is read whole and ingested, and the frame after it too', async () => {
    const n = Math.ceil((4 * 1024 * 1024) / batch(1, 1).length) + 1;
    const big = batch(1, n);
    assert.ok(Buffer.byteLength(big) > 4 * 1024 * 1024, `a batch of ${Buffer.byteLength(big)} bytes`);
    const { path, store, dir } = await storeWithJournal('big', [big, batch(n + 1, 2)]);
    const report = recoverAuditJournals(path, dir);
    assert.deepEqual([report.records, report.damaged], [n + 2, []]);
    assert.deepEqual(storedRequestIds(store), ids(1, n + 2));
    assert.deepEqual(readdirSync(dir), []);
    store.close();
  });
});

function writeSyncAll(fd: number, buf: Buffer): number {
  let n = 0;
  while (n < buf.length) n += writeSyncOnce(fd, buf.subarray(n));
  return n;
}
