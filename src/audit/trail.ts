import type { AuditChainWriter, AuditStore, ChainHead, LastDigest } from './audit-store.js';
import { encodeAuditEvent } from './encode-event.js';
import { chainRecord } from './chain.js';
import type { ChainedRecord, SignedDigest } from './chain.js';
import { AuditCommitError, AuditSinkClosedError, AuditStoreTruncatedError } from './errors.js';
import { ALL_AUDIT_LEVELS } from './record.js';
import type { AuditEvent, AuditLevel } from './record.js';
import type { AuditSigner } from './signer.js';
import type { AppendReceipt, AuditSink } from './sink.js';
import { AppendQueue, type QueuedAppend } from './trail-append-queue.js';
import { signNextDigest } from './trail-digest.js';
import { TrailIndexing } from './trail-indexing.js';

/** How a trail is built; every field but store and signer has a safe default. */
export interface AuditTrailOptions {
  store: AuditStore;
  /**
   * Signs the digests; null in a process whose records another process signs (a cluster
   * worker: the primary holds the KMS-backed signer), where checkpoint() only flushes.
   */
  signer: AuditSigner | null;
  /**
   * Commits through this writer (a writer thread, possibly one of several on the same file)
   * instead of `store.appendBatch`: it chains each batch after the head it reads inside its
   * own transaction and fills the deferred index itself, so this trail neither chains nor
   * indexes, and `open` does not make this process the store's writer (the store's owner
   * migrated it before starting writers). The index options below then do not apply here.
   */
  writer?: AuditChainWriter;
  /**
   * Other processes append to the store (cluster workers with their own writers): digests
   * cover the store's head read when signing, not this trail's own commits, and the head is
   * polled every `headPollMs` (default 1 s) for `digestEveryRecords`.
   */
  sharedChain?: boolean;
  headPollMs?: number;
  /** Levels recorded; default all (every call is audited). */
  levels?: readonly AuditLevel[];
  /** Sign a digest this often when new records exist; default 5 minutes; 0 turns the timer off. */
  digestIntervalMs?: number;
  /** Also sign once this many records are unsigned; default 10,000; 0 turns it off. */
  digestEveryRecords?: number;
  /** Most records per transaction; default 512. Reaching it flushes without waiting for the next turn. */
  maxBatch?: number;
  /**
   * Deferred lookup index (stores with `deferredIndex`): index the backlog once no commit
   * happened for this long; default 50 ms.
   */
  indexIdleMs?: number;
  /** ...and whenever this many committed records are unindexed, even under endless load; default 4096. */
  indexBacklog?: number;
  /** Records per indexing transaction; default 1024 (each holds the event loop while it runs). */
  indexChunk?: number;
  clock?: () => Date;
  /** Failures of timer-driven digests (the next digest retries the same range) and of indexing. */
  onBackgroundError?: (error: unknown) => void;
  /** Told the paths (never the values) the sink dropped from an event. */
  onRedacted?: (eventName: string, paths: readonly string[]) => void;
}

/** Counters for tests, metrics and the group-commit claim. */
export interface AuditTrailStats {
  records: number;
  transactions: number;
  digests: number;
  redactedFields: number;
  /** Records this trail added to the store's deferred lookup index. */
  indexed: number;
}

/** Counts of journaled records (no seq when acknowledged), for `digestEveryRecords`. */
interface JournalCount {
  /** Records acknowledged from the journal, ever. */
  total: number;
  /** `total` as of the flush the last digest covered. */
  atDigest: number;
  /** A digest that the count started is running: do not start another. */
  digesting: boolean;
}

/**
 * The audit sink of a server: redacts, canonicalises, hash-chains and group-commits
 * events, and signs digests at an interval, every N records and on close.
 *
 * Group commit, pipelined (AppendQueue, trail-append-queue.ts): one batch is committed at
 * a time, the next after it and one more turn of the event loop. Each `append` resolves
 * after its batch is durable: committed, or written to the writer's journal (then chained
 * later, in order; `flush` waits for that). Seqs are assigned in order without gaps.
 */
export class AuditTrail implements AuditSink {
  readonly #o: Required<Omit<AuditTrailOptions, 'onRedacted' | 'writer'>> & Pick<AuditTrailOptions, 'onRedacted' | 'writer'>;
  readonly #levels: ReadonlySet<AuditLevel>;
  #head: ChainHead;
  #lastDigest: LastDigest | null;
  readonly #queue: AppendQueue;
  #digests: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;
  #stats: AuditTrailStats = { records: 0, transactions: 0, digests: 0, redactedFields: 0, indexed: 0 };
  readonly #journaled: JournalCount = { total: 0, atDigest: 0, digesting: false };
  /** The deferred-index policy when this trail commits in-thread to a store that has one. */
  readonly #indexing: TrailIndexing | undefined;

  private constructor(o: AuditTrailOptions, head: ChainHead, lastDigest: LastDigest | null, backlog: number) {
    this.#o = {
      levels: ALL_AUDIT_LEVELS,
      digestIntervalMs: 300_000,
      digestEveryRecords: 10_000,
      maxBatch: 512,
      indexIdleMs: 50,
      indexBacklog: 4096,
      indexChunk: 1024,
      clock: () => new Date(),
      onBackgroundError: () => undefined,
      sharedChain: false,
      headPollMs: 1000,
      ...o,
    };
    this.#levels = new Set(this.#o.levels);
    this.#head = head;
    this.#lastDigest = lastDigest;
    this.#queue = new AppendQueue({
      maxBatch: this.#o.maxBatch,
      commit: (batch) => this.#commit(batch),
      afterCommit: (committed) => this.#afterCommit(committed),
      onEmpty: () => {
        if (!this.#closed) this.#indexing?.armIdle();
      },
    });
    // A writer indexes on its own thread; this trail indexes only what it commits itself.
    const index = o.writer === undefined ? o.store.deferredIndex : undefined;
    this.#indexing =
      index === undefined
        ? undefined
        : new TrailIndexing(index, backlog, {
            idleMs: this.#o.indexIdleMs,
            backlog: this.#o.indexBacklog,
            chunk: this.#o.indexChunk,
            onError: (error) => this.#o.onBackgroundError(error),
            onIndexed: (n) => void (this.#stats.indexed += n),
            idle: () => this.#queue.idle(),
          });
    if (o.signer === null) return;
    if (this.#o.digestIntervalMs > 0) {
      this.#timer = setInterval(() => this.#background(), this.#o.digestIntervalMs);
      this.#timer.unref();
    }
    if (this.#o.sharedChain && this.#o.digestEveryRecords > 0) {
      this.#poll = setInterval(() => void this.#pollSharedHead(), this.#o.headPollMs);
      this.#poll.unref();
    }
  }

  /**
   * Opens a trail on a store, continuing its chain; without `writer`, this process becomes
   * the store's writer (`openForAppend`: migrations, indexing). Raises AuditStoreTruncatedError
   * when the store's head is behind its last digest (never reuses a signed seq). Store errors propagate.
   */
  static async open(options: AuditTrailOptions): Promise<AuditTrail> {
    const [head, last] = await Promise.all([options.store.head(), options.store.lastDigest()]);
    if (last && last.toSeq > head.seq) throw new AuditStoreTruncatedError(head.seq, last.toSeq);
    if (options.writer === undefined) await options.store.openForAppend?.();
    const backlog = options.writer === undefined ? ((await options.store.deferredIndex?.backlog()) ?? 0) : 0;
    const trail = new AuditTrail(options, head, last, backlog);
    trail.#indexing?.armIdle();
    return trail;
  }

  enabled(level: AuditLevel): boolean {
    return !this.#closed && this.#levels.has(level);
  }

  /**
   * Redacts, canonicalises and queues the event; resolves once durable, with its seq when it
   * was chained by then (not for a journaling writer: see AppendReceipt).
   * Rejects with AuditSinkClosedError after close, AuditCommitError when the batch's
   * transaction failed. Values that are not plain JSON are dropped (reported through
   * `onRedacted`), never stored. Encodes synchronously, so later changes by the caller
   * do not reach the record.
   */
  append(event: AuditEvent): Promise<AppendReceipt> {
    if (this.#closed) return Promise.reject(new AuditSinkClosedError());
    // Queued as it is (its `dropped` list rides along unread): an object rest to strip it
    // took V8's slow copying path once per request.
    const entry = encodeAuditEvent(event);
    const dropped = entry.dropped;
    if (dropped.length > 0) {
      this.#stats.redactedFields += dropped.length;
      this.#o.onRedacted?.(String(event.eventName), dropped);
    }
    return this.#queue.enqueue(entry);
  }

  /**
   * Resolves once every append issued before this call is committed (or rejected) and, with
   * a writer that journals, chained into the store (the writer's flush; `head()` then covers
   * them). Appends made later do not hold it up, so a digest is not postponed by sustained
   * load. Rejects only with the writer's error when journaled records could not be chained
   * yet (they stay journaled and acknowledged).
   */
  async flush(): Promise<void> {
    await this.#queue.flush();
    const head = await this.#o.writer?.flush?.();
    if (head != null && head.seq > this.#head.seq) this.#head = { seq: head.seq, hash: head.hash };
  }

  /**
   * Flushes, signs a digest over any unsigned records (when this trail signs), stops the
   * timers and indexes the whole backlog (an indexing failure goes to onBackgroundError:
   * lookups stay exact without it); with a writer, closes it (it indexes on its side).
   * Idempotent. Rejects with the signer's or the store's error.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#poll);
    try {
      await this.checkpoint();
    } finally {
      await this.#o.writer?.close();
    }
    await this.#indexing?.stop();
  }

  /**
   * Flushes and signs a digest over the records since the last one; resolves with it, or
   * null when there was nothing new or this trail does not sign. Signer and store errors propagate.
   */
  async checkpoint(): Promise<SignedDigest | null> {
    const journaled = this.#journaled.total;
    await this.flush();
    if (this.#o.signer === null) return null;
    const next = this.#digests.then(() => this.#writeDigest());
    this.#digests = next.catch(() => undefined);
    const signed = await next;
    // The flush above chained these, and the digest (or nothing new) covers them.
    this.#journaled.atDigest = Math.max(this.#journaled.atDigest, journaled);
    return signed;
  }

  /** The last committed record's seq and hash. */
  head(): ChainHead {
    return { ...this.#head };
  }

  stats(): AuditTrailStats {
    return { ...this.#stats };
  }

  /** After a batch that committed (settled, counted for flush): a digest if due, then the index's bound. */
  async #afterCommit(committed: number): Promise<void> {
    this.#digestIfDue(this.#head.seq);
    this.#journalDigestIfDue();
    // Under endless load there is no idle moment: bound the lag between commits instead.
    await this.#indexing?.afterCommit(committed);
  }

  /** Commits one batch and settles its appends; resolves with how many records it committed (0: it failed). */
  async #commit(batch: QueuedAppend[]): Promise<number> {
    if (this.#o.writer !== undefined) return this.#commitThrough(this.#o.writer, batch);
    let prev: ChainHead = this.#head;
    const records = batch.map((p) => {
      const r: ChainedRecord = chainRecord(prev, p.entry.json);
      prev = r;
      return { ...r, index: p.entry.index };
    });
    try {
      await this.#o.store.appendBatch(records);
    } catch (cause) {
      const error = new AuditCommitError({ cause });
      for (const p of batch) p.reject(error);
      return 0;
    }
    this.#head = { seq: prev.seq, hash: prev.hash };
    this.#stats.transactions += 1;
    this.#stats.records += batch.length;
    batch.forEach((p, i) => p.resolve({ seq: records[i]?.seq ?? 0, eventID: p.entry.eventID }));
    return batch.length;
  }

  /** A commit by the writer, which chains after the head it reads in its transaction. */
  async #commitThrough(writer: AuditChainWriter, batch: QueuedAppend[]): Promise<number> {
    let committed;
    try {
      committed = await writer.commit(batch.map((p) => p.entry));
    } catch (cause) {
      const error = new AuditCommitError({ cause });
      for (const p of batch) p.reject(error);
      return 0;
    }
    this.#stats.transactions += 1;
    this.#stats.records += batch.length;
    if (committed === null) {
      // Journaled: durable, chained later by the writer (no seq yet); flush() covers it.
      this.#journaled.total += batch.length;
      for (const p of batch) p.resolve({ eventID: p.entry.eventID });
      return batch.length;
    }
    const { firstSeq, head } = committed;
    if (head.seq > this.#head.seq) this.#head = { seq: head.seq, hash: head.hash };
    batch.forEach((p, i) => p.resolve({ seq: firstSeq + i, eventID: p.entry.eventID }));
    return batch.length;
  }

  /** `digestEveryRecords` for journaled records: one digest at a time, counted from the flush the last one covered. */
  #journalDigestIfDue(): void {
    const j = this.#journaled;
    if (this.#o.signer === null || this.#o.digestEveryRecords <= 0 || j.digesting || j.total - j.atDigest < this.#o.digestEveryRecords) return;
    j.digesting = true;
    const from = j.total;
    this.checkpoint()
      .catch((error: unknown) => {
        // Retried after another digestEveryRecords (or by the timer, checkpoint, close): not
        // once per batch while the cause lasts.
        j.atDigest = Math.max(j.atDigest, from);
        this.#o.onBackgroundError(error);
      })
      .finally(() => void (j.digesting = false));
  }

  #digestIfDue(headSeq: number): void {
    const unsigned = headSeq - (this.#lastDigest?.toSeq ?? 0);
    if (this.#o.signer !== null && this.#o.digestEveryRecords > 0 && unsigned >= this.#o.digestEveryRecords) this.#background();
  }

  async #pollSharedHead(): Promise<void> {
    if (this.#closed) return;
    try {
      this.#digestIfDue((await this.#o.store.head()).seq);
    } catch (error) {
      this.#o.onBackgroundError(error);
    }
  }

  #background(): void {
    this.checkpoint().catch((error: unknown) => this.#o.onBackgroundError(error));
  }

  async #writeDigest(): Promise<SignedDigest | null> {
    const signer = this.#o.signer;
    if (signer === null) return null;
    const head = this.#o.sharedChain ? await this.#o.store.head() : this.#head;
    const next = await signNextDigest(signer, this.#lastDigest, head, this.#o.clock());
    if (next === null) return null;
    await (this.#o.writer !== undefined ? this.#o.writer.appendDigest(next.row) : this.#o.store.appendDigest(next.row));
    this.#lastDigest = next.last;
    this.#stats.digests += 1;
    return next.signed;
  }
}
