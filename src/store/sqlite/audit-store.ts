import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type {
  AuditLookupPage,
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
import { prepareAuditAppender, type AuditAppender, type DigestToStore } from './audit-append.js';
import { AUDIT_SCHEMA, AUDIT_SCHEMA_MIGRATION, AUDIT_TRIGGERS } from './audit-schema.js';
import { buildLookup } from './audit-lookup.js';

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

/**
 * The audit trail's SQLite store (better-sqlite3). Tables: audit_records, audit_terms
 * (search terms), audit_digests, audit_head (the persisted head counter). Triggers refuse
 * UPDATE and DELETE on records, digests and terms: our code only appends.
 *
 * Opened on a Database the caller owns (not closed by `close()`), or on a path (then owned
 * and closed here). Methods are synchronous underneath; they return promises to fit the
 * `AuditStore` interface that PostgreSQL will also implement.
 */
export class SqliteAuditStore implements AuditStore {
  readonly db: SqliteDatabase;
  readonly #owned: boolean;
  readonly #appender: AuditAppender;

  constructor(db: SqliteDatabase | string, options: SqliteAuditStoreOptions = {}) {
    this.#owned = typeof db === 'string';
    this.db = typeof db === 'string' ? new Database(db) : db;
    if (options.applyPragmas ?? true) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    }
    // Cluster workers read (lookups) while the primary writes; wait for a lock instead of failing.
    if (this.#owned) this.db.pragma('busy_timeout = 5000');
    this.db.exec(AUDIT_SCHEMA);
    // Only the writer migrates: a reader (the CLI's verify/lookup, applyPragmas false) must
    // not change the file it inspects, and the code works with the old index present.
    if ((options.applyPragmas ?? true) && !this.db.readonly) this.db.exec(AUDIT_SCHEMA_MIGRATION);
    this.db.exec(AUDIT_TRIGGERS);
    this.#appender = prepareAuditAppender(this.db);
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

  /** One transaction: rows, terms, head. Rejects (nothing written) on any SQLite error. */
  appendBatch(records: readonly AuditRecordToStore[]): Promise<void> {
    try {
      this.#appender.appendBatch(records);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stores a signed digest. */
  appendDigest(d: DigestToStore): Promise<void> {
    try {
      this.#appender.appendDigest(d);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
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
    return findIndexMismatches(this.db, { from, to }, this.records({ fromSeq: from, toSeq: to }));
  }

  /** See `AuditStore.lookup`; raises InvalidAuditQueryError for a bad limit, time range or token. */
  lookup(query: AuditLookupQuery): Promise<AuditLookupPage> {
    try {
      const { sql, params, limit } = buildLookup(query);
      const rows = this.db.prepare(sql).all(...params) as { seq: number; eventJson: string }[];
      const page = rows.slice(0, limit).map((r) => ({ seq: r.seq, event: JSON.parse(r.eventJson) as AuditEvent }));
      const last = page.at(-1);
      const result: AuditLookupPage = { records: page };
      if (rows.length > limit && last) result.nextToken = Buffer.from(JSON.stringify({ v: 1, before: last.seq })).toString('base64url');
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Closes the database only when this store opened it from a path. */
  close(): void {
    if (this.#owned) this.db.close();
  }
}
