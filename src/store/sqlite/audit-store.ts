import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type {
  AuditLookupPage,
  DeferredAuditIndex,
  AuditLookupQuery,
  AuditRecordToStore,
  AuditStore,
  ChainHead,
  LastDigest,
  SeqRange,
} from '../../audit/audit-store.js';
import { GENESIS_HASH } from '../../audit/chain.js';
import type { ChainedRecord, SignedDigest } from '../../audit/chain.js';
import type { AuditEvent } from '../../audit/record.js';
import { findIndexMismatches } from './audit-index-check.js';
import { findChunkIndexMismatches } from './audit-index-check-chunks.js';
import { prepareAuditAppender, type AuditAppender, type DigestToStore } from './audit-append.js';
import { auditIndexLayout, migrateAuditStoreForWriter, prepareAuditIndexer, type AuditIndexer, type AuditIndexLayout } from './audit-indexer.js';
import { AUDIT_PAGE_SIZE, AUDIT_SCHEMA, AUDIT_TRIGGERS, WATERMARK_SQL } from './audit-schema.js';
import { buildLookup } from './audit-lookup.js';
import { lookupChunks, seqAtTimeSql, type LookupProbe, type LookupRow } from './audit-lookup-chunks.js';
import { statementCache } from './statement-cache.js';

/** How to open the store. */
export interface SqliteAuditStoreOptions {
  /**
   * Set journal_mode=WAL and synchronous on the connection (default true). Turn off only
   * when the owner of a shared connection has already chosen them.
   */
  applyPragmas?: boolean;
  /** FULL (default): a commit survives power loss. NORMAL: survives kill -9 only. */
  synchronous?: 'FULL' | 'NORMAL';
}

const PAGE = 1000;
/** Records per indexing transaction when a lookup served by the writer first catches up. */
const CATCH_UP_CHUNK = 4096;

/**
 * The audit trail's SQLite store (better-sqlite3). Tables: audit_records (the chain, its
 * lookup columns and terms), audit_chunk_terms and audit_chunk_time (the deferred lookup
 * index, per chunk of 1,024 seqs, filled up to audit_index_state.indexed_to), audit_digests,
 * audit_head (the persisted head counter). Triggers refuse UPDATE and DELETE on records,
 * digests and chunk terms, narrowing a chunk's time span, and lowering the watermark: our
 * code only appends.
 *
 * Any number of processes may read; one (the trail's owner, `openForAppend`) writes,
 * migrates and indexes. A reader never changes an existing file: one written by older code
 * is read as it is (`AuditIndexLayout` legacy or per-record) until a writer opens it.
 *
 * Opened on a Database the caller owns (not closed by `close()`), or on a path (then owned
 * and closed here). Methods are synchronous underneath; they return promises to fit the
 * `AuditStore` interface that PostgreSQL will also implement.
 */
export class SqliteAuditStore implements AuditStore {
  readonly db: SqliteDatabase;
  readonly #owned: boolean;
  readonly #statement: ReturnType<typeof statementCache>;
  #appender: AuditAppender | undefined;
  #indexer: AuditIndexer | undefined;
  #layout: AuditIndexLayout['kind'] | undefined;
  /** Test hook: counts what chunk lookups read (never timing). Unset in production. */
  lookupProbe: LookupProbe | undefined;
  /**
   * The deferred index, driven by the trail of the process that called openForAppend. In
   * any other process both methods resolve 0: only the writer indexes.
   */
  readonly deferredIndex: DeferredAuditIndex = {
    backlog: () => this.#attempt(() => this.#indexer?.backlog() ?? 0),
    indexNext: (maxRecords) => this.#attempt(() => this.#indexer?.indexNext(maxRecords) ?? 0),
  };

  constructor(db: SqliteDatabase | string, options: SqliteAuditStoreOptions = {}) {
    this.#owned = typeof db === 'string';
    this.db = typeof db === 'string' ? new Database(db) : db;
    try {
      this.#setUp(options);
    } catch (err) {
      // A connection opened here (e.g. on a file that is not a database) is not left open.
      if (this.#owned) this.db.close();
      throw err;
    }
    this.#statement = statementCache(this.db);
  }

  #setUp(options: SqliteAuditStoreOptions): void {
    if (options.applyPragmas ?? true) {
      // Before journal_mode: switching an empty file to WAL writes its header, which fixes the page size.
      if (this.db.pragma('page_count', { simple: true }) === 0) this.db.pragma(`page_size = ${AUDIT_PAGE_SIZE}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    }
    // Cluster workers read (lookups) while the primary writes; wait for a lock instead of failing.
    if (this.#owned) this.db.pragma('busy_timeout = 5000');
    // A new file gets the current schema from whoever opens it first. An existing one is
    // migrated only by its writer (openForAppend): readers (cluster workers, the CLI's
    // verify/lookup) must not change the file they inspect.
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_records'").get() !== undefined;
    if (!exists) this.db.transaction(() => this.db.exec(AUDIT_SCHEMA + AUDIT_TRIGGERS))();
  }

  /**
   * Makes this process the writer: migrates a file written by older code (see
   * migrateAuditStoreForWriter) and enables indexing. Idempotent. Rejects with SQLite's error.
   */
  openForAppend(): Promise<void> {
    return this.#attempt(() => {
      migrateAuditStoreForWriter(this.db);
      this.#indexer ??= prepareAuditIndexer(this.db);
    });
  }

  /**
   * Readies the file for writer threads (ThreadAuditWriter), which never migrate: migrates a
   * file written by older code, as openForAppend does, but leaves this connection a reader
   * (no indexing here: the writers index, and a lookup here never takes the write lock).
   * Idempotent. Rejects with SQLite's error.
   */
  prepareForWriters(): Promise<void> {
    return this.#attempt(() => migrateAuditStoreForWriter(this.db));
  }

  head(): Promise<ChainHead> {
    const row = this.db.prepare('SELECT last_seq AS seq, last_hash AS hash FROM audit_head WHERE id = 1').get() as ChainHead | undefined;
    return Promise.resolve(row ?? { seq: 0, hash: GENESIS_HASH });
  }

  headSeq(): Promise<number | null> {
    const row = this.db.prepare('SELECT last_seq AS seq FROM audit_head WHERE id = 1').get() as { seq: number } | undefined;
    return Promise.resolve(row?.seq ?? null);
  }

  lastDigest(): Promise<LastDigest | null> {
    const row = this.db
      .prepare('SELECT to_seq AS toSeq, payload_json AS payloadJson, signature FROM audit_digests ORDER BY digest_no DESC LIMIT 1')
      .get() as { toSeq: number; payloadJson: string; signature: string } | undefined;
    if (!row) return Promise.resolve(null);
    const { lastHash } = JSON.parse(row.payloadJson) as { lastHash: string };
    return Promise.resolve({ toSeq: row.toSeq, lastHash, signature: row.signature });
  }

  /** One transaction: a row per record, head. Rejects (nothing written) on any SQLite error. */
  appendBatch(records: readonly AuditRecordToStore[]): Promise<void> {
    return this.#attempt(() => this.#writes().appendBatch(records));
  }

  /** Stores a signed digest. */
  appendDigest(d: DigestToStore): Promise<void> {
    return this.#attempt(() => this.#writes().appendDigest(d));
  }

  /** Pages through records in seq order, so other statements may run between items. */
  async *records(range: SeqRange = {}): AsyncIterable<ChainedRecord> {
    const stmt = this.db.prepare(
      'SELECT seq, event_json AS eventJson, prev_hash AS prevHash, hash FROM audit_records WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?',
    );
    let from = range.fromSeq ?? 1;
    const to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const rows = stmt.all(from, to, PAGE) as ChainedRecord[];
      for (const row of rows) yield row;
      const last = rows.at(-1);
      if (rows.length < PAGE || !last) return;
      from = last.seq + 1;
    }
  }

  async *digests(): AsyncIterable<SignedDigest> {
    const rows = this.db
      .prepare('SELECT payload_json AS payloadJson, signature FROM audit_digests ORDER BY digest_no')
      .all() as SignedDigest[];
    yield* rows;
  }

  /** Seqs whose columns or terms no longer match their event_json (a lookup would lie about them). */
  indexMismatches(range: SeqRange): Promise<number[]> {
    const from = range.fromSeq ?? 1;
    const to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
    // Read before the records: what the writer indexes meanwhile lies above this watermark and is not checked as indexed.
    const layout = auditIndexLayout(this.db);
    // One read transaction (one snapshot): the writer may meanwhile extend the chunk at the
    // watermark, whose rows must be compared with the records up to the watermark read here.
    if (layout.kind === 'chunks') return this.#attempt(() => this.db.transaction(() => findChunkIndexMismatches(this.db, { from, to }, this.#watermark()))());
    return findIndexMismatches(this.db, { from, to }, this.records({ fromSeq: from, toSeq: to }), layout);
  }

  /** See `AuditStore.lookup`; raises InvalidAuditQueryError for a bad limit, time range or token. */
  lookup(query: AuditLookupQuery): Promise<AuditLookupPage> {
    try {
      // The writer first indexes its backlog (bounded by the trail), so its lookups scan little.
      if (this.#indexer) while (this.#indexer.indexNext(CATCH_UP_CHUNK) > 0);
      const layout = this.#layoutKind();
      const { rows, limit } = layout === 'chunks' ? lookupChunks(this.#statement, query, this.lookupProbe) : this.#olderLayoutLookup(query, layout);
      const page = rows.slice(0, limit).map((r) => ({ seq: r.seq, event: JSON.parse(r.eventJson) as AuditEvent }));
      const last = page.at(-1);
      const result: AuditLookupPage = { records: page };
      if (rows.length > limit && last) result.nextToken = Buffer.from(JSON.stringify({ v: 1, before: last.seq })).toString('base64url');
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The lowest seq whose event time is at or after `time`, or null when none is (for a CLI
   * range by time). Exact with times out of seq order: through the chunk time spans up to the
   * watermark (then one chunk's records) and the tail's column above it, in one statement; on
   * older layouts as they index. Raises SQLite's errors.
   */
  firstSeqAtOrAfter(time: Date): number | null {
    return this.#seqAtTime('min', '>=', time);
  }

  /** The highest seq whose event time is at or before `time`, or null; as firstSeqAtOrAfter. */
  lastSeqAtOrBefore(time: Date): number | null {
    return this.#seqAtTime('max', '<=', time);
  }

  #watermark(): number {
    return (this.#statement('SELECT indexed_to FROM audit_index_state WHERE id = 1').pluck().get() as number | undefined) ?? 0;
  }

  #olderLayoutLookup(query: AuditLookupQuery, layout: 'legacy' | 'per-record'): { rows: LookupRow[]; limit: number } {
    const { sql, params, limit } = buildLookup(query, layout);
    return { rows: this.#statement(sql).all(params) as LookupRow[], limit };
  }

  #seqAtTime(fn: 'min' | 'max', op: '>=' | '<=', time: Date): number | null {
    const layout = this.#layoutKind();
    const sql =
      layout === 'chunks'
        ? seqAtTimeSql(fn)
        : layout === 'legacy'
        ? `SELECT ${fn}(seq) FROM audit_records WHERE event_ms ${op} @t`
        : `SELECT ${fn}(seq) FROM (
             SELECT ${fn}(seq) AS seq FROM audit_time WHERE event_ms ${op} @t AND seq <= ${WATERMARK_SQL}
             UNION ALL SELECT ${fn}(seq) FROM audit_records WHERE seq > ${WATERMARK_SQL} AND event_ms ${op} @t)`;
    return (this.#statement(sql).pluck().get({ t: time.getTime() }) as number | null) ?? null;
  }

  /** Closes the database only when this store opened it from a path. */
  close(): void {
    if (this.#owned) this.db.close();
  }

  // Prepared on first use: on a file older code wrote, the insert names a column that only
  // the writer's migration adds.
  #writes(): AuditAppender {
    this.#appender ??= prepareAuditAppender(this.db);
    return this.#appender;
  }

  // Migration is one-way, so once the file is seen in the chunk layout it is not read again.
  #layoutKind(): AuditIndexLayout['kind'] {
    if (this.#layout !== 'chunks') this.#layout = auditIndexLayout(this.db).kind;
    return this.#layout;
  }

  #attempt<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
