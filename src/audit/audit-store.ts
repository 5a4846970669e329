import type { ChainedRecord, SignedDigest } from './chain.js';
import type { AuditEvent, AuditEventSource } from './record.js';
import type { AuditRecordIndex } from './record-index.js';
import type { EncodedAuditEvent } from './encode-event.js';

/** The last committed record: seq 0 and the genesis hash when the trail is empty. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * A record handed to the store: the chained canonical form plus its lookup columns and
 * terms, derived once from the event before it was encoded (`recordIndexOf`), so the store
 * never parses the JSON back.
 */
export interface AuditRecordToStore extends ChainedRecord {
  index: AuditRecordIndex;
}

/** A range of seqs, both ends inclusive; either end open when absent. */
export interface SeqRange {
  fromSeq?: number;
  toSeq?: number;
}

/** Filters for `lookup`; all given filters must match (AND). */
export interface AuditLookupQuery {
  eventName?: string;
  eventSource?: AuditEventSource | string;
  /** A key id, key ARN, alias name (alias/x) or alias ARN, matched in resources and requestParameters. */
  keyId?: string;
  /** A principal ARN, principal id or access key id. */
  principal?: string;
  bucket?: string;
  startTime?: Date;
  endTime?: Date;
  errorsOnly?: boolean;
  accessDeniedOnly?: boolean;
  /** 1..1000; default 50. */
  limit?: number;
  nextToken?: string;
}

/** One page of lookup results, newest first (as CloudTrail LookupEvents). */
export interface AuditLookupPage {
  records: { seq: number; event: AuditEvent }[];
  nextToken?: string;
}

/**
 * Where records come from for verification and export. Implemented by stores and by
 * in-memory copies of exported records. Iterables are read front to back, once.
 */
export interface AuditRecordSource {
  /** Records in ascending seq order, within `range` when given. */
  records(range?: SeqRange): Iterable<ChainedRecord> | AsyncIterable<ChainedRecord>;
  /** Signed digests in the order they were written. */
  digests(): Iterable<SignedDigest> | AsyncIterable<SignedDigest>;
  /** The persisted head counter (seq of the last appended record), when the source keeps one. */
  headSeq?(): Promise<number | null>;
  /** Seqs whose index columns disagree with their record, when the source keeps any. */
  indexMismatches?(range: SeqRange): Promise<number[]>;
}

/**
 * Persistence for the audit trail. Append-only: nothing here updates or deletes.
 * `appendBatch` is atomic and durable when it resolves; that is the promise the edge's
 * `await sink.append(event)` ultimately rests on.
 */
export interface AuditStore extends AuditRecordSource {
  head(): Promise<ChainHead>;
  /** The newest digest's range end and signature, or null before the first digest. */
  lastDigest(): Promise<LastDigest | null>;
  /** Stores records (consecutive seqs after the head) and moves the head, in one transaction. */
  appendBatch(records: readonly AuditRecordToStore[]): Promise<void>;
  appendDigest(digest: SignedDigest & { fromSeq: number; toSeq: number }): Promise<void>;
  /** Filtered lookup, newest first. Raises InvalidAuditQueryError on a bad token or limit. */
  lookup(query: AuditLookupQuery): Promise<AuditLookupPage>;
  /**
   * Called once by `AuditTrail.open`: this process becomes the store's one writer and may
   * change the file (migrations). Stores that need nothing omit it.
   */
  openForAppend?(): Promise<void>;
  /** A store whose lookup index is filled after the commit says so here; see DeferredAuditIndex. */
  readonly deferredIndex?: DeferredAuditIndex;
}

/**
 * A lookup index filled off the commit path by the trail's owner. Lookups stay exact
 * whatever its lag (records not yet indexed are found by scanning them), so indexing only
 * bounds how much a lookup scans; the trail indexes when idle, when the backlog passes a
 * bound, and on close.
 */
export interface DeferredAuditIndex {
  /** Committed records not yet indexed. */
  backlog(): Promise<number>;
  /**
   * Indexes up to `maxRecords` of the backlog, oldest first, in one transaction; resolves
   * with how many (0 when none were waiting). Store errors reject; nothing is half-indexed.
   */
  indexNext(maxRecords: number): Promise<number>;
}

/** What the trail needs of the newest digest to chain the next one. */
export interface LastDigest {
  toSeq: number;
  lastHash: string;
  signature: string;
}

/** What one committed batch became: seqs `firstSeq`..`head.seq`, consecutive, in entry order. */
export interface CommittedAuditBatch {
  firstSeq: number;
  head: ChainHead;
}

/**
 * Commits the trail somewhere off the caller's thread, possibly shared with writers in
 * other processes (cluster workers): it chains each batch after the head it reads INSIDE
 * its write transaction, so several writers make one gapless chain. Implemented by
 * ThreadAuditWriter (store/sqlite), which also fills the deferred index when asked, and
 * which may journal batches (src/audit/README.md, "The audit journal").
 */
export interface AuditChainWriter {
  /**
   * Makes `entries` (encoded by encodeAuditEvent) durable per the store's durability, in
   * order. Resolves with their seqs once chained and committed in one transaction, or with
   * null once written to a journal from which they are chained later, in order (no seqs
   * yet: `flush` covers them). Rejects when the entries were not made durable; never reorders.
   */
  commit(entries: readonly EncodedAuditEvent[]): Promise<CommittedAuditBatch | null>;
  /**
   * Resolves once everything `commit` resolved before this call is chained in the store,
   * with the head after it; null when every commit already said its seqs (nothing journaled).
   * Rejects with why the journaled records could not be chained yet (they stay journaled).
   */
  flush?(): Promise<ChainHead | null>;
  /** Stores a signed digest (the signer stays with the caller). */
  appendDigest(digest: SignedDigest & { fromSeq: number; toSeq: number }): Promise<void>;
  /** Finishes its work (chaining what is journaled; indexing the backlog when it indexes) and releases the connection. */
  close(): Promise<void>;
}
