import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditLookupQuery } from '../../audit/audit-store.js';
import { SqliteAuditStore } from './audit-store.js';

const T0 = Date.UTC(2026, 0, 1);
const KEYS = ['k0', 'k1', 'k2', 'k3', 'rare'];

/**
 * A store of `n` synthetic records written straight into audit_records (lookups read only the
 * columns, the terms column and event_json; the chain is not verified here). Record i: time
 * T0 + `seconds` s (by default (i * 7919) mod 3001: not monotonic in seq, as with several writers), key
 * k(i mod 4) or `rare` for the seqs in `rare`, principal p(i mod 3), a Decrypt every 5th, an
 * error every 11th.
 */
function syntheticStore(n: number, rare: readonly number[], seconds = '(i * 7919) % 3001'): SqliteAuditStore {
  const store = new SqliteAuditStore(new Database(':memory:'));
  store.db.exec(`CREATE TEMP TABLE rare (seq INTEGER PRIMARY KEY); ${rare.map((s) => `INSERT INTO rare VALUES (${s});`).join('')}`);
  store.db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})
    INSERT INTO audit_records (seq, event_time, event_ms, event_name, event_source, error_code, access_denied, event_json, prev_hash, hash, terms)
    SELECT i, '', ${T0} + (${seconds}) * 1000, CASE WHEN i % 5 = 0 THEN 'Decrypt' ELSE 'Encrypt' END, 'kms.amazonaws.com',
      CASE WHEN i % 11 = 0 THEN 'AccessDeniedException' END, i % 11 = 0, json_object('seq', i), '', '',
      json_array(json_array('key', CASE WHEN i IN (SELECT seq FROM rare) THEN 'rare' ELSE 'k' || (i % 4) END), json_array('principal', 'p' || (i % 3)))
    FROM n`);
  return store;
}

interface Row {
  seq: number;
  ms: number;
  name: string;
  error: boolean;
  terms: string[];
}

/** Brute force over every record, newest first. */
function expected(rows: readonly Row[], q: AuditLookupQuery): number[] {
  return rows
    .filter(
      (r) =>
        (q.keyId === undefined || r.terms.includes(`key:${q.keyId}`)) &&
        (q.principal === undefined || r.terms.includes(`principal:${q.principal}`)) &&
        (q.eventName === undefined || r.name === q.eventName) &&
        (!q.errorsOnly || r.error) &&
        (q.startTime === undefined || r.ms >= q.startTime.getTime()) &&
        (q.endTime === undefined || r.ms <= q.endTime.getTime()),
    )
    .map((r) => r.seq)
    .sort((a, b) => b - a);
}

async function allPages(store: SqliteAuditStore, q: AuditLookupQuery, limit: number): Promise<number[]> {
  const seqs: number[] = [];
  let nextToken: string | undefined;
  do {
    const page = await store.lookup({ ...q, limit, ...(nextToken !== undefined ? { nextToken } : {}) });
    seqs.push(...page.records.map((r) => r.seq));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return seqs;
}

/** Seqs up to `upTo`, newest first, whose time is second 100 (i * 7919 mod 3001 = 100). */
const expectedAt100 = (upTo: number): number[] => Array.from({ length: upTo }, (_, i) => upTo - i).filter((s) => (s * 7919) % 3001 === 100);
const at = (s: number): Date => new Date(T0 + s * 1000);

describe('chunk index lookups', () => {
  it('are exact across chunks, at watermarks on and between chunk bounds, with times out of seq order', async () => {
    const store = syntheticStore(3500, [7, 1500, 3333]);
    await store.openForAppend();
    const rows = (store.db.prepare('SELECT seq, event_ms AS ms, event_name AS name, error_code IS NOT NULL AS error, terms FROM audit_records').all() as { seq: number; ms: number; name: string; error: number; terms: string }[]).map(
      (r) => ({ seq: r.seq, ms: r.ms, name: r.name, error: r.error === 1, terms: (JSON.parse(r.terms) as [string, string][]).map(([k, v]) => `${k}:${v}`) }),
    );
    const queries: AuditLookupQuery[] = [
      { keyId: 'rare' },
      { keyId: 'k1', principal: 'p2', eventName: 'Decrypt' },
      { principal: 'p0', errorsOnly: true },
      { startTime: at(100), endTime: at(130) },
      { startTime: at(2990) },
      { endTime: at(40), keyId: 'k2' },
      { eventName: 'Decrypt', startTime: at(1000), endTime: at(1400) },
      { keyId: 'nowhere' },
    ];
    for (const step of [0, 1000, 24, 1024, 1, 1000, 10_000]) {
      await store.deferredIndex.indexNext(step);
      const mark = store.db.prepare('SELECT indexed_to FROM audit_index_state').pluck().get() as number;
      for (const q of queries) assert.deepEqual(await allPages(store, q, 97), expected(rows, q), `watermark ${mark}, ${JSON.stringify(q)}`);
      for (const s of [-1, 0, 1, 1500, 2999, 3000, 3001]) {
        assert.equal(store.firstSeqAtOrAfter(at(s)), expected(rows, { startTime: at(s) }).at(-1) ?? null, `first at or after ${s}, watermark ${mark}`);
        assert.equal(store.lastSeqAtOrBefore(at(s)), expected(rows, { endTime: at(s) })[0] ?? null, `last at or before ${s}, watermark ${mark}`);
      }
    }
    assert.ok(queries.slice(0, -1).every((q) => expected(rows, q).length > 0), 'every query but the last finds records');
    assert.equal(await store.deferredIndex.backlog(), 0);
    store.close();
  });

  it('a page over 120,000 records reads only the chunks that hold the rare term or meet the time range', async () => {
    const writer = syntheticStore(120_000, [5, 60_000, 110_000]);
    await writer.openForAppend();
    await writer.deferredIndex.indexNext(100_000);
    // A reader on the same connection: a lookup by the writer would first index the tail.
    const store = new SqliteAuditStore(writer.db, { applyPragmas: false });
    const probe = { chunksScanned: 0 };
    store.lookupProbe = probe;
    const scanned = async (q: AuditLookupQuery): Promise<{ seqs: number[]; chunks: number }> => {
      probe.chunksScanned = 0;
      const seqs = (await store.lookup(q)).records.map((r) => r.seq);
      return { seqs, chunks: probe.chunksScanned };
    };
    // 110,000 is in the unindexed tail; 60,000 and 5 in two of the 98 indexed chunks.
    assert.deepEqual(await scanned({ keyId: 'rare', limit: 50 }), { seqs: [110_000, 60_000, 5], chunks: 2 });
    assert.deepEqual(await scanned({ keyId: 'rare', limit: 1 }), { seqs: [110_000], chunks: 1 }, 'the page is full after the first chunk');
    // A common term: the page fills from the newest chunk below the token.
    const deep = Buffer.from(JSON.stringify({ v: 1, before: 50_001 })).toString('base64url');
    const common = await scanned({ keyId: 'k1', limit: 50, nextToken: deep });
    assert.equal(common.chunks, 1);
    assert.deepEqual(common.seqs, Array.from({ length: 50 }, (_, i) => 49_997 - 4 * i));
    // No term: the chunks whose time span meets the range (scattered times: most do), newest first, until the page is full.
    const timed = await scanned({ startTime: at(100), endTime: at(100), limit: 12 });
    assert.deepEqual(timed.seqs, expectedAt100(120_000).slice(0, 12));
    assert.ok(timed.chunks > 0 && timed.chunks < 98 / 2, `${timed.chunks} chunks for 12 records`);
    // Nothing to narrow by: no chunk is walked, the records are read newest first.
    assert.deepEqual(await scanned({ errorsOnly: true, limit: 3 }), { seqs: [119_999, 119_988, 119_977], chunks: 0 });
    writer.close();
  });

  it('a time range reads only the chunks whose span meets it when times follow seqs', async () => {
    const store = syntheticStore(20_000, [], 'i');
    await store.openForAppend();
    await store.deferredIndex.indexNext(20_000);
    const probe = { chunksScanned: 0 };
    store.lookupProbe = probe;
    const page = await store.lookup({ startTime: at(5000), endTime: at(5200), limit: 50 });
    assert.deepEqual(page.records.map((r) => r.seq), Array.from({ length: 50 }, (_, i) => 5200 - i));
    assert.equal(probe.chunksScanned, 1, 'seqs 5121..5200 fill the page from chunk 5');
    probe.chunksScanned = 0;
    const rest = await store.lookup({ startTime: at(5000), endTime: at(5200), limit: 1000, nextToken: page.nextToken! });
    assert.deepEqual(rest.records.map((r) => r.seq), Array.from({ length: 151 }, (_, i) => 5150 - i));
    assert.equal(probe.chunksScanned, 2, 'chunks 5 and 4, no other');
    assert.equal(store.firstSeqAtOrAfter(at(5000)), 5000);
    assert.equal(store.lastSeqAtOrBefore(at(5200)), 5200);
    store.close();
  });
});
