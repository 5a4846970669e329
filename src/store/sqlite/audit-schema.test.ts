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
import { encodeTermsColumn } from './audit-append.js';
import { SqliteAuditStore } from './audit-store.js';
import { AUDIT_PAGE_SIZE } from './audit-schema.js';
import { encodeAuditBatch } from './audit-writer-client.js';
import { SqliteAuditWriter } from './audit-writer.js';

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
const tableNames = (db: Database.Database): string[] => db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
const indexNames = (db: Database.Database): string[] =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'audit_%' ORDER BY name").pluck().all() as string[];

/** A new audit.db file (WAL) with `schema`, in a directory removed after the tests. */
function databaseWith(schema: string): { path: string; db: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-schema-'));
  dirs.push(dir);
  const path = join(dir, 'audit.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(schema);
  return { path, db };
}

/** Writes the chain head `head` and a digest over 1..`digested`, signed by `signer`, as the old code did; closes `db`. */
async function finishDatabase(db: Database.Database, signer: LocalAuditSigner, head: ChainHead, digested: ChainHead): Promise<void> {
  db.prepare('INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, ?, ?)').run(head.seq, head.hash);
  const payload = { digestVersion: 1 as const, keyId: signer.keyId, fromSeq: 1, toSeq: digested.seq, startPrevHash: GENESIS_HASH, lastHash: digested.hash, previousDigestSignature: null, time: new Date(0).toISOString() };
  const signed = await signDigest(payload, signer);
  db.prepare('INSERT INTO audit_digests (from_seq, to_seq, payload_json, signature) VALUES (1, ?, ?, ?)').run(digested.seq, signed.payloadJson, signed.signature);
  db.close();
}

/** An audit.db as older code wrote it: 12 records (11 by bob, a Decrypt) and a digest over 1..10. */
async function oldDatabase(signer: LocalAuditSigner): Promise<string> {
  const { path, db } = databaseWith(OLD_SCHEMA);
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
  await finishDatabase(db, signer, head, digested);
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
    assert.throws(() => store.db.exec('DELETE FROM audit_chunk_time'), /append-only/);
    assert.throws(() => store.db.exec("UPDATE audit_chunk_terms SET chunk = 1"), /append-only/);
    assert.deepEqual(tableNames(store.db).filter((n) => n === 'audit_terms' || n === 'audit_time'), [], 'old index tables dropped');
    assert.equal(store.db.prepare('SELECT count(*) FROM audit_records WHERE terms IS NULL').pluck().get(), 0, 'terms column filled');
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

  it('a migration that fails part-way changes nothing: terms column, chunk tables and the append-only guard are as before', async () => {
    const signer = LocalAuditSigner.generate();
    const store = new SqliteAuditStore(await oldDatabase(signer), { synchronous: 'NORMAL' });
    const before = schemaOf(store.db);
    // Fails the filling of the terms column after some records were filled (its guard dropped by then).
    store.db.exec("CREATE TEMP TRIGGER fail_fill AFTER UPDATE ON main.audit_records WHEN NEW.seq = 5 BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    await assert.rejects(store.openForAppend(), /injected failure/);
    assert.equal(schemaOf(store.db), before, 'no column, table, index or trigger changed');
    assert.equal(store.db.inTransaction, false);
    assert.throws(() => store.db.exec("UPDATE audit_records SET event_name = 'x' WHERE seq = 1"), /append-only/);
    store.db.exec('DROP TRIGGER temp.fail_fill');
    await store.openForAppend();
    assert.equal(store.db.prepare('SELECT count(*) FROM audit_records WHERE terms IS NULL').pluck().get(), 0);
    assert.throws(() => store.db.exec("UPDATE audit_records SET event_name = 'x' WHERE seq = 1"), /append-only/);
    assert.deepEqual((await verifyAudit(store, signer.publicKeyPem())).problems, []);
    store.close();
  });

  it('names each migrated record whose chunk rows were added to, re-pointed, changed or removed, and not a deleted record', async () => {
    const signer = LocalAuditSigner.generate();
    const store = new SqliteAuditStore(await oldDatabase(signer), { synchronous: 'NORMAL' });
    await (await AuditTrail.open({ store, signer, digestIntervalMs: 0, digestEveryRecords: 0 })).close();
    assert.deepEqual(await store.indexMismatches({}), []);
    dropGuards(store.db);
    // All 12 records are in chunk 0; 11 is the only one by bob and the only Decrypt.
    store.db.exec("INSERT INTO audit_chunk_terms (kind, value, chunk) VALUES ('principal', 'AKIAMALLORY', 0)");
    store.db.exec("UPDATE audit_chunk_terms SET chunk = 5 WHERE kind = 'principal' AND value = 'AKIABOB'");
    store.db.exec("UPDATE audit_chunk_terms SET value = 'Sign' WHERE kind = 'name' AND value = 'Decrypt'");
    store.db.exec("UPDATE audit_records SET terms = '[]' WHERE seq = 7");
    const mismatches = async (): Promise<number[]> =>
      (await verifyAudit(store, signer.publicKeyPem())).problems.flatMap((p) => (p.kind === 'index-mismatch' ? [p.seq] : []));
    // The planted row is named at the chunk's first record, the rows moved or changed at the record they belong to.
    assert.deepEqual(await mismatches(), [1, 7, 11]);
    // With a record deleted the chunk's rows are a superset (the chain reports the deletion); what lookups would miss is still named.
    store.db.exec('DELETE FROM audit_records WHERE seq = 9');
    assert.deepEqual(await mismatches(), [7, 11]);
    assert.ok((await verifyAudit(store, signer.publicKeyPem())).problems.some((p) => p.kind === 'records-deleted'));
    store.close();
  });
});

// The schema as the per-record deferred index wrote it (before the chunk index): audit_terms
// one row per term per record, audit_time one row per record, up to the watermark.
const PER_RECORD_SCHEMA = `
CREATE TABLE audit_records (seq INTEGER PRIMARY KEY, event_time TEXT NOT NULL, event_ms INTEGER NOT NULL, event_name TEXT NOT NULL,
  event_source TEXT NOT NULL, error_code TEXT, access_denied INTEGER NOT NULL, event_json TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, terms TEXT) STRICT;
CREATE TABLE audit_terms (kind TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (kind, value, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE audit_time (event_ms INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (event_ms, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE audit_index_state (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_to INTEGER NOT NULL) STRICT;
CREATE TABLE audit_digests (digest_no INTEGER PRIMARY KEY, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, payload_json TEXT NOT NULL, signature TEXT NOT NULL) STRICT;
CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL, last_hash TEXT NOT NULL) STRICT;
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;
CREATE TRIGGER audit_terms_no_delete BEFORE DELETE ON audit_terms BEGIN SELECT RAISE(ABORT, 'audit_terms is append-only'); END;
CREATE TRIGGER audit_time_no_delete BEFORE DELETE ON audit_time BEGIN SELECT RAISE(ABORT, 'audit_time is append-only'); END;`;

/**
 * An audit.db as the per-record index wrote it: 1,100 records (two chunks' worth; every 7th by
 * bob, every 100th a Decrypt under key alias/other), indexed up to `indexedTo` by the same
 * set-based SQL that code ran, and a digest over all of them.
 */
async function perRecordDatabase(signer: LocalAuditSigner, indexedTo: number): Promise<string> {
  const { path, db } = databaseWith(PER_RECORD_SCHEMA);
  const insert = db.prepare('INSERT INTO audit_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  let head: ChainHead = { seq: 0, hash: GENESIS_HASH };
  db.transaction(() => {
    for (let i = 1; i <= 1100; i++) {
      const bob = i % 7 === 0 ? { userIdentity: { type: 'IAMUser' as const, accessKeyId: 'AKIABOB' } } : {};
      const other = i % 100 === 0 ? { eventName: 'Decrypt', requestParameters: { keyId: 'alias/other' }, resources: [] } : {};
      const { json, index: x } = encodeAuditEvent(sampleEvent(i, { ...bob, ...other }));
      const r = chainRecord(head, json);
      insert.run(r.seq, x.eventTime, x.eventMs, x.eventName, x.eventSource, x.errorCode, x.accessDenied ? 1 : 0, r.eventJson, r.prevHash, r.hash, encodeTermsColumn(x.terms));
      head = r;
    }
  })();
  const range = 'WHERE r.seq > 0 AND r.seq <= @to';
  db.prepare(`INSERT INTO audit_terms (kind, value, seq) SELECT j.value ->> 0, j.value ->> 1, r.seq FROM audit_records r, json_each(r.terms) j ${range}
    UNION ALL SELECT 'name', event_name, seq FROM audit_records r ${range} UNION ALL SELECT 'source', event_source, seq FROM audit_records r ${range}`).run({ to: indexedTo });
  db.prepare(`INSERT INTO audit_time (event_ms, seq) SELECT event_ms, seq FROM audit_records r ${range}`).run({ to: indexedTo });
  db.prepare('INSERT INTO audit_index_state (id, indexed_to) VALUES (1, ?)').run(indexedTo);
  await finishDatabase(db, signer, head, head);
  return path;
}

describe('audit schema: a store written with the per-record lookup index', () => {
  const at = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  const bobs = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => to - i).filter((s) => s % 7 === 0);
  async function checkLookups(store: SqliteAuditStore): Promise<void> {
    assert.deepEqual((await store.lookup({ keyId: 'alias/other' })).records.map((r) => r.seq), [1100, 1000, 900, 800, 700, 600, 500, 400, 300, 200, 100]);
    assert.deepEqual((await store.lookup({ eventName: 'Decrypt', principal: 'AKIABOB' })).records.map((r) => r.seq), [700]);
    const page = await store.lookup({ principal: 'AKIABOB', limit: 40 });
    assert.deepEqual(page.records.map((r) => r.seq), bobs(1, 1100).slice(0, 40));
    assert.deepEqual((await store.lookup({ principal: 'AKIABOB', limit: 40, nextToken: page.nextToken! })).records.map((r) => r.seq), bobs(1, 1100).slice(40, 80));
    assert.deepEqual((await store.lookup({ startTime: at(1020), endTime: at(1030), keyId: KEY_ID })).records.map((r) => r.seq), [1030, 1029, 1028, 1027, 1026, 1025, 1024, 1023, 1022, 1021, 1020]);
    assert.equal(store.firstSeqAtOrAfter(at(1030)), 1030);
    assert.equal(store.lastSeqAtOrBefore(at(1030)), 1030);
    assert.equal(store.firstSeqAtOrAfter(at(5000)), null);
  }

  it('a reader verifies and looks up as the file is, and leaves it alone', async () => {
    const signer = LocalAuditSigner.generate();
    const db = new Database(await perRecordDatabase(signer, 1030));
    const before = schemaOf(db);
    const store = new SqliteAuditStore(db, { applyPragmas: false });
    assert.deepEqual((await verifyAudit(store, signer.publicKeyPem())).problems, []);
    await checkLookups(store);
    assert.equal(await store.deferredIndex.indexNext(100), 0, 'a reader never indexes');
    assert.equal(schemaOf(db), before);
    db.close();
  });

  it('the writer migrates once: chunk index up to the watermark, old tables dropped; verifies, looks up, indexes on', async () => {
    const signer = LocalAuditSigner.generate();
    const store = new SqliteAuditStore(await perRecordDatabase(signer, 1030), { synchronous: 'NORMAL' });
    await store.openForAppend();
    assert.equal(store.db.prepare('SELECT indexed_to FROM audit_index_state').pluck().get(), 1030);
    assert.deepEqual(tableNames(store.db).filter((n) => n === 'audit_terms' || n === 'audit_time'), []);
    assert.deepEqual(store.db.prepare('SELECT chunk, min_ms, max_ms FROM audit_chunk_time ORDER BY chunk').raw().all(), [
      [0, at(1).getTime(), at(1024).getTime()],
      [1, at(1025).getTime(), at(1030).getTime()],
    ]);
    assert.deepEqual(store.db.prepare("SELECT chunk FROM audit_chunk_terms WHERE kind = 'key' AND value = 'alias/other'").pluck().all(), [0]);
    assert.deepEqual((await verifyAudit(store, signer.publicKeyPem())).problems, []);
    await checkLookups(store);
    assert.equal(await store.deferredIndex.indexNext(10_000), 0, 'the lookups served by the writer indexed the backlog');
    assert.deepEqual(store.db.prepare("SELECT chunk FROM audit_chunk_terms WHERE kind = 'key' AND value = 'alias/other'").pluck().all(), [0, 1]);
    await checkLookups(store);
    assert.deepEqual((await verifyAudit(store, signer.publicKeyPem())).problems, []);
    const rows = store.db.prepare('SELECT count(*) FROM audit_chunk_terms').pluck().get();
    await store.openForAppend();
    assert.equal(store.db.prepare('SELECT count(*) FROM audit_chunk_terms').pluck().get(), rows, 'idempotent');
    store.close();
  });
});

describe('audit schema guards on the chunk index', () => {
  it('a chunk span only widens, chunk terms and spans are never deleted, the watermark never lowers', async () => {
    const store = new SqliteAuditStore(new Database(':memory:'));
    const trail = await AuditTrail.open({ store, signer: LocalAuditSigner.generate(), digestIntervalMs: 0, digestEveryRecords: 0, indexIdleMs: 3_600_000 });
    await appendMany(trail, 5);
    await trail.close();
    const span = (): unknown => store.db.prepare('SELECT chunk, min_ms AS min, max_ms AS max FROM audit_chunk_time').all();
    const t = (s: number): number => Date.UTC(2026, 0, 1, 0, 0, s);
    assert.deepEqual(span(), [{ chunk: 0, min: t(1), max: t(5) }]);
    for (const sql of [
      'UPDATE audit_chunk_time SET min_ms = min_ms + 1',
      'UPDATE audit_chunk_time SET max_ms = max_ms - 1',
      'UPDATE audit_chunk_time SET min_ms = min_ms - 1, max_ms = max_ms - 1',
      'UPDATE audit_chunk_time SET chunk = 1',
      'INSERT INTO audit_chunk_time (chunk, min_ms, max_ms) VALUES (0, 0, 0) ON CONFLICT (chunk) DO UPDATE SET max_ms = excluded.max_ms',
    ]) {
      assert.throws(() => store.db.exec(sql), /only widens/, sql);
    }
    assert.throws(() => store.db.exec('DELETE FROM audit_chunk_time'), /append-only/);
    assert.throws(() => store.db.exec('DELETE FROM audit_chunk_terms'), /append-only/);
    assert.throws(() => store.db.exec("UPDATE audit_chunk_terms SET value = 'x'"), /append-only/);
    assert.throws(() => store.db.exec('UPDATE audit_index_state SET indexed_to = 4'), /only increases/);
    assert.throws(() => store.db.exec('DELETE FROM audit_index_state'), /only increases/);
    assert.deepEqual(span(), [{ chunk: 0, min: t(1), max: t(5) }]);
    // What the indexer does: widen.
    store.db.exec('UPDATE audit_chunk_time SET min_ms = min_ms - 1, max_ms = max_ms + 1');
    assert.deepEqual(span(), [{ chunk: 0, min: t(1) - 1, max: t(5) + 1 }]);
    store.close();
  });
});

describe('audit.db page size', () => {
  const pageSize = (path: string): unknown => {
    const db = new Database(path, { readonly: true });
    try {
      return db.pragma('page_size', { simple: true });
    } finally {
      db.close();
    }
  };
  const appendThroughWriter = async (path: string, store: SqliteAuditStore, records: number): Promise<void> => {
    await store.prepareForWriters();
    const w = new SqliteAuditWriter(path, { synchronous: 'NORMAL' });
    w.commit(encodeAuditBatch(Array.from({ length: records }, (_, i) => encodeAuditEvent(sampleEvent(i + 1)))));
    assert.equal(w.indexNext(records), records);
    w.close();
    const report = await verifyAudit(store, LocalAuditSigner.generate().publicKeyPem());
    assert.equal(report.intact, true, JSON.stringify(report.problems));
    assert.equal(report.lastSeq, records);
  };

  it('a new file gets AUDIT_PAGE_SIZE pages (set before WAL fixes the header)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-schema-'));
    dirs.push(dir);
    const path = join(dir, 'audit.db');
    const store = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    assert.equal(AUDIT_PAGE_SIZE, 16_384);
    assert.equal(store.db.pragma('page_size', { simple: true }), AUDIT_PAGE_SIZE);
    await appendThroughWriter(path, store, 40);
    store.close();
    assert.equal(pageSize(path), AUDIT_PAGE_SIZE);
  });

  it('a file created with 4 KiB pages keeps them and is written and verified as before', async () => {
    const { path, db } = databaseWith('');
    db.close();
    const store = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    assert.equal(store.db.pragma('page_size', { simple: true }), 4096);
    await appendThroughWriter(path, store, 40);
    store.close();
    assert.equal(pageSize(path), 4096);
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
