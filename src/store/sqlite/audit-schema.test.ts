import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { LocalAuditSigner } from '../../audit/signer.js';
import { appendMany, dropGuards, KEY_ID, sampleEvent } from '../../audit/test-support.js';
import { AuditTrail } from '../../audit/trail.js';
import { verifyAudit } from '../../audit/verify.js';
import { SqliteAuditStore } from './audit-store.js';

// The audit_terms table and its seq index as the schema before this change created them.
const OLD_TERMS_DDL = `
CREATE TABLE audit_terms (kind TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (kind, value, seq)) STRICT, WITHOUT ROWID;
CREATE INDEX audit_terms_seq ON audit_terms (seq);`;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const hasSeqIndex = (db: Database.Database): boolean =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'audit_terms_seq'").get() !== undefined;

/** An audit.db as the previous schema wrote it: 12 records with terms, the seq index maintained. */
async function oldDatabase(signer: LocalAuditSigner): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-schema-'));
  dirs.push(dir);
  const path = join(dir, 'audit.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(OLD_TERMS_DDL);
  // applyPragmas false: a reader, which does not migrate, so the old index stays and is written.
  const store = new SqliteAuditStore(db, { applyPragmas: false });
  const trail = await AuditTrail.open({ store, signer, digestIntervalMs: 0, digestEveryRecords: 0 });
  await appendMany(trail, 10);
  await trail.append(sampleEvent(11, { eventName: 'Decrypt', userIdentity: { type: 'IAMUser', accessKeyId: 'AKIABOB' } }));
  await trail.append(sampleEvent(12));
  await trail.close();
  assert.equal(hasSeqIndex(db), true);
  assert.equal((db.prepare('SELECT count(*) FROM audit_terms').pluck().get() as number) > 40, true);
  db.close();
  return path;
}

describe('audit schema: databases written before audit_terms_seq was dropped', () => {
  it('a reader verifies and looks up with the old index in place and leaves the file alone', async () => {
    const signer = LocalAuditSigner.generate();
    const db = new Database(await oldDatabase(signer));
    const store = new SqliteAuditStore(db, { applyPragmas: false });
    const report = await verifyAudit(store, signer.publicKeyPem());
    assert.deepEqual(report.problems, []);
    assert.equal(report.recordsChecked, 12);
    assert.deepEqual((await store.lookup({ principal: 'AKIABOB' })).records.map((r) => r.seq), [11]);
    assert.equal(hasSeqIndex(db), true);
    db.close();
  });

  it('the writer drops the index; the trail verifies, looks up and goes on appending', async () => {
    const signer = LocalAuditSigner.generate();
    const path = await oldDatabase(signer);
    const store = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    assert.equal(hasSeqIndex(store.db), false);
    const trail = await AuditTrail.open({ store, signer, digestIntervalMs: 0, digestEveryRecords: 0 });
    await appendMany(trail, 3, 13);
    await trail.close();
    const report = await verifyAudit(store, signer.publicKeyPem());
    assert.deepEqual(report.problems, []);
    assert.equal(report.recordsChecked, 15);
    assert.deepEqual((await store.lookup({ eventName: 'Decrypt' })).records.map((r) => r.seq), [11]);
    assert.deepEqual((await store.lookup({ principal: 'AKIABOB' })).records.map((r) => r.seq), [11]);
    const page = await store.lookup({ keyId: KEY_ID, limit: 5 });
    assert.deepEqual(page.records.map((r) => r.seq), [15, 14, 13, 12, 11]);
    assert.ok(page.nextToken);
    const next = await store.lookup({ keyId: KEY_ID, limit: 5, nextToken: page.nextToken });
    assert.deepEqual(next.records.map((r) => r.seq), [10, 9, 8, 7, 6]);
    store.close();
  });

  it('names each record whose terms were added to, re-pointed or changed, and not a deleted record', async () => {
    const signer = LocalAuditSigner.generate();
    const store = new SqliteAuditStore(await oldDatabase(signer), { synchronous: 'NORMAL' });
    dropGuards(store.db);
    store.db.exec("INSERT INTO audit_terms (kind, value, seq) VALUES ('principal', 'AKIAMALLORY', 3)");
    store.db.exec("UPDATE audit_terms SET seq = 5 WHERE seq = 11 AND kind = 'principal' AND value = 'AKIABOB'");
    store.db.exec("UPDATE audit_terms SET value = 'AKIAEVE' WHERE seq = 7 AND kind = 'principal' AND value = 'AKIAALICE'");
    store.db.exec('DELETE FROM audit_records WHERE seq = 9');
    const problems = (await verifyAudit(store, signer.publicKeyPem())).problems;
    assert.deepEqual(
      problems.filter((p) => p.kind === 'index-mismatch'),
      [3, 5, 7, 11].map((seq) => ({ kind: 'index-mismatch', seq })),
    );
    assert.ok(problems.some((p) => p.kind === 'records-deleted'));
    store.close();
  });
});
