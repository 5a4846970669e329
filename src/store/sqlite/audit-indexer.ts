// The deferred lookup index of the audit trail, at chunk granularity: after the group commit,
// the writer adds each chunk's distinct search terms to audit_chunk_terms and widens its time
// span in audit_chunk_time, set-based in SQLite (json_each over the DISTINCT `terms` strings
// of the range: a KMS workload repeats a handful of them), never per row in JS, and
// audit_index_state.indexed_to moves in the same transaction. Only the trail's owner runs it.
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { encodeTermsColumn } from './audit-append.js';
import { indexOfJson } from './audit-index-check.js';
import { AUDIT_CHUNK_BITS, AUDIT_DROP_OLD_INDEXES, AUDIT_INDEX_TABLES, AUDIT_TRIGGERS } from './audit-schema.js';

/**
 * How a store file indexes its records, as far as a reader can tell without changing it.
 * `chunks`: this schema; the records up to `indexedTo` are in audit_chunk_terms (kinds key,
 * bucket, principal, name, source; one row per distinct term per chunk) and audit_chunk_time,
 * the rest only in their columns.
 * `per-record`: written by the previous code and not yet opened by a writer since: records up
 * to `indexedTo` have one audit_terms row per term and one audit_time row.
 * `legacy`: written by code before the deferred index and not yet opened by a writer since:
 * audit_terms holds the key/bucket/principal terms of every record, names, sources and times
 * are served by audit_records' own indexes.
 */
export type AuditIndexLayout = { kind: 'chunks'; indexedTo: number } | { kind: 'per-record'; indexedTo: number } | { kind: 'legacy' };

const HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?";

/** Reads the layout (two or three tiny queries). Never writes. */
export function auditIndexLayout(db: SqliteDatabase): AuditIndexLayout {
  const has = (table: string): boolean => db.prepare(HAS_TABLE).get(table) !== undefined;
  if (!has('audit_index_state')) return { kind: 'legacy' };
  const row = db.prepare('SELECT indexed_to AS v FROM audit_index_state WHERE id = 1').get() as { v: number } | undefined;
  return { kind: has('audit_chunk_time') ? 'chunks' : 'per-record', indexedTo: row?.v ?? 0 };
}

/** The chunk of a seq column, in SQL. */
export const CHUNK_OF = (seq: string): string => `((${seq} - 1) >> ${AUDIT_CHUNK_BITS})`;

/**
 * Makes the file ready for this process to append, in one transaction: a file written by
 * older code gets the terms column (legacy), filled for every record where it is NULL
 * (records written before it existed: recomputed from event_json, as verification does), the
 * chunk index of its indexed records (built once, set-based, as indexNext builds it) and the
 * watermark (legacy: its last record; per-record: unchanged); then its old index tables and
 * indexes are dropped and the guards (re)created. Idempotent. Raises what SQLite raises
 * (nothing then changes).
 */
export function migrateAuditStoreForWriter(db: SqliteDatabase): void {
  db.transaction(() => {
    const layout = auditIndexLayout(db);
    if (layout.kind !== 'chunks') {
      const hasTerms = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('audit_records') as string[]).includes('terms');
      if (!hasTerms) db.exec('ALTER TABLE audit_records ADD COLUMN terms TEXT');
      fillNullTermsColumns(db);
      db.exec(AUDIT_INDEX_TABLES);
      const to = layout.kind === 'legacy' ? ((db.prepare('SELECT max(seq) FROM audit_records').pluck().get() as number | null) ?? 0) : layout.indexedTo;
      db.prepare(TERMS_INSERT).run({ from: 0, to });
      db.prepare(TIME_UPSERT).run({ from: 0, to });
      if (layout.kind === 'legacy') db.prepare('INSERT INTO audit_index_state (id, indexed_to) VALUES (1, ?)').run(to);
    }
    db.exec(AUDIT_DROP_OLD_INDEXES);
    db.exec(AUDIT_TRIGGERS);
  }).immediate();
}

/**
 * Lookups filter candidate chunks by the terms column, so no record may keep it NULL. The
 * append-only guard is dropped for this one derived column (AUDIT_TRIGGERS recreates it in the
 * same transaction); the chain columns are not touched. An unreadable event_json gets `[]`
 * (verification reports it either way).
 */
function fillNullTermsColumns(db: SqliteDatabase): void {
  db.exec('DROP TRIGGER IF EXISTS audit_records_no_update');
  // A page at a time, so a large file is never held in memory at once.
  const page = db.prepare('SELECT seq, event_json AS json FROM audit_records WHERE terms IS NULL AND seq > ? ORDER BY seq LIMIT 1000');
  const set = db.prepare('UPDATE audit_records SET terms = ? WHERE seq = ?');
  for (let after = Number.MIN_SAFE_INTEGER; ; ) {
    const rows = page.all(after) as { seq: number; json: string }[];
    for (const r of rows) {
      // Unreadable: [] (verification recomputes the index from event_json and names the record).
      const x = indexOfJson(r.json);
      set.run(x ? encodeTermsColumn(x.terms) : '[]', r.seq);
    }
    const last = rows.at(-1);
    if (last === undefined) return;
    after = last.seq;
  }
}

const RANGE = 'seq > @from AND seq <= @to';
// A chunk indexed in several steps (the watermark moves by any number of records) has its
// span widened by each: the span of a chunk is always that of its records up to the watermark.
const TIME_UPSERT = `
  INSERT INTO audit_chunk_time (chunk, min_ms, max_ms)
    SELECT ${CHUNK_OF('seq')}, min(event_ms), max(event_ms) FROM audit_records WHERE ${RANGE} GROUP BY 1
  ON CONFLICT (chunk) DO UPDATE SET min_ms = min(min_ms, excluded.min_ms), max_ms = max(max_ms, excluded.max_ms)`;
// One pass over the range: the distinct (chunk, terms, name, source) tuples, a handful per
// chunk for a KMS workload, then json_each only over those.
const TERMS_INSERT = `
  WITH d AS MATERIALIZED (
    SELECT DISTINCT ${CHUNK_OF('seq')} AS chunk, terms, event_name, event_source FROM audit_records WHERE ${RANGE})
  INSERT OR IGNORE INTO audit_chunk_terms (kind, value, chunk)
    SELECT j.value ->> 0, j.value ->> 1, d.chunk FROM d, json_each(d.terms) j
    UNION SELECT 'name', event_name, chunk FROM d
    UNION SELECT 'source', event_source, chunk FROM d`;

/** The writer's indexer on one connection (schema already migrated). */
export interface AuditIndexer {
  /** Records after the watermark. */
  backlog(): number;
  /** The watermark: every record up to this seq is indexed. */
  indexedTo(): number;
  /**
   * Indexes the next `maxRecords` (at most) records after the watermark in one transaction
   * and moves the watermark past them; returns how many seqs it covered (0: nothing to do).
   * Throws (nothing written) on any SQLite error.
   */
  indexNext(maxRecords: number): number;
}

/**
 * Prepares the indexer's statements. OR IGNORE: a chunk's terms are added again by every step
 * that indexes part of it, and a term row planted ahead of the watermark must not stop
 * indexing for good; lookups filter every candidate chunk's records exactly, and what is
 * below the watermark is checked against event_json by verifyAudit, so nothing is hidden.
 */
export function prepareAuditIndexer(db: SqliteDatabase): AuditIndexer {
  const mark = db.prepare('SELECT indexed_to FROM audit_index_state WHERE id = 1').pluck();
  const last = db.prepare('SELECT max(seq) FROM audit_records').pluck();
  const terms = db.prepare(TERMS_INSERT);
  const time = db.prepare(TIME_UPSERT);
  const move = db.prepare('UPDATE audit_index_state SET indexed_to = ? WHERE id = 1');
  const chunk = db.transaction((maxRecords: number): number => {
    const from = mark.get() as number;
    const to = Math.min((last.get() as number | null) ?? 0, from + maxRecords);
    if (to <= from) return 0;
    terms.run({ from, to });
    time.run({ from, to });
    move.run(to);
    return to - from;
  });
  return {
    backlog: () => Math.max(0, ((last.get() as number | null) ?? 0) - (mark.get() as number)),
    indexedTo: () => mark.get() as number,
    indexNext: (maxRecords) => chunk.immediate(Math.max(1, Math.floor(maxRecords))),
  };
}
