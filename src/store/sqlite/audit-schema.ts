// The audit trail's tables. event_json/prev_hash/hash are the chain (see src/audit/README.md);
// every other column and audit_terms are derived from event_json for lookups, and
// verifyAudit checks they still agree with it.

/** Tables and indexes; idempotent. */
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
  hash TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_records_ms ON audit_records (event_ms);
CREATE INDEX IF NOT EXISTS audit_records_name ON audit_records (event_name, seq);
CREATE INDEX IF NOT EXISTS audit_records_source ON audit_records (event_source, seq);
CREATE TABLE IF NOT EXISTS audit_terms (
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (kind, value, seq)
) STRICT, WITHOUT ROWID;
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
`;

/**
 * Brings a database made by older code to this schema; idempotent. audit_terms_seq (terms
 * by seq) went: it cost every appended term a second b-tree insert, and verification now
 * checks terms by primary key instead (audit-index-check.ts). Code that reads still works
 * on a file that keeps the index.
 */
export const AUDIT_SCHEMA_MIGRATION = `DROP INDEX IF EXISTS audit_terms_seq;`;

/** Guards so that no code path of ours can rewrite history (a DB owner still can: verify catches that). */
export const AUDIT_TRIGGERS = ['audit_records', 'audit_digests', 'audit_terms']
  .map(
    (t) => `
CREATE TRIGGER IF NOT EXISTS ${t}_no_update BEFORE UPDATE ON ${t} BEGIN SELECT RAISE(ABORT, '${t} is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ${t}_no_delete BEFORE DELETE ON ${t} BEGIN SELECT RAISE(ABORT, '${t} is append-only'); END;`,
  )
  .join('\n');
