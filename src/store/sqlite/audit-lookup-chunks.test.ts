import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditLookupQuery } from '../../audit/audit-store.js';
import type { AuditTerm } from '../../audit/record-index.js';
import { encodeTermsColumn } from './audit-append.js';
import { SqliteAuditStore } from './audit-store.js';
import { seededRandom } from '../../common/seeded-random.js';

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


interface RandomRow {
  seq: number;
  ms: number;
  name: string;
  source: string;
  error: boolean;
  denied: boolean;
  terms: [string, string][];
}

describe('chunk index lookups, randomized against brute force', () => {
  // Values with JSON escapes and non-ASCII: the terms column is matched by its JSON text.
  const KEYS_R = ['k0', 'k1', 'k2', 'r"q', 'é\u2028', 'rare'];
  const BUCKETS = ['b0', 'b1', 'b\\2'];
  const PRINCIPALS = ['p0', 'p1', 'p2', 'p3'];
  const NAMES = ['Encrypt', 'Decrypt', 'PutObject', 'GetObject'];
  const SOURCES = ['kms.amazonaws.com', 's3.amazonaws.com'];

  function randomRows(rand: () => number, n: number): RandomRow[] {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const rows: RandomRow[] = [];
    for (let seq = 1; seq <= n; seq++) {
      const s3 = rand() < 0.3;
      const terms: [string, string][] = [];
      // `rare` on about one record in 400, so most chunks lack it.
      if (!s3) for (const k of new Set([pick(KEYS_R.slice(0, -1)), ...(rand() < 0.3 ? [pick(KEYS_R.slice(0, -1))] : [])])) terms.push(['key', k]);
      if (rand() < 0.0025) terms.push(['key', 'rare']);
      if (s3) terms.push(['bucket', pick(BUCKETS)]);
      for (const p of new Set([pick(PRINCIPALS), ...(rand() < 0.5 ? [pick(PRINCIPALS)] : [])])) terms.push(['principal', p]);
      const error = rand() < 0.1;
      rows.push({
        seq,
        // Several writers: times follow seqs only roughly (up to 40 s apart), some equal.
        ms: T0 + seq * 1000 + Math.round((rand() - 0.5) * 80) * 1000,
        name: s3 ? pick(NAMES.slice(2)) : pick(NAMES.slice(0, 2)),
        source: s3 ? 's3.amazonaws.com' : 'kms.amazonaws.com',
        error,
        denied: error && rand() < 0.5,
        terms,
      });
    }
    return rows;
  }

  function storeOf(rows: readonly RandomRow[]): SqliteAuditStore {
    const store = new SqliteAuditStore(new Database(':memory:'));
    const insert = store.db.prepare(`INSERT INTO audit_records (seq, event_time, event_ms, event_name, event_source, error_code, access_denied, event_json, prev_hash, hash, terms)
      VALUES (?, '', ?, ?, ?, ?, ?, ?, '', '', ?)`);
    store.db.transaction(() => {
      for (const r of rows) insert.run(r.seq, r.ms, r.name, r.source, r.error ? 'E' : null, r.denied ? 1 : 0, JSON.stringify({ seq: r.seq }), encodeTermsColumn(r.terms.map(([kind, value]) => ({ kind: kind as AuditTerm['kind'], value }))));
    })();
    return store;
  }

  function randomQuery(rand: () => number, rows: readonly RandomRow[]): AuditLookupQuery {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const q: AuditLookupQuery = {};
    if (rand() < 0.4) q.keyId = rand() < 0.1 ? 'absent' : pick(KEYS_R);
    if (rand() < 0.2) q.bucket = pick(BUCKETS);
    if (rand() < 0.3) q.principal = pick(PRINCIPALS);
    if (rand() < 0.2) q.eventName = pick(NAMES);
    if (rand() < 0.15) q.eventSource = pick(SOURCES);
    if (rand() < 0.2) q.errorsOnly = true;
    if (rand() < 0.1) q.accessDeniedOnly = true;
    const ms = (): number => pick(rows).ms + Math.round((rand() - 0.5) * 6) * 1000;
    if (rand() < 0.4) q.startTime = new Date(ms());
    if (rand() < 0.4) q.endTime = new Date(Math.max(ms(), q.startTime?.getTime() ?? -Infinity));
    return q;
  }

  function bruteForce(rows: readonly RandomRow[], q: AuditLookupQuery): number[] {
    const has = (r: RandomRow, kind: string, value: string | undefined): boolean => value === undefined || r.terms.some(([k, v]) => k === kind && v === value);
    return rows
      .filter(
        (r) =>
          has(r, 'key', q.keyId) &&
          has(r, 'bucket', q.bucket) &&
          has(r, 'principal', q.principal) &&
          (q.eventName === undefined || r.name === q.eventName) &&
          (q.eventSource === undefined || r.source === q.eventSource) &&
          (!q.errorsOnly || r.error) &&
          (!q.accessDeniedOnly || r.denied) &&
          (q.startTime === undefined || r.ms >= q.startTime.getTime()) &&
          (q.endTime === undefined || r.ms <= q.endTime.getTime()),
      )
      .map((r) => r.seq)
      .reverse();
  }

  // Small stores at many watermarks; one of 40 chunks (more than a page of candidate chunks) at a few.
  const CASES = [1, 2, 3, 4, 5, 6].map((seed) => ({ seed, records: 0, step: 1500, limits: 300 })).concat({ seed: 7, records: 40_000, step: 15_000, limits: 1000 });
  for (const { seed, records, step, limits } of CASES) {
    it(`seed ${seed}: every filter combination, page size and watermark (also moving between pages) finds exactly what brute force finds, newest first`, async () => {
      const rand = seededRandom(seed);
      const rows = randomRows(rand, records > 0 ? records : 1 + Math.floor(rand() * 4600));
      const writer = storeOf(rows);
      await writer.openForAppend();
      // A reader on the writer's connection: a lookup by the writer would first index everything.
      const reader = new SqliteAuditStore(writer.db, { applyPragmas: false });
      let nonEmpty = 0;
      let multiPage = 0;
      for (;;) {
        for (let i = 0; i < 25; i++) {
          const q = randomQuery(rand, rows);
          const want = bruteForce(rows, q);
          const limit = 1 + Math.floor(rand() * (rand() < 0.5 ? 8 : limits));
          // Sometimes the writer indexes between two pages of one lookup.
          const moving = rand() < 0.3;
          const got: number[] = [];
          let nextToken: string | undefined;
          let pages = 0;
          do {
            const page = await reader.lookup({ ...q, limit, ...(nextToken !== undefined ? { nextToken } : {}) });
            assert.ok(page.records.length <= limit);
            got.push(...page.records.map((r) => r.seq));
            nextToken = page.nextToken;
            pages += 1;
            if (moving) await writer.deferredIndex.indexNext(1 + Math.floor(rand() * 700));
          } while (nextToken !== undefined && pages <= rows.length + 1);
          const mark = writer.db.prepare('SELECT indexed_to FROM audit_index_state').pluck().get() as number;
          assert.deepEqual(got, want, `seed ${seed}, ${rows.length} records, watermark ${mark}, limit ${limit}, ${JSON.stringify(q)}`);
          if (want.length > 0) nonEmpty += 1;
          if (pages > 1) multiPage += 1;
        }
        for (let i = 0; i < 10; i++) {
          const t = new Date((rows[Math.floor(rand() * rows.length)]?.ms ?? T0) + Math.round((rand() - 0.5) * 4) * 1000);
          assert.equal(reader.firstSeqAtOrAfter(t), bruteForce(rows, { startTime: t }).at(-1) ?? null, `first at or after ${t.toISOString()}`);
          assert.equal(reader.lastSeqAtOrBefore(t), bruteForce(rows, { endTime: t })[0] ?? null, `last at or before ${t.toISOString()}`);
        }
        if ((await writer.deferredIndex.backlog()) === 0) break;
        await writer.deferredIndex.indexNext(1 + Math.floor(rand() * step));
      }
      assert.ok(nonEmpty > 0 && multiPage > 0, `${nonEmpty} lookups found records, ${multiPage} took several pages`);
      writer.close();
    });
  }
});
