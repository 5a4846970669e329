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
import { indexTermsOf } from '../../audit/record-index.js';
import type { AuditTerm } from '../../audit/record-index.js';
import { isAccessDenied } from '../../audit/record.js';
import type { AuditEvent } from '../../audit/record.js';
import { AUDIT_SCHEMA, AUDIT_TRIGGERS } from './audit-schema.js';
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

  constructor(db: SqliteDatabase | string, options: SqliteAuditStoreOptions = {}) {
    this.#owned = typeof db === 'string';
    this.db = typeof db === 'string' ? new Database(db) : db;
    if (options.applyPragmas ?? true) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    }
    this.db.exec(AUDIT_SCHEMA);
    this.db.exec(AUDIT_TRIGGERS);
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
      this.#appendTx(records);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  appendDigest(d: SignedDigest & { fromSeq: number; toSeq: number }): Promise<void> {
    this.db
      .prepare('INSERT INTO audit_digests (from_seq, to_seq, payload_json, signature) VALUES (?, ?, ?, ?)')
      .run(d.fromSeq, d.toSeq, d.payloadJson, d.signature);
    return Promise.resolve();
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
  async indexMismatches(range: SeqRange): Promise<number[]> {
    const termStmt = this.db.prepare('SELECT kind, value FROM audit_terms WHERE seq = ? ORDER BY kind, value');
    const colStmt = this.db.prepare(
      'SELECT event_name AS n, event_source AS s, event_ms AS t, error_code AS e, access_denied AS d FROM audit_records WHERE seq = ?',
    );
    const bad: number[] = [];
    for await (const r of this.records(range)) {
      const event = parseEvent(r.eventJson);
      const cols = colStmt.get(r.seq);
      const terms = termStmt.all(r.seq) as AuditTerm[];
      if (!event || JSON.stringify(cols) !== JSON.stringify(columnsOf(event)) || !sameTerms(terms, indexTermsOf(event))) {
        bad.push(r.seq);
      }
    }
    return bad;
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

  #appendTx = (records: readonly AuditRecordToStore[]): void => {
    const insert = this.db.prepare(
      `INSERT INTO audit_records (seq, event_time, event_ms, event_name, event_source, error_code, access_denied, event_json, prev_hash, hash)
       VALUES (@seq, @time, @t, @n, @s, @e, @d, @eventJson, @prevHash, @hash)`,
    );
    const term = this.db.prepare('INSERT INTO audit_terms (kind, value, seq) VALUES (?, ?, ?)');
    const head = this.db.prepare(
      'INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash',
    );
    this.db.transaction(() => {
      for (const r of records) {
        insert.run({ ...columnsOf(r.event), time: r.event.eventTime, seq: r.seq, eventJson: r.eventJson, prevHash: r.prevHash, hash: r.hash });
        for (const t of indexTermsOf(r.event)) term.run(t.kind, t.value, r.seq);
      }
      const last = records.at(-1);
      if (last) head.run(last.seq, last.hash);
    })();
  };
}

function columnsOf(e: AuditEvent): { n: string; s: string; t: number; e: string | null; d: number } {
  const ms = Date.parse(e.eventTime);
  return { n: e.eventName, s: e.eventSource, t: Number.isFinite(ms) ? ms : 0, e: e.errorCode ?? null, d: isAccessDenied(e) ? 1 : 0 };
}

function parseEvent(json: string): AuditEvent | null {
  try {
    return JSON.parse(json) as AuditEvent;
  } catch {
    return null;
  }
}

function sameTerms(a: readonly AuditTerm[], b: readonly AuditTerm[]): boolean {
  const key = (ts: readonly AuditTerm[]): string => ts.map((t) => `${t.kind}\u0000${t.value}`).sort().join('\u0001');
  return key(a) === key(b);
}
