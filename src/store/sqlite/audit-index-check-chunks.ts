// The index-mismatch check of verifyAudit on the chunk index. What lookups rely on:
//   - per record: its columns (name, source, time, error, denial) and its terms column, which
//     lookups filter every candidate chunk's records by: compared with the same values
//     recomputed from event_json;
//   - per chunk up to the watermark: its audit_chunk_terms rows must be exactly the distinct
//     terms (key/bucket/principal, name, source) of its records up to the watermark, and its
//     audit_chunk_time row exactly their time span.
// A missing term row is reported at every record that yields the term (lookups for it would
// skip them), a span too narrow at every record outside it, a row no record yields (added or
// re-pointed) or a span too wide at the chunk's first record in the range checked (so that a
// range starting inside the chunk still names it). Each expected row is looked up by
// primary key and the rows of the range are counted once; only when rows are left over are
// they walked. Streaming: records are read a page at a time, one chunk's state kept at once.
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { AuditRecordIndex } from '../../audit/record-index.js';
import { encodeTermsColumn } from './audit-append.js';
import { AUDIT_CHUNK_SEQS } from './audit-schema.js';
import { indexOfJson, type CheckRange } from './audit-index-check.js';

const PAGE = 1000;

type Row = { seq: number; json: string; n: string; s: string; t: number; e: string | null; d: number; terms: string | null };

/** What the records of one chunk up to the watermark yield, with the seqs to report. */
interface ChunkState {
  chunk: number;
  /** The record that a wrong chunk-wide row is named at: the chunk's first in the range checked. */
  first: number;
  /** The chunk's last seq up to the watermark. */
  last: number;
  terms: Map<string, number[]>;
  times: { seq: number; ms: number }[];
}

const chunkOf = (seq: number): number => Math.floor((seq - 1) / AUDIT_CHUNK_SEQS);
const termKey = (kind: string, value: string): string => `${kind}\u0000${value}`;

/**
 * Seqs in `range` whose columns, terms column or chunk index rows disagree with event_json,
 * ascending and without duplicates. Reads the whole chunks that `range` touches (a chunk's
 * rows summarise all its records); rows of chunks above the watermark are not checked (lookups
 * never read them), nor chunks without records (the chain check reports the deletion).
 * Reads only; never throws on odd stored content (unparsable JSON is a mismatch). `indexedTo`
 * must be read in the same snapshot as the records.
 */
export function findChunkIndexMismatches(db: SqliteDatabase, range: CheckRange, indexedTo: number): number[] {
  const hasTerm = db.prepare('SELECT 1 FROM audit_chunk_terms WHERE kind = ? AND value = ? AND chunk = ?').pluck();
  const span = db.prepare('SELECT min_ms AS min, max_ms AS max FROM audit_chunk_time WHERE chunk = ?');
  const page = db.prepare(
    `SELECT seq, event_json AS json, event_name AS n, event_source AS s, event_ms AS t, error_code AS e, access_denied AS d, terms
     FROM audit_records WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ${PAGE}`,
  );
  const bad = new Set<number>();
  const report = (seq: number): void => {
    if (seq >= range.from && seq <= range.to) bad.add(seq);
  };
  let found = 0;
  let state: ChunkState | undefined;
  const settle = (): void => {
    if (state) found += checkChunk(state, hasTerm, span, report);
    state = undefined;
  };
  const last = Math.max(range.to, Math.min(indexedTo, (chunkOf(range.to) + 1) * AUDIT_CHUNK_SEQS));
  for (const r of pages(page, chunkOf(range.from) * AUDIT_CHUNK_SEQS + 1, last)) {
    const x = indexOfJson(r.json);
    if (!x || !columnsMatch(r, x)) report(r.seq);
    if (r.seq > indexedTo || !x) continue;
    const chunk = chunkOf(r.seq);
    if (state?.chunk !== chunk) {
      settle();
      state = { chunk, first: r.seq, last: Math.min(indexedTo, (chunk + 1) * AUDIT_CHUNK_SEQS), terms: new Map(), times: [] };
    }
    if (state.first < range.from && r.seq >= range.from) state.first = r.seq;
    addRecord(state, r.seq, x);
  }
  settle();
  const chunks = { from: chunkOf(range.from), to: chunkOf(Math.min(last, indexedTo)) };
  const stored = db.prepare('SELECT count(*) FROM audit_chunk_terms WHERE chunk >= ? AND chunk <= ?').pluck().get(chunks.from, chunks.to) as number;
  if (indexedTo >= 1 && stored > found) for (const seq of extraTermRows(db, chunks, indexedTo, range.from)) report(seq);
  return [...bad].sort((a, b) => a - b);
}

/** Records `from`..`to` in seq order, a page at a time. */
function* pages(page: Statement, from: number, to: number): Generator<Row> {
  for (let next = from; ; ) {
    const rows = page.all(next, to) as Row[];
    yield* rows;
    const end = rows.at(-1);
    if (rows.length < PAGE || !end) return;
    next = end.seq + 1;
  }
}

/** Adds what a record yields (its terms, name, source and time) to its chunk's state. */
function addRecord(state: ChunkState, seq: number, x: AuditRecordIndex): void {
  for (const t of yieldedTerms(x)) {
    const k = termKey(t.kind, t.value);
    const seqs = state.terms.get(k);
    if (seqs) seqs.push(seq);
    else state.terms.set(k, [seq]);
  }
  state.times.push({ seq, ms: x.eventMs });
}

/** The chunk term rows a record yields: its search terms, its name and its source. */
function yieldedTerms(x: AuditRecordIndex): { kind: string; value: string }[] {
  return [...x.terms, { kind: 'name', value: x.eventName }, { kind: 'source', value: x.eventSource }];
}

/** Columns as recomputed; lookups read the terms column of every record, so it must always match. */
function columnsMatch(row: Row, x: AuditRecordIndex): boolean {
  if (row.n !== x.eventName || row.s !== x.eventSource || row.t !== x.eventMs || row.e !== x.errorCode || row.d !== (x.accessDenied ? 1 : 0)) return false;
  return row.terms === encodeTermsColumn(x.terms);
}

/** Checks one chunk's expected rows by primary key and its span; returns how many term rows were found. */
function checkChunk(c: ChunkState, hasTerm: Statement, span: Statement, report: (seq: number) => void): number {
  let found = 0;
  for (const [k, seqs] of c.terms) {
    const [kind, value] = k.split('\u0000') as [string, string];
    if (hasTerm.get(kind, value, c.chunk) === undefined) seqs.forEach(report);
    else found += 1;
  }
  // Records missing from the chunk (the chain check reports the deletion) leave its rows a
  // superset; only what lookups would miss is then reported.
  const whole = c.times.length === c.last - c.chunk * AUDIT_CHUNK_SEQS;
  const s = span.get(c.chunk) as { min: number; max: number } | undefined;
  const min = Math.min(...c.times.map((t) => t.ms));
  const max = Math.max(...c.times.map((t) => t.ms));
  if (s === undefined) c.times.forEach((t) => report(t.seq));
  else {
    for (const t of c.times) if (t.ms < s.min || t.ms > s.max) report(t.seq);
    if (whole && (s.min < min || s.max > max)) report(c.first);
  }
  return found;
}

/**
 * The first record (at or after `from`) of each chunk holding a term row that none of its
 * records up to the watermark yields; one keyset walk over audit_chunk_terms, each chunk's
 * terms recomputed from event_json once (bounded cache).
 */
function extraTermRows(db: SqliteDatabase, chunks: { from: number; to: number }, indexedTo: number, from: number): Set<number> {
  const walk = db.prepare(
    `SELECT kind, value, chunk FROM audit_chunk_terms WHERE (kind, value, chunk) > (?, ?, ?) AND chunk >= ? AND chunk <= ?
     ORDER BY kind, value, chunk LIMIT ${PAGE}`,
  );
  const records = db.prepare('SELECT seq, event_json AS json FROM audit_records WHERE seq > ? AND seq <= ? ORDER BY seq');
  const cache = new Map<number, { first: number; terms: Set<string> } | null>();
  const expected = (chunk: number): { first: number; terms: Set<string> } | null => {
    let v = cache.get(chunk);
    if (v !== undefined) return v;
    const rows = records.all(chunk * AUDIT_CHUNK_SEQS, Math.min(indexedTo, (chunk + 1) * AUDIT_CHUNK_SEQS)) as { seq: number; json: string }[];
    const terms = new Set<string>();
    for (const r of rows) {
      const x = indexOfJson(r.json);
      if (x) for (const t of yieldedTerms(x)) terms.add(termKey(t.kind, t.value));
    }
    const end = Math.min(indexedTo, (chunk + 1) * AUDIT_CHUNK_SEQS);
    // A chunk missing records keeps their terms: not reported (the chain check reports the deletion).
    const first = rows.find((r) => r.seq >= from) ?? rows[0];
    v = first && rows.length === end - chunk * AUDIT_CHUNK_SEQS ? { first: first.seq, terms } : null;
    if (cache.size >= 256) cache.clear();
    cache.set(chunk, v);
    return v;
  };
  const out = new Set<number>();
  let after: [string, string, number] = ['', '', -1];
  for (;;) {
    const rows = walk.all(...after, chunks.from, chunks.to) as { kind: string; value: string; chunk: number }[];
    for (const t of rows) {
      const x = expected(t.chunk);
      if (x && !x.terms.has(termKey(t.kind, t.value))) out.add(x.first);
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return out;
    after = [last.kind, last.value, last.chunk];
  }
}
