// The index-mismatch check of verifyAudit on a file in an older index layout, which only
// readers see (its writer migrates it to chunks; audit-index-check-chunks.ts checks those).
// What lookups rely on, per record:
//   - its columns (name, source, time, error, denial) and, above the watermark, its terms
//     column: compared with the same values recomputed from event_json;
//   - up to the watermark, its audit_terms rows (key/bucket/principal terms, name, source)
//     and its audit_time row: each expected row is looked up by primary key, and the rows of
//     the range are counted once; only when rows are left over (someone inserted or
//     re-pointed one) are they walked to name the records they were put on.
// There is no index by seq on audit_terms: a second b-tree would cost every indexed term a
// second insert just so that verification could list a record's terms. Streaming: records
// are read a page at a time, and the walk keeps a bounded cache.
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { ChainedRecord } from '../../audit/chain.js';
import { recordIndexOf } from '../../audit/record-index.js';
import type { AuditRecordIndex } from '../../audit/record-index.js';
import type { AuditEvent } from '../../audit/record.js';
import { encodeTermsColumn } from './audit-append.js';
import type { AuditIndexLayout } from './audit-indexer.js';

const PAGE = 1000;
/** Seq range bounds, both inclusive. */
export interface CheckRange {
  from: number;
  to: number;
}

type Row = { n: string; s: string; t: number; e: string | null; d: number; terms?: string | null };

/**
 * Seqs in `range` whose lookup columns, terms column or index rows disagree with their
 * event_json, ascending and without duplicates. Index rows whose seq has no record are not
 * reported (the chain check reports the deletion), nor rows above the watermark (lookups
 * never read them). Reads only; never throws on odd stored content (unparsable JSON is a
 * mismatch). `layout` must be read in the same snapshot as the records.
 */
export async function findIndexMismatches(
  db: SqliteDatabase,
  range: CheckRange,
  records: AsyncIterable<ChainedRecord>,
  layout: AuditIndexLayout,
): Promise<number[]> {
  if (layout.kind === 'chunks') throw new TypeError('a chunk index is checked by findChunkIndexMismatches');
  const deferred = layout.kind === 'per-record';
  const indexedTo = deferred ? layout.indexedTo : Number.MAX_SAFE_INTEGER;
  const hasTerm = db.prepare('SELECT 1 FROM audit_terms WHERE kind = ? AND value = ? AND seq = ?').pluck();
  const hasTime = deferred ? db.prepare('SELECT 1 FROM audit_time WHERE event_ms = ? AND seq = ?').pluck() : undefined;
  const colStmt = db.prepare(
    `SELECT event_name AS n, event_source AS s, event_ms AS t, error_code AS e, access_denied AS d${deferred ? ', terms' : ''} FROM audit_records WHERE seq = ?`,
  );
  const bad = new Set<number>();
  const found = { terms: 0, times: 0 };
  for await (const r of records) {
    const index = indexOfJson(r.eventJson);
    const row = colStmt.get(r.seq) as Row | undefined;
    if (!index || !row || !columnsMatch(row, index, deferred && r.seq > indexedTo)) bad.add(r.seq);
    if (!index || r.seq > indexedTo) continue;
    for (const t of expectedTerms(index, deferred)) {
      if (hasTerm.get(t.kind, t.value, r.seq) === undefined) bad.add(r.seq);
      else found.terms += 1;
    }
    if (hasTime === undefined) continue;
    if (hasTime.get(index.eventMs, r.seq) === undefined) bad.add(r.seq);
    else found.times += 1;
  }
  const upTo = { from: range.from, to: Math.min(range.to, indexedTo) };
  const count = (table: string): number => db.prepare(`SELECT count(*) FROM ${table} WHERE seq >= ? AND seq <= ?`).pluck().get(upTo.from, upTo.to) as number;
  if (upTo.to >= upTo.from && count('audit_terms') > found.terms) for (const seq of extraTermSeqs(db, upTo, deferred)) bad.add(seq);
  if (deferred && upTo.to >= upTo.from && count('audit_time') > found.times) for (const seq of extraTimeSeqs(db, upTo)) bad.add(seq);
  return [...bad].sort((a, b) => a - b);
}

/** Columns as recomputed; the terms column must match where lookups read it (the unindexed tail), and wherever it is set. */
function columnsMatch(row: Row, x: AuditRecordIndex, tail: boolean): boolean {
  if (row.n !== x.eventName || row.s !== x.eventSource || row.t !== x.eventMs || row.e !== x.errorCode || row.d !== (x.accessDenied ? 1 : 0)) return false;
  if (row.terms === undefined) return true; // legacy layout: no terms column
  // NULL below the watermark: a record indexed by older code, whose index rows are checked directly.
  if (row.terms === null) return !tail;
  return row.terms === encodeTermsColumn(x.terms);
}

/** The audit_terms rows a record must have: its terms, and in the deferred layout its name and source. */
function expectedTerms(x: AuditRecordIndex, deferred: boolean): { kind: string; value: string }[] {
  return deferred ? [...x.terms, { kind: 'name', value: x.eventName }, { kind: 'source', value: x.eventSource }] : x.terms;
}

/** Seqs of records carrying an index row their event does not yield; one keyset walk over audit_terms. */
function extraTermSeqs(db: SqliteDatabase, range: CheckRange, deferred: boolean): Set<number> {
  const page = db.prepare(
    `SELECT kind, value, seq FROM audit_terms WHERE (kind, value, seq) > (?, ?, ?) AND seq >= ? AND seq <= ?
     ORDER BY kind, value, seq LIMIT ${PAGE}`,
  );
  const expected = expectedBySeq(db, (x) => new Set(expectedTerms(x, deferred).map((t) => `${t.kind}\u0000${t.value}`)));
  const out = new Set<number>();
  let after: [string, string, number] = ['', '', -1];
  for (;;) {
    const rows = page.all(...after, range.from, range.to) as { kind: string; value: string; seq: number }[];
    for (const t of rows) {
      const terms = expected(t.seq);
      if (terms && !terms.has(`${t.kind}\u0000${t.value}`)) out.add(t.seq);
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return out;
    after = [last.kind, last.value, last.seq];
  }
}

/** Seqs of records with an audit_time row at another time than their event's; one keyset walk. */
function extraTimeSeqs(db: SqliteDatabase, range: CheckRange): Set<number> {
  const page = db.prepare(
    `SELECT event_ms AS ms, seq FROM audit_time WHERE (event_ms, seq) > (?, ?) AND seq >= ? AND seq <= ? ORDER BY event_ms, seq LIMIT ${PAGE}`,
  );
  const expected = expectedBySeq(db, (x) => x.eventMs);
  const out = new Set<number>();
  let after: [number, number] = [Number.MIN_SAFE_INTEGER, -1];
  for (;;) {
    const rows = page.all(...after, range.from, range.to) as { ms: number; seq: number }[];
    for (const t of rows) {
      const ms = expected(t.seq);
      if (ms !== null && ms !== t.ms) out.add(t.seq);
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return out;
    after = [last.ms, last.seq];
  }
}

/** A bounded cache of `of(index)` by seq; null when the record is absent (reported by the chain check) or unreadable (already reported). */
function expectedBySeq<T>(db: SqliteDatabase, of: (x: AuditRecordIndex) => T): (seq: number) => T | null {
  const jsonAt = db.prepare('SELECT event_json FROM audit_records WHERE seq = ?').pluck();
  const cache = new Map<number, T | null>();
  return (seq) => {
    let v = cache.get(seq);
    if (v === undefined) {
      const json = jsonAt.get(seq) as string | undefined;
      const index = json === undefined ? null : indexOfJson(json);
      v = index ? of(index) : null;
      if (cache.size >= 4096) cache.clear();
      cache.set(seq, v);
    }
    return v;
  };
}

/** The index recomputed from a stored event_json, or null when it does not parse. Pure. */
export function indexOfJson(json: string): AuditRecordIndex | null {
  try {
    return recordIndexOf(JSON.parse(json) as AuditEvent);
  } catch {
    return null;
  }
}
