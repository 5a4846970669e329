// The audit trail's tables. event_json/prev_hash/hash are the chain (see src/audit/README.md);
// every other column and the index tables are derived from event_json for lookups, and
// verifyAudit checks they still agree with it.
//
// Hot path vs deferred index: a group commit writes one audit_records row per record (no
// secondary index on that table) carrying its lookup columns and its search terms as one
// JSON column (`terms`). The lookup index proper (audit_terms, audit_time) is filled later,
// set-based, by the writer's indexer (audit-indexer.ts); audit_index_state.indexed_to says
// how far. Lookups read the index up to the watermark and scan the columns above it.

/** The tables the deferred index added: records by time, and the watermark. */
const INDEX_TABLES = `
CREATE TABLE IF NOT EXISTS audit_time (
  event_ms INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (event_ms, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_index_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_to INTEGER NOT NULL
) STRICT;`;

/**
 * The index watermark as a scalar subquery. Lookups embed it in their one statement, so the
 * indexed part and the tail are read from one snapshot even while the writer indexes.
 */
export const WATERMARK_SQL = '(SELECT indexed_to FROM audit_index_state WHERE id = 1)';

/** Tables of a fresh store, with the watermark at 0; idempotent. */
export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_records (
  seq INTEGER PRIMARY KEY,
  event_time TEXT NOT NULL,
  event_ms INTEGER NOT NULL,
  event_name TEXT NOT NULL,
  event_source TEXT NOT NULL,
  error_code TEXT,
  access_denied INTEGER NOT NULL,
  event_json TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  terms TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS audit_terms (
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (kind, value, seq)
) STRICT, WITHOUT ROWID;
${INDEX_TABLES}
CREATE TABLE IF NOT EXISTS audit_digests (
  digest_no INTEGER PRIMARY KEY,
  from_seq INTEGER NOT NULL,
  to_seq INTEGER NOT NULL,
  payload_json TEXT NOT NULL,
  signature TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_seq INTEGER NOT NULL,
  last_hash TEXT NOT NULL
) STRICT;
INSERT OR IGNORE INTO audit_index_state (id, indexed_to) VALUES (1, 0);
`;

/**
 * What a store written before the deferred index (audit_records with three secondary
 * indexes, audit_terms filled at commit for every record) lacks besides the terms column;
 * added by the writer only, in its migration transaction (audit-indexer.ts). Readers never
 * run it: they read such a file as it is.
 */
export const AUDIT_INDEX_TABLES = INDEX_TABLES;

/**
 * Indexes older code kept: the three on audit_records cost every commit three b-tree
 * inserts (audit_terms kinds `name`/`source` and audit_time replace them, off the hot path);
 * audit_terms_seq cost every term a second insert. Dropped by the writer only; idempotent.
 */
export const AUDIT_DROP_OLD_INDEXES = `
DROP INDEX IF EXISTS audit_records_ms;
DROP INDEX IF EXISTS audit_records_name;
DROP INDEX IF EXISTS audit_records_source;
DROP INDEX IF EXISTS audit_terms_seq;`;

/**
 * Guards so that no code path of ours can rewrite history (a DB owner still can: verify
 * catches that): the chain and index tables are append-only, and the index watermark
 * only moves up.
 */
export const AUDIT_TRIGGERS =
  ['audit_records', 'audit_digests', 'audit_terms', 'audit_time']
    .map(
      (t) => `
CREATE TRIGGER IF NOT EXISTS ${t}_no_update BEFORE UPDATE ON ${t} BEGIN SELECT RAISE(ABORT, '${t} is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ${t}_no_delete BEFORE DELETE ON ${t} BEGIN SELECT RAISE(ABORT, '${t} is append-only'); END;`,
    )
    .join('\n') +
  `
CREATE TRIGGER IF NOT EXISTS audit_index_state_no_lower BEFORE UPDATE ON audit_index_state
  WHEN NEW.indexed_to < OLD.indexed_to OR NEW.id <> OLD.id BEGIN SELECT RAISE(ABORT, 'the audit index watermark only increases'); END;
CREATE TRIGGER IF NOT EXISTS audit_index_state_no_delete BEFORE DELETE ON audit_index_state
  BEGIN SELECT RAISE(ABORT, 'the audit index watermark only increases'); END;`;
