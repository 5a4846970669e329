// The audit trail's tables. event_json/prev_hash/hash are the chain (see src/audit/README.md);
// every other column and the index tables are derived from event_json for lookups, and
// verifyAudit checks they still agree with it.
//
// Hot path vs deferred index: a group commit writes one audit_records row per record (no
// secondary index on that table) carrying its lookup columns and its search terms as one
// JSON column (`terms`). The lookup index proper is filled later, set-based, by the writer's
// indexer (audit-indexer.ts); audit_index_state.indexed_to says how far. It indexes CHUNKS of
// records, not records: per chunk of AUDIT_CHUNK_SEQS consecutive seqs, each distinct search
// term once (audit_chunk_terms) and the span of its event times (audit_chunk_time). A lookup
// walks the candidate chunks and filters their records exactly by their columns; above the
// watermark it scans the columns of the unindexed tail.

/**
 * Seqs per index chunk: chunk c holds seqs c * 1024 + 1 .. (c + 1) * 1024, i.e.
 * chunk = (seq - 1) >> 10. Persisted meaning: a file's chunk rows are numbered with it, so it
 * never changes.
 */
export const AUDIT_CHUNK_BITS = 10;
/** 2 ** AUDIT_CHUNK_BITS. */
export const AUDIT_CHUNK_SEQS = 1 << AUDIT_CHUNK_BITS;

/**
 * The page size of a new audit.db (SQLite's default is 4096; a file keeps the size it was
 * created with, so older files stay at theirs and work as before). A record row is ~1.1–1.6 KB
 * (its event JSON, terms, two hex hashes), so a 4 KiB page held two of them and left a
 * quarter of itself empty: every byte written went to the WAL once and to the file again at
 * the checkpoint. With 16 KiB pages ~10 rows fill a page: ~27% fewer bytes per record
 * (2,055 -> 1,497 with GenerateDataKey records) and fewer, larger WAL frames, for ~25% less
 * CPU in the writer thread's ingestion (src/audit/README.md, "Where the writer thread's CPU goes").
 */
export const AUDIT_PAGE_SIZE = 16_384;

/** The tables of the chunk index and the watermark. */
const INDEX_TABLES = `
CREATE TABLE IF NOT EXISTS audit_chunk_terms (
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  PRIMARY KEY (kind, value, chunk)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_chunk_time (
  chunk INTEGER PRIMARY KEY,
  min_ms INTEGER NOT NULL,
  max_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit_index_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_to INTEGER NOT NULL
) STRICT;`;

/**
 * The index watermark as a scalar subquery. Lookups embed it in their one statement, so the
 * indexed part and the tail are read from one snapshot even while the writer indexes.
 */
export const WATERMARK_SQL = '(SELECT indexed_to FROM audit_index_state WHERE id = 1)';

/**
 * How far each audit journal file (`DATA_DIR/audit-journal/<name>.<gen>`) was ingested: the
 * byte offset after its last ingested frame, moved in the same transaction as the records of
 * those frames (so ingestion is exactly once across crashes). Bookkeeping, not part of the
 * chain: verification and export never read it, and readers of files without it never need it.
 */
const JOURNAL_TABLE = `CREATE TABLE IF NOT EXISTS audit_journal (
  name TEXT PRIMARY KEY,
  offset INTEGER NOT NULL
) STRICT;`;

/**
 * The journal table alone, idempotent: created by whoever readies a file for journaled
 * writers (recovery, run by the store's owner before any writer thread starts) when the file
 * predates it (fresh stores get it from AUDIT_SCHEMA).
 */
export const AUDIT_JOURNAL_TABLE = JOURNAL_TABLE;

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
${JOURNAL_TABLE}
INSERT OR IGNORE INTO audit_index_state (id, indexed_to) VALUES (1, 0);
`;

/**
 * The chunk index tables and the watermark, for the writer's migration of a file written by
 * older code (audit-indexer.ts). Readers never run it: they read such a file as it is.
 */
export const AUDIT_INDEX_TABLES = INDEX_TABLES;

/**
 * What older code indexed with, dropped by the writer only (after its migration read them),
 * idempotent: the three indexes on audit_records (every commit paid three b-tree inserts),
 * audit_terms (one row per term per record) with its seq index, and audit_time (one row per
 * record). Dropping a table drops its triggers.
 */
export const AUDIT_DROP_OLD_INDEXES = `
DROP INDEX IF EXISTS audit_records_ms;
DROP INDEX IF EXISTS audit_records_name;
DROP INDEX IF EXISTS audit_records_source;
DROP INDEX IF EXISTS audit_terms_seq;
DROP TABLE IF EXISTS audit_terms;
DROP TABLE IF EXISTS audit_time;`;

const appendOnly = (t: string): string => `
CREATE TRIGGER IF NOT EXISTS ${t}_no_update BEFORE UPDATE ON ${t} BEGIN SELECT RAISE(ABORT, '${t} is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ${t}_no_delete BEFORE DELETE ON ${t} BEGIN SELECT RAISE(ABORT, '${t} is append-only'); END;`;

/**
 * Guards so that no code path of ours can rewrite history (a DB owner still can: verify
 * catches that): the chain and the chunk terms are append-only, a chunk's time span only
 * widens (the indexer extends it as the chunk fills), and the index watermark only moves up.
 */
export const AUDIT_TRIGGERS = `${['audit_records', 'audit_digests', 'audit_chunk_terms'].map(appendOnly).join('')}
CREATE TRIGGER IF NOT EXISTS audit_chunk_time_only_widens BEFORE UPDATE ON audit_chunk_time
  WHEN NEW.chunk <> OLD.chunk OR NEW.min_ms > OLD.min_ms OR NEW.max_ms < OLD.max_ms
  BEGIN SELECT RAISE(ABORT, 'an audit chunk time span only widens'); END;
CREATE TRIGGER IF NOT EXISTS audit_chunk_time_no_delete BEFORE DELETE ON audit_chunk_time
  BEGIN SELECT RAISE(ABORT, 'audit_chunk_time is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_index_state_no_lower BEFORE UPDATE ON audit_index_state
  WHEN NEW.indexed_to < OLD.indexed_to OR NEW.id <> OLD.id BEGIN SELECT RAISE(ABORT, 'the audit index watermark only increases'); END;
CREATE TRIGGER IF NOT EXISTS audit_index_state_no_delete BEFORE DELETE ON audit_index_state
  BEGIN SELECT RAISE(ABORT, 'the audit index watermark only increases'); END;`;
