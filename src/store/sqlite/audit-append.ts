import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { AuditRecordToStore } from '../../audit/audit-store.js';
import { quoteJsonString } from '../../audit/canonical-json.js';
import type { SignedDigest } from '../../audit/chain.js';
import type { AuditTerm } from '../../audit/record-index.js';

/** A digest row as the trail hands it to the store. */
export type DigestToStore = SignedDigest & { fromSeq: number; toSeq: number };

/** The audit store's two writes, on statements prepared once. */
export interface AuditAppender {
  /** One transaction: one row per record (terms in its column), head. Throws (nothing written) on any SQLite error. */
  appendBatch(records: readonly AuditRecordToStore[]): void;
  appendDigest(d: DigestToStore): void;
}

/**
 * The `terms` column of a record: a JSON array of [kind, value] pairs in `terms` order.
 * The indexer expands it with json_each, the tail of a lookup matches it, and verification
 * compares it with the same encoding of the terms recomputed from event_json. Pure.
 */
export function encodeTermsColumn(terms: readonly AuditTerm[]): string {
  // Exactly JSON.stringify(terms.map((t) => [t.kind, t.value])), without the pair arrays and
  // without JSON.stringify's call per string (this runs once per committed record). Kinds
  // are quoted too (a known kind is a constant): an index that came over IPC is trusted,
  // but must not be able to make the column invalid JSON.
  let out = '[';
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i] as AuditTerm;
    out += `${i === 0 ? '[' : ',['}${quotedKind(t.kind)},${quoteValue(t.value)}]`;
  }
  return `${out}]`;
}

function quotedKind(kind: string): string {
  switch (kind) {
    case 'key':
      return '"key"';
    case 'bucket':
      return '"bucket"';
    case 'principal':
      return '"principal"';
    default:
      return quoteValue(kind);
  }
}

// JSON.stringify for what is not a string: a term that came over IPC is typed, not checked.
function quoteValue(v: string): string {
  return typeof v === 'string' ? quoteJsonString(v) : String(JSON.stringify(v));
}

/**
 * Prepares the append statements on `db` (schema already created) and returns the writes.
 * Preparing once matters: re-preparing per batch cost more than a small batch's inserts.
 * The commit writes no lookup index: audit_records has no secondary index and the chunk
 * index (audit_chunk_terms / audit_chunk_time) is filled later by the indexer
 * (audit-indexer.ts), so a record costs one b-tree insert here.
 */
export function prepareAuditAppender(db: SqliteDatabase): AuditAppender {
  const insert = db.prepare(
    `INSERT INTO audit_records (seq, event_time, event_ms, event_name, event_source, error_code, access_denied, event_json, prev_hash, hash, terms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const head = db.prepare(
    'INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash',
  );
  const digest = db.prepare('INSERT INTO audit_digests (from_seq, to_seq, payload_json, signature) VALUES (?, ?, ?, ?)');
  const batch = db.transaction((records: readonly AuditRecordToStore[]) => {
    for (const r of records) {
      const x = r.index;
      const terms = encodeTermsColumn(x.terms);
      insert.run(r.seq, x.eventTime, x.eventMs, x.eventName, x.eventSource, x.errorCode, x.accessDenied ? 1 : 0, r.eventJson, r.prevHash, r.hash, terms);
    }
    const last = records.at(-1);
    if (last) head.run(last.seq, last.hash);
  });
  return {
    appendBatch: (records) => batch(records),
    appendDigest: (d) => {
      digest.run(d.fromSeq, d.toSeq, d.payloadJson, d.signature);
    },
  };
}
