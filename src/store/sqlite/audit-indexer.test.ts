import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditLookupQuery, AuditStore } from '../../audit/audit-store.js';
import { recordIndexOf } from '../../audit/record-index.js';
import type { AuditEvent } from '../../audit/record.js';
import { LocalAuditSigner } from '../../audit/signer.js';
import { appendMany, dropGuards, KEY_ID, sampleEvent } from '../../audit/test-support.js';
import { AuditTrail } from '../../audit/trail.js';
import { verifyAudit } from '../../audit/verify.js';
import { encodeTermsColumn } from './audit-append.js';
import { SqliteAuditStore } from './audit-store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-indexer-'));
  dirs.push(dir);
  return join(dir, 'audit.db');
}

/** Options that leave all indexing to the test (no idle timer, no backlog bound). */
const MANUAL = { digestIntervalMs: 0, digestEveryRecords: 0, indexIdleMs: 3_600_000, indexBacklog: Number.MAX_SAFE_INTEGER };

/** 60 varied events: names, sources, principals, keys, buckets, errors and times all differ across records. */
function variedEvent(i: number): AuditEvent {
  const bob = { type: 'IAMUser' as const, principalId: 'AIDABOB', arn: 'arn:aws:iam::111122223333:user/bob', accessKeyId: 'AKIABOB', accountId: '111122223333' };
  if (i % 5 === 0) {
    return sampleEvent(i, {
      eventSource: 's3.amazonaws.com',
      eventName: i % 10 === 0 ? 'PutObject' : 'GetObject',
      requestParameters: { bucketName: i % 3 === 0 ? 'training' : 'eval', key: `x${i}` },
      resources: [{ ARN: `arn:aws:s3:::${i % 3 === 0 ? 'training' : 'eval'}/x${i}`, type: 'AWS::S3::Object' }],
      ...(i % 4 === 0 ? { userIdentity: bob } : {}),
    });
  }
  return sampleEvent(i, {
    eventName: i % 3 === 0 ? 'Decrypt' : 'Encrypt',
    ...(i % 4 === 0 ? { userIdentity: bob } : {}),
    ...(i % 7 === 0 ? { errorCode: i % 14 === 0 ? 'AccessDeniedException' : 'IncorrectKeyException', errorMessage: 'x' } : {}),
    ...(i % 6 === 0 ? { requestParameters: { keyId: 'alias/other' }, resources: [] } : {}),
  });
}

/** A memory store with a trail of 20 varied records (event i at second i), checkpointed and indexed up to 12 (chunk 0). */
async function indexedUpTo12(): Promise<{ store: SqliteAuditStore; signer: LocalAuditSigner; trail: AuditTrail }> {
  const store = new SqliteAuditStore(new Database(':memory:'));
  const signer = LocalAuditSigner.generate();
  const trail = await AuditTrail.open({ store, signer, ...MANUAL });
  for (let i = 1; i <= 20; i++) await trail.append(variedEvent(i));
  await trail.checkpoint();
  await store.deferredIndex.indexNext(12);
  return { store, signer, trail };
}

const t = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const QUERIES: AuditLookupQuery[] = [
  {},
  { eventName: 'Decrypt' },
  { eventSource: 's3.amazonaws.com' },
  { keyId: KEY_ID },
  { keyId: 'alias/other' },
  { keyId: 'alias/ml-data', principal: 'AKIABOB' },
  { principal: 'arn:aws:iam::111122223333:user/bob', eventSource: 'kms.amazonaws.com' },
  { bucket: 'training' },
  { bucket: 'arn:aws:s3:::eval', principal: 'AKIAALICE' },
  { errorsOnly: true },
  { accessDeniedOnly: true, keyId: KEY_ID },
  { startTime: t(13), endTime: t(41) },
  { startTime: t(50) },
  { endTime: t(9), eventName: 'Encrypt' },
  { eventName: 'PutObject', startTime: t(25) },
  { principal: 'AKIANOBODY' },
];

/** What a lookup must return, computed by brute force from every stored event. */
function expected(events: readonly { seq: number; event: AuditEvent }[], q: AuditLookupQuery): number[] {
  const has = (x: ReturnType<typeof recordIndexOf>, kind: string, value: string) => x.terms.some((term) => term.kind === kind && term.value === value);
  return events
    .filter(({ event }) => {
      const x = recordIndexOf(event);
      return (
        (q.eventName === undefined || x.eventName === q.eventName) &&
        (q.eventSource === undefined || x.eventSource === q.eventSource) &&
        (q.keyId === undefined || has(x, 'key', q.keyId.replace(/^arn:aws:kms:[^:]*:[^:]*:key\//, ''))) &&
        (q.bucket === undefined || has(x, 'bucket', q.bucket.replace(/^arn:aws:s3:::/, ''))) &&
        (q.principal === undefined || has(x, 'principal', q.principal)) &&
        (!q.errorsOnly || x.errorCode !== null) &&
        (!q.accessDeniedOnly || x.accessDenied) &&
        (q.startTime === undefined || x.eventMs >= q.startTime.getTime()) &&
        (q.endTime === undefined || x.eventMs <= q.endTime.getTime())
      );
    })
    .map((r) => r.seq)
    .reverse();
}

/** Every page of a lookup, 7 at a time, following next tokens. */
async function allPages(store: AuditStore, q: AuditLookupQuery): Promise<number[]> {
  const seqs: number[] = [];
  let nextToken: string | undefined;
  do {
    const page = await store.lookup({ ...q, limit: 7, ...(nextToken !== undefined ? { nextToken } : {}) });
    seqs.push(...page.records.map((r) => r.seq));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return seqs;
}

describe('deferred audit index', () => {
  it('the terms column is the JSON array of [kind, value] pairs, for any value', () => {
    for (const terms of [[], [{ kind: 'key' as const, value: 'a"b\\c\u0001é\u2028' }], [{ kind: 'bucket' as const, value: '' }, { kind: 'principal' as const, value: 'arn:x' }]]) {
      assert.equal(encodeTermsColumn(terms), JSON.stringify(terms.map((t) => [t.kind, t.value])));
    }
  });

  it('lookups are exact and page the same at every watermark, from the writer and from a reader', async () => {
    const path = tempPath();
    const store = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    const trail = await AuditTrail.open({ store, signer: LocalAuditSigner.generate(), ...MANUAL });
    await Promise.all(Array.from({ length: 60 }, (_, i) => trail.append(variedEvent(i + 1))));
    const reader = new SqliteAuditStore(new Database(path, { readonly: true }), { applyPragmas: false });
    const events = (await reader.lookup({ limit: 1000 })).records.reverse();
    assert.equal(events.length, 60);
    for (const step of [0, 17, 23, 20, 1000]) {
      await store.deferredIndex.indexNext(step);
      const mark = store.db.prepare('SELECT indexed_to FROM audit_index_state').pluck().get() as number;
      for (const q of QUERIES) {
        const want = expected(events, q);
        assert.deepEqual(await allPages(reader, q), want, `reader, watermark ${mark}, ${JSON.stringify(q)}`);
      }
      for (const s of [0, 1, 17, 18, 40, 60, 61]) {
        const seqs = expected(events, { startTime: t(s) });
        assert.equal(reader.firstSeqAtOrAfter(t(s)), seqs.at(-1) ?? null, `first at or after ${s}, watermark ${mark}`);
        assert.equal(reader.lastSeqAtOrBefore(t(s)), expected(events, { endTime: t(s) })[0] ?? null, `last at or before ${s}, watermark ${mark}`);
      }
    }
    assert.ok(QUERIES.slice(1).every((q) => expected(events, q).length < 60), 'every other query filters');
    assert.equal(await store.deferredIndex.backlog(), 0);
    await trail.close();
    reader.db.close();
    store.close();
  });

  it('a lookup served by the writer indexes the backlog first; a reader sees new records at once', async () => {
    const path = tempPath();
    const store = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    const reader = new SqliteAuditStore(new Database(path, { readonly: true }), { applyPragmas: false });
    const trail = await AuditTrail.open({ store, signer: LocalAuditSigner.generate(), ...MANUAL });
    await appendMany(trail, 30);
    assert.deepEqual((await reader.lookup({ keyId: KEY_ID, limit: 2 })).records.map((r) => r.seq), [30, 29]);
    assert.equal(await store.deferredIndex.backlog(), 30, 'a reader never indexes');
    assert.deepEqual((await store.lookup({ keyId: KEY_ID, limit: 2 })).records.map((r) => r.seq), [30, 29]);
    assert.equal(await store.deferredIndex.backlog(), 0);
    await trail.close();
    reader.db.close();
    store.close();
  });

  it('verification names tail terms columns, chunk rows and watermark raises that would make lookups lie', async () => {
    const { store, signer } = await indexedUpTo12();
    assert.deepEqual((await verifyAudit(store, signer.publicKeyPem())).problems, []);
    dropGuards(store.db);
    // Seqs 1..12 are indexed, all in chunk 0; 6 and 12 are the only ones with key alias/other,
    // 10 the only PutObject; times are second i.
    store.db.exec(`UPDATE audit_records SET terms = '[]' WHERE seq = 15;
      UPDATE audit_records SET terms = NULL WHERE seq = 18;
      UPDATE audit_records SET terms = '[["key","x"]]' WHERE seq = 4;
      DELETE FROM audit_chunk_terms WHERE kind = 'key' AND value = 'alias/other';
      UPDATE audit_chunk_terms SET chunk = 1 WHERE kind = 'name' AND value = 'PutObject';
      UPDATE audit_chunk_time SET min_ms = min_ms + 2500 WHERE chunk = 0;
      INSERT INTO audit_chunk_terms (kind, value, chunk) VALUES ('key', 'planted-above-the-watermark', 3);
      UPDATE audit_index_state SET indexed_to = 14;`);
    assert.deepEqual(
      (await verifyAudit(store, signer.publicKeyPem())).problems,
      [1, 2, 3, 4, 6, 10, 12, 13, 14, 15, 18].map((seq) => ({ kind: 'index-mismatch', seq })),
    );
  });

  // Each edit alone, on a fresh trail of 20 varied records indexed up to 12 (chunk 0).
  const EDITS: { sql: string; seqs: number[] }[] = [
    { sql: "DELETE FROM audit_chunk_terms WHERE kind = 'principal' AND value = 'AKIABOB'", seqs: [4, 8, 12] },
    { sql: "DELETE FROM audit_chunk_terms WHERE kind = 'source' AND value = 's3.amazonaws.com'", seqs: [5, 10] },
    { sql: "INSERT INTO audit_chunk_terms (kind, value, chunk) VALUES ('bucket', 'planted', 0)", seqs: [1] },
    { sql: "UPDATE audit_chunk_terms SET value = 'elsewhere' WHERE kind = 'bucket' AND value = 'eval'", seqs: [1, 5, 10] },
    { sql: 'UPDATE audit_chunk_time SET max_ms = max_ms - 1 WHERE chunk = 0', seqs: [12] },
    { sql: 'UPDATE audit_chunk_time SET max_ms = max_ms + 1 WHERE chunk = 0', seqs: [1] },
    { sql: 'DELETE FROM audit_chunk_time WHERE chunk = 0', seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
    { sql: 'UPDATE audit_chunk_time SET chunk = 7 WHERE chunk = 0', seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
    { sql: "INSERT INTO audit_chunk_terms (kind, value, chunk) VALUES ('bucket', 'planted', 9)", seqs: [] },
  ];
  for (const { sql, seqs } of EDITS) {
    it(`verification: ${sql}`, async () => {
      const { store } = await indexedUpTo12();
      dropGuards(store.db);
      store.db.exec(sql);
      assert.deepEqual(await store.indexMismatches({}), seqs);
    });
  }
});

describe('deferred audit index: verification of a seq range', () => {
  // A range that starts inside chunk 0 still checks its rows: a wrong row is named at the
  // chunk's first record in the range (its first record overall lies outside it).
  const CHUNK_EDITS = [
    "INSERT INTO audit_chunk_terms (kind, value, chunk) VALUES ('bucket', 'planted', 0)",
    'UPDATE audit_chunk_time SET max_ms = max_ms + 1 WHERE chunk = 0',
    'UPDATE audit_chunk_time SET min_ms = min_ms - 1 WHERE chunk = 0',
  ];
  for (const sql of CHUNK_EDITS) {
    it(`names ${sql} within --from 5 --to 9`, async () => {
      const { store, signer, trail } = await indexedUpTo12();
      assert.deepEqual(await store.indexMismatches({ fromSeq: 5, toSeq: 9 }), []);
      dropGuards(store.db);
      store.db.exec(sql);
      assert.deepEqual(await store.indexMismatches({}), [1]);
      assert.deepEqual(await store.indexMismatches({ fromSeq: 5, toSeq: 9 }), [5]);
      assert.deepEqual((await verifyAudit(store, signer.publicKeyPem(), { fromSeq: 5, toSeq: 9 })).problems, [{ kind: 'index-mismatch', seq: 5 }]);
      assert.deepEqual(await store.indexMismatches({ fromSeq: 13 }), [], 'chunk 0 is indexed only up to 12: nothing of it is in 13..');
      await trail.close();
    });
  }
});

describe('AuditTrail drives the deferred index', () => {
  it('bounds the backlog under load, indexes the rest on close', async () => {
    const store = new SqliteAuditStore(new Database(':memory:'));
    const trail = await AuditTrail.open({ store, signer: LocalAuditSigner.generate(), ...MANUAL, indexBacklog: 100, indexChunk: 40 });
    for (let i = 0; i < 40; i++) {
      await appendMany(trail, 25, 1 + i * 25);
      assert.ok((await store.deferredIndex.backlog()) < 100 + 25, `backlog after ${(i + 1) * 25}`);
    }
    assert.ok(trail.stats().indexed >= 1000 - 125);
    await trail.close();
    assert.equal(await store.deferredIndex.backlog(), 0);
    assert.equal(trail.stats().indexed, 1000);
  });

  it('indexes when no commit happened for indexIdleMs', async () => {
    const store = new SqliteAuditStore(new Database(':memory:'));
    const trail = await AuditTrail.open({ store, signer: LocalAuditSigner.generate(), ...MANUAL, indexIdleMs: 1, indexChunk: 7 });
    await appendMany(trail, 30);
    for (let i = 0; i < 500 && (await store.deferredIndex.backlog()) > 0; i++) await new Promise((r) => setTimeout(r, 2));
    assert.equal(await store.deferredIndex.backlog(), 0);
    assert.equal(trail.stats().indexed, 30);
    await trail.close();
  });

  it('an indexing failure never fails an append; it is reported, and retried only after another bound', async () => {
    const inner = new SqliteAuditStore(new Database(':memory:'));
    const errors: unknown[] = [];
    const store: AuditStore = {
      head: () => inner.head(),
      lastDigest: () => inner.lastDigest(),
      appendBatch: (records) => inner.appendBatch(records),
      appendDigest: (d) => inner.appendDigest(d),
      lookup: (q) => inner.lookup(q),
      records: (range) => inner.records(range),
      digests: () => inner.digests(),
      deferredIndex: { backlog: () => Promise.resolve(0), indexNext: () => Promise.reject(new Error('disk full')) },
    };
    const trail = await AuditTrail.open({ store, signer: LocalAuditSigner.generate(), ...MANUAL, indexBacklog: 30, onBackgroundError: (e) => errors.push(e) });
    for (let i = 0; i < 10; i++) await appendMany(trail, 10, 1 + i * 10);
    assert.equal(trail.head().seq, 100);
    // Tried at 30 unindexed records, then at 60, then at 90.
    assert.equal(errors.length, 3);
    await trail.close();
  });
});
