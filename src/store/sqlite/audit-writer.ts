// The audit trail's write path for a writer that may share audit.db with writers in other
// threads or processes: each batch is chained after the head read INSIDE its own
// BEGIN IMMEDIATE transaction, so any number of connections append to one gapless chain
// (SQLite's write lock orders them; busy_timeout waits for it). Runs in the writer thread
// (audit-writer-thread.ts); nothing here touches an event loop.
import { isUtf8 } from 'node:buffer';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { GENESIS_HASH, recordHashOfUtf8 } from '../../audit/chain.js';
import type { ChainHead } from '../../audit/audit-store.js';
import type { DigestToStore } from './audit-append.js';
import { parseColumnsLine } from './audit-columns.js';
import { prepareAuditIndexer, type AuditIndexer } from './audit-indexer.js';
import { AUDIT_JOURNAL_TABLE } from './audit-schema.js';

/**
 * A batch as it crosses to the writer thread: ONE string, three lines per record — the
 * lookup columns as a JSON array `[eventTime, eventMs, eventName, eventSource, errorCode,
 * accessDenied (0 | 1)]`, the `terms` column (encodeTermsColumn), the canonical eventJson —
 * joined by "\n". All three are JSON texts, which never contain a raw line feed (JSON
 * escapes control characters in strings, and our encoders emit no whitespace), so the
 * split is exact. One flat string is the cheapest structured clone: an array of strings
 * cost the request thread about as much again per record (measured; see the README).
 */
export type AuditBatchText = string;

/** Lines per record in an AuditBatchText. */
export const LINES_PER_RECORD = 3;

/** What a committed batch became: seqs firstSeq..head.seq, consecutive. */
export interface CommittedBatch {
  readonly firstSeq: number;
  readonly head: ChainHead;
}

/**
 * Where a journaled batch came from: journal file `file` (its name in the journal
 * directory), bytes `from`..`to`. The stored offset must be `from` (0 without a row), and
 * becomes `to` in the batch's transaction.
 */
export interface JournalSpan {
  readonly file: string;
  readonly from: number;
  readonly to: number;
}

/** How the writer's connection is opened. */
export interface SqliteAuditWriterOptions {
  /** NORMAL: a commit is in the WAL when it returns (survives kill -9); FULL: also fsynced (survives power loss). */
  readonly synchronous: 'NORMAL' | 'FULL';
  /** How long to wait for another writer's lock before a batch fails; default 10 s. */
  readonly busyTimeoutMs?: number;
}

/**
 * One connection that appends to a shared audit chain — batches sent to it (`commit`) or
 * read from an audit journal (`ingest`, with the journal offset in the same transaction) —
 * and (if asked) fills the deferred index. The file must exist with the current layout (the
 * store's owner migrated it before any writer started). Synchronous; raises better-sqlite3's
 * errors, nothing half-written.
 */
export class SqliteAuditWriter {
  readonly #db: SqliteDatabase;
  readonly #commit: SharedAppend;
  readonly #digest: (d: DigestToStore) => void;
  readonly #readHead: Statement;
  #indexer: AuditIndexer | undefined;
  #journal: JournalStatements | undefined;

  /** Opens and readies the connection; raises better-sqlite3's error (not a database, no such table), leaving nothing open. */
  constructor(path: string, options: SqliteAuditWriterOptions) {
    this.#db = new Database(path, { fileMustExist: true });
    try {
      this.#db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${options.synchronous}`);
      this.#commit = prepareSharedAppend(this.#db, () => this.#journalStatements());
      this.#readHead = this.#db.prepare('SELECT last_seq AS seq, last_hash AS hash FROM audit_head WHERE id = 1');
      const digest = this.#db.prepare('INSERT INTO audit_digests (from_seq, to_seq, payload_json, signature) VALUES (?, ?, ?, ?)');
      this.#digest = (d) => void digest.run(d.fromSeq, d.toSeq, d.payloadJson, d.signature);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  /** Chains `batch` after the durable head and commits it in one IMMEDIATE transaction. */
  commit(batch: AuditBatchText): CommittedBatch {
    return this.#commit(batch === '' ? [] : [Buffer.from(batch, 'utf8')], undefined);
  }

  /**
   * As commit, for frames read from a journal file: the file's stored offset moves from
   * `span.from` to `span.to` in the same transaction, so a span is ingested exactly once.
   * Raises (nothing written) when the stored offset is not `span.from` (someone else ingested
   * it), and what SQLite raises. `batch` may be '' (only the offset moves).
   */
  ingest(batch: AuditBatchText, span: JournalSpan): CommittedBatch {
    return this.#commit(batch === '' ? [] : [Buffer.from(batch, 'utf8')], span);
  }

  /**
   * As ingest, for the frames' payloads as read (scanJournalFrames' `payloads`: each one
   * batch's AuditBatchText in UTF-8), chained without decoding them: each record's eventJson
   * and terms are bound as their bytes. Stores exactly what ingest stores for the decoded
   * text (a payload that is not valid UTF-8 is decoded and re-encoded first, as ingest would
   * have it). Raises as ingest, and for a payload whose lines are not whole records.
   */
  ingestFrames(payloads: readonly Uint8Array[], span: JournalSpan): CommittedBatch {
    return this.#commit(payloads, span);
  }

  /** The stored offset of journal file `file`: where its next frame starts; 0 without a row. */
  journalOffset(file: string): number {
    return (this.#journalStatements().offset.get(file) as number | undefined) ?? 0;
  }

  /** Journal files with a stored offset (live, sealed or gone). */
  journalFiles(): string[] {
    return this.#journalStatements().files.all() as string[];
  }

  /** Drops the row of a journal file that is sealed and gone (never to be written again). */
  dropJournal(file: string): void {
    this.#journalStatements().drop.run(file);
  }

  /** The durable head, read outside any transaction (a snapshot). */
  head(): ChainHead {
    return (this.#readHead.get() as ChainHead | undefined) ?? { seq: 0, hash: GENESIS_HASH };
  }

  appendDigest(d: DigestToStore): void {
    this.#digest(d);
  }

  /** Committed records after the index watermark (by any writer). */
  backlog(): number {
    this.#indexer ??= prepareAuditIndexer(this.#db);
    return this.#indexer.backlog();
  }

  /** The index watermark (every record up to it is indexed). */
  indexedTo(): number {
    this.#indexer ??= prepareAuditIndexer(this.#db);
    return this.#indexer.indexedTo();
  }

  /** Indexes up to `maxRecords` after the watermark (read and moved in the same write transaction); returns how many. */
  indexNext(maxRecords: number): number {
    this.#indexer ??= prepareAuditIndexer(this.#db);
    return this.#indexer.indexNext(maxRecords);
  }

  close(): void {
    this.#db.close();
  }

  /**
   * Prepared on first use: a writer without a journal never needs the table. A file that
   * predates it gets it here (CREATE TABLE IF NOT EXISTS: an empty bookkeeping table, no
   * migration of anything stored; recovery, run by the owner before the writers, does it first).
   */
  #journalStatements(): JournalStatements {
    if (this.#journal !== undefined) return this.#journal;
    this.#db.exec(AUDIT_JOURNAL_TABLE);
    this.#journal = {
      offset: this.#db.prepare('SELECT offset FROM audit_journal WHERE name = ?').pluck(),
      files: this.#db.prepare('SELECT name FROM audit_journal ORDER BY name').pluck(),
      drop: this.#db.prepare('DELETE FROM audit_journal WHERE name = ?'),
      move: this.#db.prepare('INSERT INTO audit_journal (name, offset) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET offset = excluded.offset'),
    };
    return this.#journal;
  }
}

interface JournalStatements {
  readonly offset: Statement;
  readonly files: Statement;
  readonly drop: Statement;
  readonly move: Statement;
}

type SharedAppend = (payloads: readonly Uint8Array[], span: JournalSpan | undefined) => CommittedBatch;

/** Most rows per INSERT statement: a batch of up to this many records is one statement run. */
const ROWS_PER_INSERT = 16;
const INSERT_COLUMNS = 11;
/**
 * OR FAIL, not the default ABORT: a multi-row INSERT that may abort makes SQLite keep a
 * statement journal (a copy of every page the statement touches first, spilled to a temp file
 * past 64 KiB), so that an abort can undo the statement's earlier rows; perf showed it at ~2%
 * of the writer thread. With FAIL an error keeps those rows, and the transaction (which every
 * error ends: better-sqlite3 rolls it back) discards them, so nothing half-written either way.
 */
const INSERT_HEAD =
  'INSERT OR FAIL INTO audit_records (seq, event_time, event_ms, event_name, event_source, error_code, access_denied, event_json, prev_hash, hash, terms) VALUES ';
/**
 * One row's placeholders. event_json and terms are bound as their UTF-8 bytes (a BLOB) and
 * CAST to TEXT, which takes the bytes as they are (the database encoding is UTF-8): binding
 * them as JS strings cost a decode of the journal's bytes into a string and a UTF-8 encode
 * back for the binding, per record. The stored values are TEXT, as before.
 */
const INSERT_ROW = '(?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?, CAST(? AS TEXT))';

/**
 * The shared-chain append: BEGIN IMMEDIATE takes the write lock before the head is read,
 * so no other writer can move the head between the read and the commit. Rows go in
 * multi-row INSERTs (one statement run per up to ROWS_PER_INSERT records, each statement
 * prepared once per row count): a run per record cost a native call, a VDBE program start
 * and a reset each.
 */
function prepareSharedAppend(db: SqliteDatabase, journal: () => JournalStatements): SharedAppend {
  const readHead = db.prepare('SELECT last_seq AS seq, last_hash AS hash FROM audit_head WHERE id = 1');
  const inserts: Statement[] = [];
  const insertOf = (rows: number): Statement => (inserts[rows] ??= db.prepare(INSERT_HEAD + Array.from({ length: rows }, () => INSERT_ROW).join(', ')));
  // Prepared now, so a file this code cannot write (a column missing) fails the constructor.
  insertOf(1);
  const moveHead = db.prepare(
    'INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash',
  );
  const txn = db.transaction((records: readonly RecordLines[], span: JournalSpan | undefined): CommittedBatch => {
    if (span !== undefined) {
      // Read inside the write lock: a span someone else already ingested is refused, never chained twice.
      const stored = (journal().offset.get(span.file) as number | undefined) ?? 0;
      if (stored !== span.from) throw new Error(`audit journal ${span.file}: ingested to ${stored}, not ${span.from}`);
    }
    const start = (readHead.get() as ChainHead | undefined) ?? { seq: 0, hash: GENESIS_HASH };
    let head = start;
    for (let first = 0; first < records.length; first += ROWS_PER_INSERT) {
      const rows = Math.min(ROWS_PER_INSERT, records.length - first);
      const params: unknown[] = new Array<unknown>(rows * INSERT_COLUMNS);
      for (let r = 0; r < rows; r++) head = chainRow(records[first + r] as RecordLines, head, params, r * INSERT_COLUMNS);
      // As arguments, not one array: better-sqlite3 reads an array's elements one v8::Object::Get at a time (~5% less CPU per record this way).
      insertOf(rows).run(...params);
    }
    if (head.seq > start.seq) moveHead.run(head.seq, head.hash);
    if (span !== undefined) journal().move.run(span.file, span.to);
    return { firstSeq: start.seq + 1, head };
  });
  return (payloads, span) => {
    const records: RecordLines[] = [];
    for (const payload of payloads) splitRecords(payload, records);
    if (span !== undefined) journal(); // prepared outside the transaction (it may create the table)
    return txn.immediate(records, span);
  };
}

/** One record of a batch: its lookup columns (parsed), and its terms column and eventJson as UTF-8 bytes. */
interface RecordLines {
  readonly columns: readonly unknown[];
  readonly terms: Uint8Array;
  readonly json: Uint8Array;
}

const LF = 0x0a;

/**
 * Appends the records of one batch payload (an AuditBatchText in UTF-8) to `out`: three lines
 * per record, split at line feeds (JSON texts never hold a raw one). Raises 'malformed audit
 * batch' when the lines are not whole records (a record line that ever held a raw line feed
 * would shift every line after it: the batch is refused instead) or a columns line is not
 * the six-element array the client writes, and JSON.parse's error for one that is not JSON.
 */
function splitRecords(payload: Uint8Array, out: RecordLines[]): void {
  if (payload.length === 0) return;
  // Not UTF-8 (only a hand-edited journal, the CRC passing): stored as its decoded text would be, U+FFFD for each bad sequence.
  const bytes = isUtf8(payload) ? Buffer.from(payload.buffer, payload.byteOffset, payload.length) : Buffer.from(Buffer.from(payload).toString('utf8'), 'utf8');
  for (let at = 0; ; ) {
    const a = bytes.indexOf(LF, at);
    const b = a === -1 ? -1 : bytes.indexOf(LF, a + 1);
    if (b === -1) throw new Error('malformed audit batch');
    const next = bytes.indexOf(LF, b + 1);
    const end = next === -1 ? bytes.length : next;
    const columns: unknown = parseColumnsLine(bytes, at, a) ?? JSON.parse(bytes.toString('utf8', at, a));
    if (!Array.isArray(columns) || columns.length !== 6) throw new Error('malformed audit batch');
    out.push({ columns, terms: bytes.subarray(a + 1, b), json: bytes.subarray(b + 1, end) });
    if (next === -1) return;
    at = next + 1;
  }
}

/**
 * Chains `record` after `prev` and writes its INSERT_COLUMNS values into `params` from `at`;
 * returns the record's place in the chain.
 */
function chainRow(record: RecordLines, prev: ChainHead, params: unknown[], at: number): ChainHead {
  const seq = prev.seq + 1;
  const hash = recordHashOfUtf8(prev.hash, seq, record.json);
  params[at] = seq;
  for (let c = 0; c < 6; c++) params[at + 1 + c] = record.columns[c];
  // An empty line is bound as '' (a zero-length buffer may bind as NULL): stored as ingesting the text stored it.
  params[at + 7] = record.json.length > 0 ? record.json : '';
  params[at + 8] = prev.hash;
  params[at + 9] = hash;
  params[at + 10] = record.terms.length > 0 ? record.terms : '';
  return { seq, hash };
}
