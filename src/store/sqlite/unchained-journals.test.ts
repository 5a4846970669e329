import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encodeAuditEvent } from '../../audit/encode-event.js';
import { sampleEvent } from '../../audit/test-support.js';
import { encodeJournalFrame } from './audit-journal-frame.js';
import { AUDIT_JOURNAL_TABLE } from './audit-schema.js';
import { encodeAuditBatch } from './audit-writer-client.js';
import { lockDataDir } from './data-dir-lock.js';
import { dataDirInUse, scanUnchainedJournals, unchainedLookupStore } from './unchained-journals.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): { dir: string; db: string; journals: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-unchained-'));
  dirs.push(dir);
  const journals = join(dir, 'audit-journal');
  mkdirSync(journals);
  return { dir, db: join(dir, 'audit.db'), journals };
}

/** A batch of `n` records as the scanner counts them (three lines each). */
function frame(n: number): Buffer {
  return encodeJournalFrame(Array.from({ length: n }, (_, i) => `[${i}]\n[]\n{}`).join('\n'));
}

describe('scanUnchainedJournals', () => {
  it('reads each file from its stored offset: intact frames, a torn tail, an invalid frame, a kept .damaged file; skips chained files and strays', () => {
    const d = dataDir();
    const db = new Database(d.db);
    db.exec(AUDIT_JOURNAL_TABLE);
    const [a, b, c] = [frame(2), frame(3), frame(1)];
    // s-a.1: first frame chained, two more not, then half a frame.
    writeFileSync(join(d.journals, 's-a.1'), Buffer.concat([a, b, c, b.subarray(0, 5)]));
    db.prepare('INSERT INTO audit_journal (name, offset) VALUES (?, ?)').run('s-a.1', a.length);
    // s-b.1: chained to its end (nothing to report).
    writeFileSync(join(d.journals, 's-b.1'), a);
    db.prepare('INSERT INTO audit_journal (name, offset) VALUES (?, ?)').run('s-b.1', a.length);
    // s-c.2: no row yet, second frame's CRC broken.
    const broken = Buffer.concat([a, b]);
    broken[a.length + 9] = broken[a.length + 9]! ^ 1;
    writeFileSync(join(d.journals, 's-c.2'), broken);
    writeFileSync(join(d.journals, 's-d.1.damaged'), broken);
    writeFileSync(join(d.journals, 'stray.txt'), 'not a journal');
    db.close();
    const before = readdirSync(d.journals).sort();

    assert.deepEqual(scanUnchainedJournals(d.db, d.journals), [
      { file: 's-a.1', keptDamaged: false, from: a.length, end: a.length + b.length + c.length, size: a.length + b.length + c.length + 5, records: 4, stop: 'torn' },
      { file: 's-c.2', keptDamaged: false, from: 0, end: a.length, size: broken.length, records: 2, stop: 'invalid' },
      { file: 's-d.1.damaged', keptDamaged: true, from: a.length, end: a.length, size: broken.length, records: 0, stop: 'invalid' },
    ]);
    assert.deepEqual(readdirSync(d.journals).sort(), before, 'nothing renamed, removed or created');
  });

  it('reads every file from 0 when audit.db has no audit_journal table (older files) or is absent; none without a journal directory', () => {
    const d = dataDir();
    new Database(d.db).close();
    writeFileSync(join(d.journals, 's-a.1'), frame(2));
    const expected = [{ file: 's-a.1', keptDamaged: false, from: 0, end: frame(2).length, size: frame(2).length, records: 2, stop: 'end' }];
    assert.deepEqual(scanUnchainedJournals(d.db, d.journals), expected);
    rmSync(d.db);
    assert.deepEqual(scanUnchainedJournals(d.db, d.journals), expected);
    assert.deepEqual(scanUnchainedJournals(d.db, join(d.dir, 'missing')), []);
  });
});

describe('scanUnchainedJournals with batches, and unchainedLookupStore', () => {
  it('orders files as recovery chains them, keeps their records, and runs the store lookup over them (malformed records skipped)', async () => {
    const d = dataDir();
    // Each sample event gets a fresh eventID: encode each one once.
    const encoded = [1, 2, 3, 4, 5].map((i) => encodeAuditEvent(sampleEvent(i)));
    const batch = (from: number, n: number): string => encodeAuditBatch(encoded.slice(from - 1, from - 1 + n));
    // Generation 10 after generation 2 (not in string order), another name after both.
    writeFileSync(join(d.journals, 's-a.10'), encodeJournalFrame(batch(3, 2)));
    writeFileSync(join(d.journals, 's-a.2'), Buffer.concat([encodeJournalFrame(batch(1, 1)), encodeJournalFrame(batch(2, 1))]));
    writeFileSync(join(d.journals, 's-b.1'), encodeJournalFrame(`["not","six"]\n[]\n{}\n${batch(5, 1)}`));
    const scanned = scanUnchainedJournals(d.db, d.journals, { batches: true });
    assert.deepEqual(scanned.map((j) => [j.file, j.records]), [['s-a.2', 2], ['s-a.10', 2], ['s-b.1', 2]]);
    assert.equal(scanned[0]!.batch, `${batch(1, 1)}\n${batch(2, 1)}`);
    assert.equal(scanUnchainedJournals(d.db, d.journals)[0]!.batch, undefined, 'kept only when asked');

    const { store, records, skipped } = unchainedLookupStore(scanned.map((j) => j.batch!));
    try {
      assert.deepEqual([records, skipped], [5, 1]);
      const all = await store.lookup({ limit: 10 });
      assert.deepEqual(all.records.map((r) => r.event.requestID), [5, 4, 3, 2, 1].map((i) => sampleEvent(i).requestID), 'newest (last to be chained) first');
      const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
      assert.deepEqual((await store.lookup({ startTime: t(2), endTime: t(3) })).records.map((r) => r.seq), [3, 2]);
    } finally {
      store.close();
    }
  });
});

describe('dataDirInUse', () => {
  it('is true while a server lock is held and false before and after, without creating server.lock', () => {
    const d = dataDir();
    assert.equal(dataDirInUse(d.dir), false);
    assert.ok(!readdirSync(d.dir).includes('server.lock'));
    const lock = lockDataDir(d.dir);
    try {
      assert.equal(dataDirInUse(d.dir), true);
    } finally {
      lock.release();
    }
    assert.equal(dataDirInUse(d.dir), false);
    // The probe left the lock free: a server can take it.
    lockDataDir(d.dir).release();
  });

  // Root opens any file: the probe must run as a user who cannot read server.lock.
  const asNobody = process.getuid?.() === 0 && existsSync('/usr/sbin/runuser') ? false : 'needs root and runuser (probes as nobody)';
  it('raises instead of saying free when this user cannot open a held server.lock', { skip: asNobody }, () => {
    const d = dataDir();
    chmodSync(d.dir, 0o755);
    const lock = lockDataDir(d.dir);
    try {
      chmodSync(join(d.dir, 'server.lock'), 0o600);
      const probe = `import { dataDirInUse } from ${JSON.stringify(new URL('./unchained-journals.ts', import.meta.url).pathname)};
        try { console.log(dataDirInUse(${JSON.stringify(d.dir)})); } catch (e) { console.log(e.code); }`;
      const out = execFileSync('/usr/sbin/runuser', ['-u', 'nobody', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' });
      assert.equal(out.trim(), 'SQLITE_CANTOPEN');
    } finally {
      lock.release();
    }
  });
});
