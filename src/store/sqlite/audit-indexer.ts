// The deferred lookup index of the audit trail: audit_terms and audit_time are filled from
// audit_records' columns after the group commit, set-based in SQLite (json_each over the
// `terms` column), never per row in JS, and audit_index_state.indexed_to moves in the same
// transaction. Only the trail's owner runs it.
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { AUDIT_DROP_OLD_INDEXES, AUDIT_INDEX_TABLES, AUDIT_TRIGGERS } from './audit-schema.js';

/**
 * How a store file indexes its records, as far as a reader can tell without changing it.
 * `deferred`: this schema; records up to `indexedTo` are in audit_terms (kinds key,
 * bucket, principal, name, source) and audit_time, the rest only in their columns.
 * `legacy`: written by code before the deferred index and not yet opened by a writer
 * since: audit_terms holds the key/bucket/principal terms of every record, names, sources
 * and times are served by audit_records' own indexes.
 */
export type AuditIndexLayout = { kind: 'deferred'; indexedTo: number } | { kind: 'legacy' };

/** Reads the layout (one or two tiny queries). Never writes. */
export function auditIndexLayout(db: SqliteDatabase): AuditIndexLayout {
  const hasState = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_index_state'").get() !== undefined;
  if (!hasState) return { kind: 'legacy' };
  const row = db.prepare('SELECT indexed_to AS v FROM audit_index_state WHERE id = 1').get() as { v: number } | undefined;
  return { kind: 'deferred', indexedTo: row?.v ?? 0 };
}

/**
 * Makes the file ready for this process to append: a legacy file gets the terms column and
 * the index tables, the name/source terms and times of its records (set-based, once) and
 * the watermark at its last record, all in one transaction; the old indexes are dropped and
 * the guards (re)created. Idempotent. Raises what SQLite raises (nothing then changes).
 */
export function migrateAuditStoreForWriter(db: SqliteDatabase): void {
  db.transaction(() => {
    if (auditIndexLayout(db).kind === 'legacy') {
      const hasTerms = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('audit_records') as string[]).includes('terms');
      if (!hasTerms) db.exec('ALTER TABLE audit_records ADD COLUMN terms TEXT');
      db.exec(AUDIT_INDEX_TABLES);
      const last = (db.prepare('SELECT max(seq) FROM audit_records').pluck().get() as number | null) ?? 0;
      // Legacy audit_terms already holds key/bucket/principal for every record; the terms
      // column stays NULL for them (verification checks such rows against event_json).
      db.prepare(`INSERT OR IGNORE INTO audit_terms (kind, value, seq) ${NAME_SOURCE_SELECT}`).run({ from: 0, to: last });
      db.prepare(`INSERT OR IGNORE INTO audit_time (event_ms, seq) ${TIME_SELECT}`).run({ from: 0, to: last });
      db.prepare('INSERT INTO audit_index_state (id, indexed_to) VALUES (1, ?)').run(last);
    }
    db.exec(AUDIT_DROP_OLD_INDEXES);
    db.exec(AUDIT_TRIGGERS);
  }).immediate();
}

const NAME_SOURCE_SELECT = `
  SELECT 'name', event_name, seq FROM audit_records WHERE seq > @from AND seq <= @to
  UNION ALL SELECT 'source', event_source, seq FROM audit_records WHERE seq > @from AND seq <= @to`;
const TIME_SELECT = 'SELECT event_ms, seq FROM audit_records WHERE seq > @from AND seq <= @to';

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
 * Prepares the indexer's statements. OR IGNORE: a term row planted ahead of the watermark
 * must not stop indexing for good; lookups never read above the watermark, and what is
 * below it is checked against event_json by verifyAudit, so nothing is hidden.
 */
export function prepareAuditIndexer(db: SqliteDatabase): AuditIndexer {
  const mark = db.prepare('SELECT indexed_to FROM audit_index_state WHERE id = 1').pluck();
  const last = db.prepare('SELECT max(seq) FROM audit_records').pluck();
  const terms = db.prepare(
    `INSERT OR IGNORE INTO audit_terms (kind, value, seq)
       SELECT j.value ->> 0, j.value ->> 1, r.seq FROM audit_records r, json_each(r.terms) j WHERE r.seq > @from AND r.seq <= @to
       ${NAME_SOURCE_SELECT.replace('SELECT', 'UNION ALL SELECT')}`,
  );
  const time = db.prepare(`INSERT OR IGNORE INTO audit_time (event_ms, seq) ${TIME_SELECT}`);
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
