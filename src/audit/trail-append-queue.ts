import type { EncodedAuditEvent } from './encode-event.js';
import type { AppendReceipt } from './sink.js';

/** One queued append: its encoded event and the settlement of the caller's promise. */
export interface QueuedAppend {
  readonly entry: EncodedAuditEvent;
  readonly resolve: (r: AppendReceipt) => void;
  readonly reject: (e: unknown) => void;
}

/** What the queue calls; the AuditTrail supplies the commit and its follow-ups. */
export interface AppendQueueOptions {
  /** Most appends per batch; reaching it starts a batch without waiting for the next turn. */
  readonly maxBatch: number;
  /**
   * Commits one batch and settles every one of its appends (resolve or reject); resolves
   * with how many records it committed (0: the batch failed). Must never reject.
   */
  readonly commit: (batch: QueuedAppend[]) => Promise<number>;
  /**
   * Runs after a batch that committed records has been settled (and counted for `flush`),
   * before the next batch starts: digests due, the in-thread index's bound under load.
   */
  readonly afterCommit: (committed: number) => Promise<void>;
  /** The queue ran empty with no batch in flight (the trail arms its idle indexing). */
  readonly onEmpty: () => void;
}

/**
 * The trail's group commit, pipelined (src/audit/README.md): one batch is committed at a
 * time. Appends made while a batch is being committed (or waiting to be) queue for the
 * next one, which starts as soon as the previous commit has finished and the event loop
 * has turned once (so the requests that turn brings join it), or at once when `maxBatch`
 * are queued. Batches are handed to `commit` in append order, so seqs follow that order.
 * Knows nothing of chaining, stores or digests; never rejects on its own.
 */
export class AppendQueue {
  readonly #o: AppendQueueOptions;
  #queue: QueuedAppend[] = [];
  #scheduled = false;
  #flushing: Promise<void> | null = null;
  // Appends queued and appends settled (committed or rejected), for flush().
  #appended = 0;
  #settled = 0;
  #waiters: { upTo: number; resolve: () => void }[] = [];

  constructor(options: AppendQueueOptions) {
    this.#o = options;
  }

  /** Queues an encoded event; the promise settles as `commit` settles it for its batch. */
  enqueue(entry: EncodedAuditEvent): Promise<AppendReceipt> {
    this.#appended += 1;
    return new Promise<AppendReceipt>((resolve, reject) => {
      this.#queue.push({ entry, resolve, reject });
      if (this.#queue.length >= this.#o.maxBatch && this.#flushing === null) void this.#drain();
      else this.#schedule();
    });
  }

  /**
   * Resolves once every append enqueued before this call is settled (committed or rejected).
   * Appends made later do not hold it up, so a digest is not postponed by sustained load.
   * Never rejects.
   */
  flush(): Promise<void> {
    const upTo = this.#appended;
    if (this.#settled >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ upTo, resolve }));
  }

  /** True while no append is queued and no batch is committing. */
  idle(): boolean {
    return this.#queue.length === 0 && this.#flushing === null;
  }

  #schedule(): void {
    // While a batch is committing, its completion schedules the next one.
    if (this.#scheduled || this.#flushing !== null) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  /** Commits queued batches one after another; resolves when the queue is empty. */
  #drain(): Promise<void> {
    this.#flushing ??= (async () => {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#o.maxBatch);
        const committed = await this.#o.commit(batch);
        this.#settle(batch.length);
        if (committed > 0) await this.#o.afterCommit(committed);
        // Pipelining: let one turn of the event loop add its appends before the next commit.
        if (this.#queue.length > 0 && this.#queue.length < this.#o.maxBatch) await new Promise((r) => setImmediate(r));
      }
    })().finally(() => {
      this.#flushing = null;
      // Appends that arrived after the loop saw an empty queue, before this ran.
      if (this.#queue.length > 0) this.#schedule();
      else this.#o.onEmpty();
    });
    return this.#flushing;
  }

  #settle(n: number): void {
    this.#settled += n;
    if (this.#waiters.length === 0) return;
    const due = this.#waiters.filter((w) => w.upTo <= this.#settled);
    this.#waiters = this.#waiters.filter((w) => w.upTo > this.#settled);
    for (const w of due) w.resolve();
  }
}
