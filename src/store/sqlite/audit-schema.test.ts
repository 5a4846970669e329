import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { chainRecord, GENESIS_HASH, signDigest } from '../../audit/chain.js';
import type { ChainHead } from '../../audit/audit-store.js';
import { encodeAuditEvent } from '../../audit/encode-event.js';
import { LocalAuditSigner } from '../../audit/signer.js';
import { appendMany, dropGuards, KEY_ID, sampleEvent } from '../../audit/test-support.js';
import { AuditTrail } from '../../audit/trail.js';
import { verifyAudit } from '../../audit/verify.js';
import { SqliteAuditStore } from './audit-store.js';

// The schema as code before the deferred index wrote it: three secondary indexes on
// audit_records, audit_terms (with its older seq index) filled at commit for every record.
const OLD_SCHEMA = `
CREATE TABLE audit_records (seq INTEGER PRIMARY KEY, event_time TEXT NOT NULL, event_ms INTEGER NOT NULL, event_name TEXT NOT NULL,
  event_source TEXT NOT NULL, error_code TEXT, access_denied INTEGER NOT NULL, event_json TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL) STRICT;
CREATE INDEX audit_records_ms ON audit_records (event_ms);
CREATE INDEX audit_records_name ON audit_records (event_name, seq);
CREATE INDEX audit_records_source ON audit_records (event_source, seq);
CREATE TABLE audit_terms (kind TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (kind, value, seq)) STRICT, WITHOUT ROWID;
CREATE INDEX audit_terms_seq ON audit_terms (seq);
CREATE TABLE audit_digests (digest_no INTEGER PRIMARY KEY, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, payload_json TEXT NOT NULL, signature TEXT NOT NULL) STRICT;
CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL, last_hash TEXT NOT NULL) STRICT;
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;
CREATE TRIGGER audit_terms_no_delete BEFORE DELETE ON audit_terms BEGIN SELECT RAISE(ABORT, 'audit_terms is append-only'); END;`;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const schemaOf = (db: Database.Database): string =>
  JSON.stringify(db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all());
const indexNames = (db: Database.Database): string[] =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'audit_%' ORDER BY name").pluck().all() as string[];

/** An audit.db as older code wrote it: 12 records (11 by bob, a Decrypt) and a digest over 1..10. */
async function oldDatabase(signer: LocalAuditSigner): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-schema-'));
  dirs.push(dir);
  const path = join(dir, 'audit.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(OLD_SCHEMA);
  const insert = db.prepare('INSERT INTO audit_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const term = db.prepare('INSERT INTO audit_terms (kind, value, seq) VALUES (?, ?, ?)');
  let head: ChainHead = { seq: 0, hash: GENESIS_HASH };
  let digested: ChainHead = head;
  for (let i = 1; i <= 12; i++) {
    const event = i === 11 ? sampleEvent(i, { eventName: 'Decrypt', userIdentity: { type: 'IAMUser', accessKeyId: 'AKIABOB' } }) : sampleEvent(i);
    const { json, index: x } = encodeAuditEvent(event);
    const r = chainRecord(head, json);
    insert.run(r.seq, x.eventTime, x.eventMs, x.eventName, x.eventSource, x.errorCode, x.accessDenied ? 1 : 0, r.eventJson, r.prevHash, r.hash);
    for (const t of x.terms) term.run(t.kind, t.value, r.seq);
    head = r;
    if (i === 10) digested = r;
  }
  db.prepare('INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, ?, ?)').run(head.seq, head.hash);
  const payload = { digestVersion: 1 as const, keyId: signer.keyId, fromSeq: 1, toSeq: 10, startPrevHash: GENESIS_HASH, lastHash: digested.hash, previousDigestSignature: null, time: new Date(0).toISOString() };
  const signed = await signDigest(payload, signer);
  db.prepare('INSERT INTO audit_digests (from_seq, to_seq, payload_json, signature) VALUES (1, 10, ?, ?)').run(signed.payloadJson, signed.signature);
  db.close();
  return path;
}

describe('audit schema: a store written before the deferred lookup index', () => {
  it('a reader verifies and looks up as the file is, and leaves it alone', async () => {
    const signer = LocalAuditSigner.generate();
    const db = new Database(await oldDatabase(signer));
    const before = schemaOf(db);
    const store = new SqliteAuditStore(db, { applyPragmas: false });
    const report = await verifyAudit(store, signer.publicKeyPem());
    assert.deepEqual(report.problems, []);
    assert.equal(report.recordsChecked, 12);
    assert.deepEqual((await store.lookup({ principal: 'AKIABOB' })).records.map((r) => r.seq), [11]);
    assert.deepEqual((await store.lookup({ eventName: 'Decrypt' })).records.map((r) => r.seq), [11]);
    assert.deepEqual((await store.lookup({ keyId: KEY_ID, limit: 3 })).records.map((r) => r.seq), [12, 11, 10]);
    assert.equal(store.firstSeqAtOrAfter(new Date(Date.UTC(2026, 0, 1, 0, 0, 4))), 4);
    assert.equal(store.lastSeqAtOrBefore(new Date(Date.UTC(2026, 0, 1))), null);
    assert.equal(await store.deferredIndex.indexNext(100), 0, 'a reader never indexes');
    assert.equal(schemaOf(db), before);
    db.close();
  });

  it('the writer migrates: old indexes dropped, watermark at the last record; verifies, looks up, goes on appending', async () => {
    const signer = LocalAuditSigner.generate();
    const store = new SqliteAuditStore(await oldDatabase(signer), { synchronous: 'NORMAL' });
    assert.equal(indexNames(store.db).length, 4, 'opening alone changes nothing');
    const trail = await AuditTrail.open({ store, signer, digestIntervalMs: 0, digestEveryRecords: 0, indexIdleMs: 60_000 });
    assert.deepEqual(indexNames(store.db), []);
    assert.equal(store.db.prepare('SELECT indexed_to FROM audit_index_state').pluck().get(), 12);
    assert.throws(() => store.db.exec('UPDATE audit_index_state SET indexed_to = 3'), /only increases/);
    assert.throws(() => store.db.exec('DELETE FROM audit_time'), /append-only/);
    await appendMany(trail, 3, 13);
    // 13..15 are the unindexed tail until close; lookups span both parts.
    const page = await store.lookup({ keyId: KEY_ID, limit: 5 });
    assert.deepEqual(page.records.map((r) => r.seq), [15, 14, 13, 12, 11]);
    assert.deepEqual((await store.lookup({ keyId: KEY_ID, limit: 5, nextToken: page.nextToken! })).records.map((r) => r.seq), [10, 9, 8, 7, 6]);
    await trail.close();
    assert.equal(store.db.prepare('SELECT indexed_to FROM audit_index_state').pluck().get(), 15);
    const report = await verifyAudit(store, signer.publicKeyPem());
    assert.deepEqual(report.problems, []);
    assert.equal(report.recordsChecked, 15);
    assert.deepEqual((await store.lookup({ eventName: 'Decrypt' })).records.map((r) => r.seq), [11]);
    assert.deepEqual((await store.lookup({ eventSource: 'kms.amazonaws.com', limit: 2 })).records.map((r) => r.seq), [15, 14]);
    assert.deepEqual((await store.lookup({ principal: 'AKIABOB' })).records.map((r) => r.seq), [11]);
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    assert.deepEqual((await store.lookup({ startTime: t(9), endTime: t(13) })).records.map((r) => r.seq), [13, 12, 11, 10, 9]);
    store.close();
  });

  it('names each migrated record whose terms were added to, re-pointed, changed or removed, and not a deleted record', async () => {
    const signer = LocalAuditSigner.generate();
    const store = new SqliteAuditStore(await oldDatabase(signer), { synchronous: 'NORMAL' });
    await (await AuditTrail.open({ store, signer, digestIntervalMs: 0, digestEveryRecords: 0 })).close();
    dropGuards(store.db);
    store.db.exec("INSERT INTO audit_terms (kind, value, seq) VALUES ('principal', 'AKIAMALLORY', 3)");
    store.db.exec("UPDATE audit_terms SET seq = 5 WHERE seq = 11 AND kind = 'principal' AND value = 'AKIABOB'");
    store.db.exec("UPDATE audit_terms SET value = 'AKIAEVE' WHERE seq = 7 AND kind = 'principal' AND value = 'AKIAALICE'");
    store.db.exec("DELETE FROM audit_terms WHERE seq = 2 AND kind = 'name'");
    store.db.exec('DELETE FROM audit_records WHERE seq = 9');
    const problems = (await verifyAudit(store, signer.publicKeyPem())).problems;
    assert.deepEqual(
      problems.filter((p) => p.kind === 'index-mismatch'),
      [2, 3, 5, 7, 11].map((seq) => ({ kind: 'index-mismatch', seq })),
    );
    assert.ok(problems.some((p) => p.kind === 'records-deleted'));
    store.close();
  });
});

describe('SqliteAuditStore on a file that is not a database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-garbage-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("raises SQLite's error and leaves no connection (no descriptor) open", () => {
    const path = join(dir, 'audit.db');
    writeFileSync(path, Buffer.alloc(8192, 'this is not an audit trail '));
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 5; i++) assert.throws(() => new SqliteAuditStore(path), /not a database/);
    assert.equal(open(), before);
  });
});
