// The program of an audit writer thread (node:worker_threads), started by
// ThreadAuditWriter (audit-writer-client.ts): it owns one SqliteAuditWriter connection and
// does the chain hashing, the SQLite append, the deferred indexing and the WAL work (the
// auto-checkpoint runs on the committing connection), so none of it runs on the event loop
// that serves requests. Protocol: see AuditWriterRequest / AuditWriterReply.
import { parentPort, workerData } from 'node:worker_threads';
import type { DigestToStore } from './audit-append.js';
import { JournalIngester } from './audit-journal-ingest.js';
import { SqliteAuditWriter, type AuditBatchText } from './audit-writer.js';

/** workerData of the thread. */
export interface AuditWriterThreadData {
  readonly path: string;
  readonly synchronous: 'NORMAL' | 'FULL';
  /** Index policy, or null when another process indexes this file. */
  readonly index: { readonly idleMs: number; readonly backlog: number; readonly chunk: number } | null;
  /** This process's journal, which the thread ingests on its own schedule; null: batches come as `commit` messages. */
  readonly journal: { readonly dir: string; readonly name: string } | null;
  /**
   * Other processes' journals in `dir` that this thread ingests on the same schedule (the
   * cluster primary's thread: its live workers'), `names` at start; `watch` and `retire`
   * change the set. Null: none (`watch` is then refused).
   */
  readonly watched: { readonly dir: string; readonly names: readonly string[] } | null;
}

/** Main thread → writer thread. */
export type AuditWriterRequest =
  | { readonly op: 'commit'; readonly id: number; readonly batch: AuditBatchText }
  | { readonly op: 'digest'; readonly id: number; readonly digest: DigestToStore }
  | { readonly op: 'flush'; readonly id: number }
  | { readonly op: 'watch'; readonly id: number; readonly name: string }
  | { readonly op: 'retire'; readonly id: number; readonly name: string }
  | { readonly op: 'close'; readonly id: number };

/**
 * Writer thread → main thread: a commit's first seq and new head, a flush's head (everything
 * journaled before it was ingested), a digest, watch, retire or close done,
 * an error message (never data: SQLite messages name tables and constraints only), an
 * indexing failure the thread reports on its own (id 0), or why the thread could not open
 * audit.db (id 0, `startError`; the thread then ends without serving anything).
 */
export type AuditWriterReply =
  | { readonly id: number; readonly firstSeq: number; readonly seq: number; readonly hash: string }
  | { readonly id: number; readonly flushed: true; readonly seq: number; readonly hash: string }
  | { readonly id: number; readonly done: true; readonly indexed: number }
  | { readonly id: number; readonly error: string }
  | { readonly id: 0; readonly startError: string };

const SAFETY_POLL_MS = 1000;
/**
 * Journal polling: every POLL_MS, busy or idle. Not sooner: the records are durable in the
 * journal already, and a lookup or a flush ingests at once, so a shorter interval only cuts
 * the same records into more transactions, each paying its fixed cost (locks, the head and
 * offset rows, the partial pages rewritten to the WAL and copied again by the checkpoint, a
 * wake-up that preempts the request thread on a busy core). At 2,500 4 KiB SSE-KMS PUTs/s
 * (about a server's rate here; 5,000 records/s) this thread spent about a quarter less CPU
 * per record polling every 250 ms than every 25 ms (src/audit/README.md, "Polling every
 * 250 ms"); a poll then reads up to a few MB, into the ingester's kept buffer
 * (audit-journal-ingest.ts), since a fresh one of that size costs more than the commits
 * saved. Below the index policy's idleMs (audit-wiring.ts: 500), so that under load the
 * idle indexing never runs between two polls.
 */
const POLL_MS = 250;

function attempt<T>(work: () => T, fallback: T): T {
  try {
    return work();
  } catch {
    return fallback;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
}

/** Runs the thread until a close request, or ends it at once when audit.db cannot be opened. */
function runAuditWriterThread(): void {
  const port = parentPort;
  if (port === null) throw new Error('audit-writer-thread: not a worker thread');
  const data = workerData as AuditWriterThreadData;
  const reply = (r: AuditWriterReply): void => port.postMessage(r);
  let writer: SqliteAuditWriter;
  try {
    writer = new SqliteAuditWriter(data.path, { synchronous: data.synchronous });
  } catch (error) {
    // Say why and end: the client rejects what it sent with this reason, and its next call
    // starts a new thread that tries again (a thread kept alive here would fail every batch
    // for good, even after a passing cause such as a full descriptor table went away).
    reply({ id: 0, startError: errorText(error) });
    port.close();
    return;
  }
  const indexing = data.index !== null ? new IndexPolicy(writer, data.index, (error) => reply({ id: 0, error })) : undefined;
  let journal: JournalPoll | undefined;
  if (data.journal !== null || data.watched !== null) {
    journal = new JournalPoll(writer, indexing, (error) => reply({ id: 0, error }));
    if (data.journal !== null) journal.add(data.journal.dir, data.journal.name);
    for (const name of data.watched?.names ?? []) journal.add(data.watched!.dir, name);
  }
  port.on('message', (m: AuditWriterRequest) => {
    handle(writer, indexing, journal, data.watched?.dir, m, reply);
    if (m.op === 'close') port.close();
  });
}

/** Serves one request; a failed commit, flush or digest is answered with its error, nothing written. */
function handle(
  writer: SqliteAuditWriter,
  indexing: IndexPolicy | undefined,
  journal: JournalPoll | undefined,
  watchedDir: string | undefined,
  m: AuditWriterRequest,
  reply: (r: AuditWriterReply) => void,
): void {
  switch (m.op) {
    case 'commit': {
      let committed;
      try {
        committed = writer.commit(m.batch);
      } catch (error) {
        reply({ id: m.id, error: errorText(error) });
        return;
      }
      reply({ id: m.id, firstSeq: committed.firstSeq, seq: committed.head.seq, hash: committed.head.hash });
      // After the reply: the request thread goes on while this one indexes.
      indexing?.afterCommit(committed.head.seq);
      return;
    }
    case 'flush':
      try {
        journal?.ingest();
        const head = writer.head();
        reply({ id: m.id, flushed: true, seq: head.seq, hash: head.hash });
      } catch (error) {
        reply({ id: m.id, error: errorText(error) });
      }
      return;
    case 'digest':
      try {
        writer.appendDigest(m.digest);
        reply({ id: m.id, done: true, indexed: 0 });
      } catch (error) {
        reply({ id: m.id, error: errorText(error) });
      }
      return;
    case 'watch':
      if (journal === undefined || watchedDir === undefined) reply({ id: m.id, error: 'audit writer thread: started without watched journals' });
      else {
        journal.add(watchedDir, m.name);
        reply({ id: m.id, done: true, indexed: 0 });
      }
      return;
    case 'retire':
      // Unknown here (never watched, or a thread started after the client forgot it): nothing
      // to do; the caller's recovery ingests whatever is left.
      try {
        journal?.retire(m.name);
        reply({ id: m.id, done: true, indexed: 0 });
      } catch (error) {
        reply({ id: m.id, error: errorText(error) });
      }
      return;
    case 'close':
      close(writer, indexing, journal, m.id, reply);
      return;
    default: {
      const never: never = m;
      throw new Error(`unknown audit writer request ${String(never)}`);
    }
  }
}

/**
 * Ingests and seals the journal (the request thread closed it), indexes the backlog, closes
 * the connection. A failed ingestion is answered as an error after the connection is closed:
 * the journal stays for recovery at the next start.
 */
function close(writer: SqliteAuditWriter, indexing: IndexPolicy | undefined, journal: JournalPoll | undefined, id: number, reply: (r: AuditWriterReply) => void): void {
  let failure: unknown;
  try {
    journal?.finish();
  } catch (error) {
    failure = error;
  }
  const indexed = indexing?.stop() ?? 0;
  writer.close();
  reply(failure === undefined ? { id, done: true, indexed } : { id, error: `audit journal left for recovery: ${errorText(failure)}` });
}

/**
 * The thread's ingestion of journals: its own process's, and (the cluster primary's thread)
 * those of the live workers. Polls them all (every POLL_MS), commits what it finds (one
 * JournalIngester per name), lets the index policy see each commit, and reports a failure
 * once per distinct message (the records stay in the journal; the next poll retries). One
 * name's failure does not hold up the others.
 */
class JournalPoll {
  readonly #writer: SqliteAuditWriter;
  readonly #indexing: IndexPolicy | undefined;
  readonly #report: (message: string) => void;
  readonly #ingesters = new Map<string, JournalIngester>();
  #timer: NodeJS.Timeout;
  #lastFailure: string | undefined;
  readonly #damageReported = new Set<string>();

  constructor(writer: SqliteAuditWriter, indexing: IndexPolicy | undefined, report: (message: string) => void) {
    this.#writer = writer;
    this.#indexing = indexing;
    this.#report = report;
    this.#timer = setTimeout(() => this.#poll(), 0);
  }

  /** Ingests journal `name` in `dir` from now on (from its stored offset); idempotent. */
  add(dir: string, name: string): void {
    if (this.#ingesters.has(name)) return;
    this.#ingesters.set(
      name,
      new JournalIngester(this.#writer, {
        dir,
        name,
        onCommit: (c) => this.#indexing?.afterCommit(c.head.seq),
        onDamaged: (d, sealed) => {
          const message = `audit journal ${d.file}: invalid frame at byte ${d.offset}; ${sealed ? `renamed ${d.file}.damaged (kept as evidence)` : 'ingestion stops there'}`;
          if (this.#damageReported.has(message)) return;
          this.#damageReported.add(message);
          this.#report(message);
        },
      }),
    );
  }

  /**
   * For a journal nobody writes any more (its process exited): ingests it to its end, seals
   * its last file and stops watching it. On failure it stops watching it too (descriptor
   * closed, nothing kept in memory), so that recovery on another connection can take it
   * over, and raises. Unknown name: nothing.
   */
  retire(name: string): void {
    const ingester = this.#ingesters.get(name);
    if (ingester === undefined) return;
    this.#ingesters.delete(name);
    try {
      ingester.finish();
    } catch (error) {
      ingester.release();
      throw error;
    }
  }

  /** Ingests everything written so far in every journal; raises the first failure (after trying the others). */
  ingest(): number {
    const { total, failure } = this.#ingestEach();
    if (failure !== undefined) throw failure;
    return total;
  }

  /** Stops polling; retires every journal (each ingested and sealed). Raises the first failure. */
  finish(): void {
    clearTimeout(this.#timer);
    let failure: unknown;
    for (const name of [...this.#ingesters.keys()]) {
      try {
        this.retire(name);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  #ingestEach(): { total: number; failure: unknown } {
    let total = 0;
    let failure: unknown;
    for (const ingester of this.#ingesters.values()) {
      try {
        total += ingester.ingestAll();
      } catch (error) {
        failure ??= error;
      }
    }
    return { total, failure };
  }

  #poll(): void {
    const { failure } = this.#ingestEach();
    if (failure === undefined) this.#lastFailure = undefined;
    else {
      const message = `audit journal ingestion failed (retried): ${errorText(failure)}`;
      if (message !== this.#lastFailure) this.#report(message);
      this.#lastFailure = message;
    }
    this.#timer = setTimeout(() => this.#poll(), POLL_MS);
  }
}

/**
 * When this thread indexes (one writer per file does): a chunk after any commit that leaves
 * `backlog` or more records unindexed (bounded lag under endless load), the whole backlog
 * once no commit came for `idleMs` (also polled, since the other processes' commits arm no
 * timer here), everything on close. A failure is reported and retried after another bound.
 */
class IndexPolicy {
  readonly #writer: SqliteAuditWriter;
  readonly #o: { idleMs: number; backlog: number; chunk: number };
  readonly #report: (message: string) => void;
  readonly #poll: NodeJS.Timeout;
  #idle: NodeJS.Timeout | undefined;
  #retryAt = 0;
  #lastCommit = 0;
  #stopped = false;
  /** The watermark as of this thread's last indexing (read once at the first commit). */
  #indexedTo: number | undefined;

  constructor(writer: SqliteAuditWriter, o: { idleMs: number; backlog: number; chunk: number }, report: (message: string) => void) {
    this.#writer = writer;
    this.#o = o;
    this.#report = report;
    this.#poll = setInterval(() => {
      if (Date.now() - this.#lastCommit >= this.#o.idleMs) void this.#whileIdle();
    }, SAFETY_POLL_MS);
  }

  /**
   * After a commit that left the head at `headSeq` (which counts every writer's records: the
   * head is read inside the commit's transaction). The backlog is that head minus the
   * watermark this thread last saw, so no query runs per commit; only this thread moves the
   * watermark (one indexer per file), and if another did, the estimate is only too high and
   * #chunk reads the real watermark in its own transaction.
   */
  afterCommit(headSeq: number): void {
    this.#lastCommit = Date.now();
    // Unreadable watermark: 0 makes the estimate large, so #chunk runs and reports why.
    this.#indexedTo ??= attempt(() => this.#writer.indexedTo(), 0);
    if (headSeq - this.#indexedTo >= Math.max(this.#o.backlog, this.#retryAt)) this.#chunk();
    if (this.#idle) this.#idle.refresh();
    else this.#idle = setTimeout(() => void this.#whileIdle(), this.#o.idleMs);
  }

  /** Stops the timers and indexes the whole backlog; returns how many records it indexed. */
  stop(): number {
    this.#stopped = true;
    clearInterval(this.#poll);
    clearTimeout(this.#idle);
    let total = 0;
    for (let n = this.#chunk(); n > 0; n = this.#chunk()) total += n;
    return total;
  }

  async #whileIdle(): Promise<void> {
    while (!this.#stopped && Date.now() - this.#lastCommit >= this.#o.idleMs && this.#chunk() > 0) {
      await new Promise((r) => setImmediate(r));
    }
  }

  /** One indexing transaction; 0 when nothing was left or it failed (reported). */
  #chunk(): number {
    try {
      const n = this.#writer.indexNext(this.#o.chunk);
      this.#indexedTo = this.#writer.indexedTo();
      this.#retryAt = 0;
      return n;
    } catch (error) {
      this.#retryAt = this.#o.backlog * 2;
      this.#report(`audit indexing failed: ${errorText(error)}`);
      return 0;
    }
  }
}

if (parentPort !== null && (workerData as { auditWriterThread?: unknown } | null)?.auditWriterThread === true) runAuditWriterThread();
