import type { DeferredAuditIndex } from './audit-store.js';

/** The in-thread trail's index policy settings (see AuditTrailOptions). */
export interface TrailIndexingOptions {
  readonly idleMs: number;
  readonly backlog: number;
  readonly chunk: number;
  readonly onError: (error: unknown) => void;
  /** Records added to the index, for the trail's stats. */
  readonly onIndexed: (n: number) => void;
  /** True while no batch is queued or committing: idle indexing stops as soon as appends arrive. */
  readonly idle: () => boolean;
}

/**
 * When an in-thread AuditTrail fills its store's deferred index (src/audit/README.md, "The
 * lookup index"): a chunk between commits once `backlog` records are unindexed (bounded lag
 * under endless load), chunk after chunk once no commit came for `idleMs`, everything on
 * close. A failure goes to `onError` and is retried after another `backlog` records; it
 * never fails an append. A trail with a writer thread indexes there instead and has none.
 */
export class TrailIndexing {
  readonly #index: DeferredAuditIndex;
  readonly #o: TrailIndexingOptions;
  // Committed records not yet indexed: an upper bound (a lookup by the store may have indexed some).
  #unindexed: number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #retryAt = 0;
  #stopped = false;

  constructor(index: DeferredAuditIndex, backlog: number, options: TrailIndexingOptions) {
    this.#index = index;
    this.#unindexed = backlog;
    this.#o = options;
  }

  /** Counts a commit's records; indexes one chunk first when the backlog reached its bound. */
  async afterCommit(records: number): Promise<void> {
    this.#unindexed += records;
    if (this.#unindexed >= Math.max(this.#o.backlog, this.#retryAt)) await this.#chunk();
  }

  /** (Re)starts the idle countdown; when it ends with no commit in between, the backlog is indexed. */
  armIdle(): void {
    if (this.#stopped || this.#unindexed === 0) return;
    if (this.#timer) this.#timer.refresh();
    else {
      this.#timer = setTimeout(() => void this.#whileIdle(), this.#o.idleMs);
      this.#timer.unref();
    }
  }

  /** Stops the timer and indexes the whole backlog (failures reported, never thrown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    while (this.#unindexed > 0 && (await this.#chunk()));
  }

  /** Indexes chunk after chunk, yielding a turn between them, until the backlog is gone or appends arrive. */
  async #whileIdle(): Promise<void> {
    while (this.#unindexed > 0 && !this.#stopped && this.#o.idle()) {
      if (!(await this.#chunk())) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** One indexing transaction; false when it failed (reported) or found nothing. Never rejects. */
  async #chunk(): Promise<boolean> {
    if (this.#running) return false;
    this.#running = true;
    const chunk = this.#o.chunk;
    try {
      const n = await this.#index.indexNext(chunk);
      this.#o.onIndexed(n);
      // Fewer than asked: nothing is left (a lookup in the store may have indexed the rest).
      this.#unindexed = n < chunk ? 0 : Math.max(0, this.#unindexed - n);
      this.#retryAt = 0;
      return n > 0;
    } catch (error) {
      // Lookups stay exact without the index; try again once the backlog has grown by another bound.
      this.#retryAt = this.#unindexed + this.#o.backlog;
      this.#o.onError(error);
      return false;
    } finally {
      this.#running = false;
    }
  }
}
