// Lookups on the chunk index (audit-schema.ts): the unindexed tail above the watermark is
// scanned by its columns, then the candidate chunks below it, newest first — those holding
// the query's terms (audit_chunk_terms), those whose time span meets its range
// (audit_chunk_time) — each filtered exactly by its records' columns and terms column, until
// the page is full. A chunk without the rarest term asked for is never read.
import type { Statement } from 'better-sqlite3';
import type { AuditLookupQuery } from '../../audit/audit-store.js';
import { CHUNK_OF } from './audit-indexer.js';
import { compileLookup, termsColumnFilters, where, type LookupFilters } from './audit-lookup.js';
import { AUDIT_CHUNK_SEQS, WATERMARK_SQL } from './audit-schema.js';

/** A row of a lookup page, newest first. */
export interface LookupRow {
  seq: number;
  eventJson: string;
}

/** Counts what a lookup read, for tests of its bound (never timing). */
export interface LookupProbe {
  /** Candidate chunks whose records were read. */
  chunksScanned: number;
}

/** Candidate chunks fetched per statement run while walking down. */
const CHUNK_PAGE = 32;

/**
 * The rows of one lookup page (`limit` + 1 rows at most, to tell whether a next page exists),
 * newest first, and the page size asked for. Raises InvalidAuditQueryError (see
 * compileLookup) and SQLite's errors. Reads only. Exact at any watermark and while the writer
 * indexes: the watermark is read once and the index only grows (terms are added, spans
 * widen), so later statements see a superset of the candidates it implies, and each chunk's
 * records are filtered exactly; the tail above it is read after it, in one statement.
 */
export function lookupChunks(statement: (sql: string) => Statement, q: AuditLookupQuery, probe?: LookupProbe): { rows: LookupRow[]; limit: number } {
  const f = compileLookup(q);
  const take = f.limit + 1;
  const watermark = (statement('SELECT indexed_to AS w FROM audit_index_state WHERE id = 1').get() as { w: number } | undefined)?.w ?? 0;
  const params = { ...f.params, w: watermark, take };
  const exact = [...f.columns, ...termsColumnFilters(f), ...(f.before ? ['r.seq < @before'] : [])];
  const rows = statement(`${SELECT} ${where(['r.seq > @w', ...exact])} ORDER BY r.seq DESC LIMIT @take`).all(params) as LookupRow[];
  const upper = Math.min(watermark, f.before ? (f.params['before'] as number) - 1 : watermark);
  if (rows.length >= take || upper < 1) return { rows, limit: f.limit };
  const candidates = candidateSql(f, q);
  if (candidates === null) {
    // Nothing to narrow chunks by: the records below the watermark, newest first.
    rows.push(...(statement(`${SELECT} ${where(['r.seq <= @upper', ...exact])} ORDER BY r.seq DESC LIMIT @need`).all({ ...params, upper, need: take - rows.length }) as LookupRow[]));
    return { rows, limit: f.limit };
  }
  const inChunk = statement(`${SELECT} ${where(['r.seq > @lo', 'r.seq <= @hi', ...exact])} ORDER BY r.seq DESC LIMIT @need`);
  const chunks = statement(candidates).pluck();
  for (let top = Math.floor((upper - 1) / AUDIT_CHUNK_SEQS); top >= 0; ) {
    const page = chunks.all({ ...params, top }) as number[];
    for (const c of page) {
      if (probe) probe.chunksScanned += 1;
      const hi = Math.min(upper, (c + 1) * AUDIT_CHUNK_SEQS);
      rows.push(...(inChunk.all({ ...params, lo: c * AUDIT_CHUNK_SEQS, hi, need: take - rows.length }) as LookupRow[]));
      if (rows.length >= take) return { rows, limit: f.limit };
    }
    const last = page.at(-1);
    if (page.length < CHUNK_PAGE || last === undefined) break;
    top = last - 1;
  }
  return { rows, limit: f.limit };
}

const SELECT = 'SELECT r.seq AS seq, r.event_json AS eventJson FROM audit_records r';

/**
 * Candidate chunks at or below @top, newest first, CHUNK_PAGE at a time: driven by the most
 * selective term asked for (key, bucket, principal, then event name, then source), every
 * other term probed in the same chunk, and the time span when a range is asked; or by the
 * time spans alone. Null when the query names neither a term nor a time.
 */
function candidateSql(f: LookupFilters, q: AuditLookupQuery): string | null {
  const terms: { kind: string; param: string }[] = [...f.terms];
  if (q.eventName !== undefined) terms.push({ kind: 'name', param: 'name' });
  if (q.eventSource !== undefined) terms.push({ kind: 'source', param: 'source' });
  const span = [q.startTime ? 't.max_ms >= @start' : '', q.endTime ? 't.min_ms <= @end' : ''].filter((c) => c !== '');
  const [driver, ...others] = terms;
  if (driver === undefined) {
    if (!f.time) return null;
    return `SELECT t.chunk FROM audit_chunk_time t ${where(['t.chunk <= @top', ...span])} ORDER BY t.chunk DESC LIMIT ${CHUNK_PAGE}`;
  }
  const clauses = [
    `c.kind = '${driver.kind}'`,
    `c.value = @${driver.param}`,
    'c.chunk <= @top',
    ...others.map((t) => `EXISTS (SELECT 1 FROM audit_chunk_terms x WHERE x.kind = '${t.kind}' AND x.value = @${t.param} AND x.chunk = c.chunk)`),
  ];
  if (span.length > 0) clauses.push(`EXISTS (SELECT 1 FROM audit_chunk_time t WHERE t.chunk = c.chunk AND ${span.join(' AND ')})`);
  return `SELECT c.chunk FROM audit_chunk_terms c ${where(clauses)} ORDER BY c.chunk DESC LIMIT ${CHUNK_PAGE}`;
}

/**
 * `min`: the lowest seq whose event time is at or after @t; `max`: the highest at or before
 * @t. One statement (one snapshot): the first chunk (in seq order) whose span reaches @t,
 * exactly filtered, else the tail above the watermark; for `max` the tail first, then the
 * last such chunk. Bounded: one chunk's records, the chunk spans and the tail.
 */
export function seqAtTimeSql(fn: 'min' | 'max'): string {
  const w = WATERMARK_SQL;
  const [op, spanOk, order, dir] = fn === 'min' ? ['>=', 'max_ms >= @t', 'min', 'ASC'] : ['<=', 'min_ms <= @t', 'max', 'DESC'];
  const chunk = `(SELECT ${order}(chunk) FROM audit_chunk_time WHERE ${spanOk} AND chunk <= ${CHUNK_OF(w)})`;
  const indexed = `(SELECT seq FROM audit_records WHERE seq > ${chunk} * ${AUDIT_CHUNK_SEQS} AND seq <= min((${chunk} + 1) * ${AUDIT_CHUNK_SEQS}, ${w})
    AND event_ms ${op} @t ORDER BY seq ${dir} LIMIT 1)`;
  const tail = `(SELECT seq FROM audit_records WHERE seq > ${w} AND event_ms ${op} @t ORDER BY seq ${dir} LIMIT 1)`;
  return fn === 'min' ? `SELECT coalesce(${indexed}, ${tail})` : `SELECT coalesce(${tail}, ${indexed})`;
}
