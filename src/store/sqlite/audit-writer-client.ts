import { Worker } from 'node:worker_threads';
import type { AuditChainWriter, ChainHead, CommittedAuditBatch } from '../../audit/audit-store.js';
import { quoteJsonString } from '../../audit/canonical-json.js';
import { flat, type EncodedAuditEvent } from '../../audit/encode-event.js';
import type { AuditRecordIndex, AuditTerm } from '../../audit/record-index.js';
import { encodeTermsColumn, type DigestToStore } from './audit-append.js';
import { AuditJournalWriter, type AuditJournalOptions } from './audit-journal.js';
import type { AuditWriterReply, AuditWriterRequest, AuditWriterThreadData } from './audit-writer-thread.js';
import type { AuditBatchText } from './audit-writer.js';

/** How to start a writer thread. */
export interface ThreadAuditWriterOptions {
  /** audit.db; must exist, migrated by the store's owner (SqliteAuditStore.prepareForWriters). */
  readonly path: string;
  readonly synchronous: 'NORMAL' | 'FULL';
  /** The deferred-index policy, or null when another process of the cluster indexes. */
  readonly index: AuditWriterThreadData['index'];
  /** Indexing failures the thread reports (messages only; lookups stay exact without the index). */
  readonly onBackgroundError?: (error: Error) => void;
  /**
   * Told each thread as it starts (the first, and each replacement after one died): for
   * tests, which kill it to exercise the recovery path. Never needed to use the writer.
   */
  readonly onThreadStart?: (thread: Worker) => void;
  /**
   * Journal the batches (src/audit/README.md, "The audit journal"): `commit` writes each
   * batch to this process's journal file and resolves after that write (`process`) or its
   * fdatasync (`power`); the thread ingests the journal into audit.db on its own schedule.
   * Without it, each batch is posted to the thread and resolves after its transaction.
   */
  readonly journal?: AuditJournalOptions;
  /**
   * Other processes' journals in `dir` that the thread ingests too (the cluster primary's
   * thread: its live workers', each named by `watchJournal` and let go by `retireJournal`);
   * `flush` then makes the thread ingest all of them.
   */
  readonly watchedJournals?: { readonly dir: string };
}

/** Before restarting a journal's thread that died; longer when it could not open audit.db. */
const RESTART_MS = 100;
const RESTART_AFTER_START_FAILURE_MS = 1000;
/** What a journaled commit resolves with: no seq yet (the thread assigns it when it ingests). */
const JOURNALED: Promise<null> = Promise.resolve(null);

interface Pending {
  readonly resolve: (reply: AuditWriterReply) => void;
  readonly reject: (error: Error) => void;
}

// Under tsx (running from .ts), a worker does not inherit the --import loader: the
// bootstrap registers tsx itself before importing the thread's module. Compiled, it
// imports the .js beside this file.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(`./audit-writer-thread${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url).href;
const TSX_API = FROM_SOURCE ? import.meta.resolve('tsx/esm/api') : null;
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  await import(workerData.entry);
})().catch((error) => { process.nextTick(() => { throw error; }); });
`;

/** `entries` as the one string a commit posts to the writer thread (see AuditBatchText); '' for none. */
export function encodeAuditBatch(entries: readonly EncodedAuditEvent[]): AuditBatchText {
  // Appended piece by piece: each concatenation is one more node of the batch's rope, which
  // the journal write flattens; a record costs two (its head, with the line feed before it
  // when it is not the first, and its JSON).
  let batch = '';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as EncodedAuditEvent;
    const head = headOf(e.index);
    batch += i === 0 ? head.text : head.textAfterRecord;
    batch += e.json;
  }
  return batch;
}

/** A record's head as last written (its columns line, its terms column and a line feed), with the index it was written for. */
interface RecordHead {
  readonly index: AuditRecordIndex;
  readonly text: string;
  /** A line feed, then `text`: the head of a record that follows another. */
  readonly textAfterRecord: string;
}

/**
 * The last few heads written, most recent kinds of record (an S3 PUT writes its PutObject and
 * GenerateDataKey records alternately): records of one kind by one caller repeat every column
 * and every term within a second. A scan of a few entries, not a map: no string hashing per record.
 */
const RECORD_HEADS: RecordHead[] = [];
const KEPT_RECORD_HEADS = 4;
let nextHeadSlot = 0;

/**
 * A record's head: its lookup columns (exactly JSON.stringify of [eventTime, eventMs,
 * eventName, eventSource, errorCode, 0 | 1]; eventMs is a finite number, which a template
 * writes as JSON does) and a line feed, its terms column (encodeTermsColumn) and a line feed;
 * the text remembered for equal columns and terms when there is one, else built flat, once,
 * without the array and a serialiser call per field.
 */
function headOf(x: AuditRecordIndex): RecordHead {
  for (const head of RECORD_HEADS) if (sameColumns(head.index, x) && sameTerms(head.index.terms, x.terms)) return head;
  const text = flat(`[${quoteField(x.eventTime)},${x.eventMs},${quoteField(x.eventName)},${quoteField(x.eventSource)},${x.errorCode === null ? 'null' : quoteField(x.errorCode)},${x.accessDenied ? 1 : 0}]\n${encodeTermsColumn(x.terms)}\n`);
  // A copy of the columns and terms it was written for, not the caller's index: an index
  // changed after it was encoded must not find the text of what it was.
  const index: AuditRecordIndex = { ...x, terms: x.terms.map((t) => ({ kind: t.kind, value: t.value })) };
  const head: RecordHead = { index, text, textAfterRecord: flat(`\n${text}`) };
  RECORD_HEADS[nextHeadSlot] = head;
  nextHeadSlot = (nextHeadSlot + 1) % KEPT_RECORD_HEADS;
  return head;
}

function sameColumns(a: AuditRecordIndex, b: AuditRecordIndex): boolean {
  return a.eventName === b.eventName && a.eventTime === b.eventTime && Object.is(a.eventMs, b.eventMs) && a.eventSource === b.eventSource && a.errorCode === b.errorCode && a.accessDenied === b.accessDenied;
}

// Terms are typed, not checked (an index may come over IPC): Object.is, so a value that is not
// a string (NaN included) is never taken for another whose column text differs.
function sameTerms(a: readonly AuditTerm[], b: readonly AuditTerm[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const s = a[i] as AuditTerm;
    const t = b[i] as AuditTerm;
    if (!Object.is(s.kind, t.kind) || !Object.is(s.value, t.value)) return false;
  }
  return true;
}

// JSON.stringify of a column value: an index is typed, not checked, so a non-string still
// serialises as it did.
function quoteField(v: string): string {
  return typeof v === 'string' ? quoteJsonString(v) : String(JSON.stringify(v));
}

/**
 * The AuditChainWriter of a serving process: a node:worker_threads thread with its own
 * audit.db connection (audit-writer-thread.ts) chains, appends and indexes. With a journal
 * (a server: src/audit/README.md, "The audit journal"), `commit` writes each batch as one
 * string (AuditBatchText) in one frame to this process's journal file and resolves at once
 * (or after fdatasync), without a message; the thread ingests the journal on its own
 * schedule and `flush` makes it catch up. Without one, each batch is posted in ONE message
 * and resolves with the committed seqs the thread answers. The thread starts at
 * construction (messages queue until it runs) and is unref'd while nothing is pending, so it
 * never keeps a process alive by itself. If it dies, or cannot open audit.db (it then ends at
 * once), pending calls reject (with why it could not open) and a new one is started: by the
 * next call, or with a journal after a short delay (the chain head and the journal offsets
 * live in the file, not in the thread).
 */
export class ThreadAuditWriter implements AuditChainWriter {
  readonly #o: ThreadAuditWriterOptions;
  readonly #journal: AuditJournalWriter | undefined;
  #restart: NodeJS.Timeout | undefined;
  #reportedStartFailure: string | undefined;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 1;
  #closed = false;
  /** The names of watchedJournals being ingested: a replacement thread starts with them. */
  readonly #watched = new Set<string>();
  // Why the last thread could not open audit.db: close() has nothing to close then.
  #startFailure: Error | undefined;

  /** Starts the thread; with a journal, creates its first file first (raises what mkdir and open raise). */
  constructor(options: ThreadAuditWriterOptions) {
    this.#o = options;
    this.#journal = options.journal !== undefined ? new AuditJournalWriter(options.journal) : undefined;
    this.#worker = this.#start();
  }

  /**
   * See AuditChainWriter.commit. Journaled: resolves null once the batch is written to the
   * journal (and fdatasync'd for `power`), rejects when the write or the flush failed.
   * Otherwise: rejects with the thread's error (message only) or when the thread died.
   */
  commit(entries: readonly EncodedAuditEvent[]): Promise<CommittedAuditBatch | null> {
    if (this.#journal === undefined) return this.#commitInThread(entries);
    if (this.#closed) return Promise.reject(new Error('audit writer is closed'));
    return journalCommit(this.#journal, entries);
  }

  /**
   * Journaled (or watching other journals): makes the thread ingest everything written so far
   * (in every journal it ingests) and resolves with the head after it; rejects with why
   * ingestion failed (the records stay in the journal). Without a journal, every commit
   * already answered its head: resolves null.
   */
  async flush(): Promise<ChainHead | null> {
    if (this.#journal === undefined && this.#o.watchedJournals === undefined) return null;
    const id = this.#nextId++;
    const r = await this.#call(id, { op: 'flush', id });
    if (!('flushed' in r)) throw new Error('audit writer: unexpected reply');
    return { seq: r.seq, hash: r.hash };
  }

  async #commitInThread(entries: readonly EncodedAuditEvent[]): Promise<CommittedAuditBatch> {
    const id = this.#nextId++;
    const r = await this.#call(id, { op: 'commit', id, batch: encodeAuditBatch(entries) });
    if (!('firstSeq' in r)) throw new Error('audit writer: unexpected reply');
    return { firstSeq: r.firstSeq, head: { seq: r.seq, hash: r.hash } };
  }

  /**
   * The startup probe: resolves once a thread has opened audit.db and taken and released its
   * write lock, by committing an empty batch (BEGIN IMMEDIATE, the head read, COMMIT: nothing
   * is written, the chain does not move). Rejects with why not, as the thread says it
   * (SQLite's message, e.g. "SqliteError: file is not a database", or "database is locked"
   * once another connection held the lock past the busy timeout). Starts a thread if none
   * runs. A server awaits it before listening, so it never looks started while it cannot audit.
   */
  async probe(): Promise<void> {
    const id = this.#nextId++;
    await this.#call(id, { op: 'commit', id, batch: '' });
  }

  /**
   * With watchedJournals: the thread ingests journal `name` (in that directory) from its stored
   * offset on, on its schedule and at each flush, until retireJournal; a replacement thread
   * does too. Resolves once the thread took it; rejects when it runs without watchedJournals
   * or is closed. Never touches the file itself.
   */
  async watchJournal(name: string): Promise<void> {
    this.#watched.add(name);
    const id = this.#nextId++;
    await this.#call(id, { op: 'watch', id, name });
  }

  /**
   * For a watched journal nobody writes any more (its process exited): the thread ingests it
   * to its end, seals it (removed, or renamed `.damaged`) and stops watching it. Whether it
   * resolves or rejects (why it could not), the thread no longer touches the name when this
   * settles, so recovery (recoverAuditJournals, its own connection) may then take over what is left.
   */
  async retireJournal(name: string): Promise<void> {
    this.#watched.delete(name);
    const id = this.#nextId++;
    await this.#call(id, { op: 'retire', id, name });
  }

  /** The journal names being watched (watchJournal, not yet retired). */
  watchedJournals(): string[] {
    return [...this.#watched];
  }

  async appendDigest(digest: DigestToStore): Promise<void> {
    const id = this.#nextId++;
    await this.#call(id, { op: 'digest', id, digest });
  }

  /**
   * Indexes the backlog (when this thread indexes), closes the connection and ends the thread.
   * Idempotent. Resolves at once when no thread runs, and when the thread could not open
   * audit.db (the calls it was sent already rejected with why); rejects when a running thread
   * fails to close or dies meanwhile.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const id = this.#nextId++;
    // Journaled: nothing is written after this, and a thread (a new one if none runs) ingests
    // and seals the journal before it closes.
    this.#journal?.close();
    clearTimeout(this.#restart);
    const closing = this.#worker !== undefined || this.#journal !== undefined || this.#watched.size > 0 ? this.#call(id, { op: 'close', id }) : Promise.resolve();
    this.#closed = true;
    try {
      await closing;
    } catch (error) {
      if (error !== this.#startFailure) throw error;
    }
  }

  /** Posts `request` (built with its `id` by the caller: no copy per message) and resolves with the answer to that id. */
  #call(id: number, request: AuditWriterRequest): Promise<AuditWriterReply> {
    if (this.#closed) return Promise.reject(new Error('audit writer is closed'));
    const worker = (this.#worker ??= this.#start());
    return new Promise<AuditWriterReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage(request);
    });
  }

  #start(): Worker {
    const data: AuditWriterThreadData & { auditWriterThread: true; entry: string; tsxApi: string | null } = {
      path: this.#o.path,
      synchronous: this.#o.synchronous,
      index: this.#o.index,
      journal: this.#o.journal !== undefined ? { dir: this.#o.journal.dir, name: this.#o.journal.name } : null,
      watched: this.#o.watchedJournals !== undefined ? { dir: this.#o.watchedJournals.dir, names: [...this.#watched] } : null,
      auditWriterThread: true,
      entry: ENTRY,
      tsxApi: TSX_API,
    };
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: data });
    this.#startFailure = undefined;
    worker.unref();
    worker.on('message', (reply: AuditWriterReply) => this.#onReply(worker, reply));
    worker.on('error', (error) => this.#onExit(worker, error));
    worker.on('exit', (code) => this.#onExit(worker, new Error(`audit writer thread exited (${code})`)));
    this.#o.onThreadStart?.(worker);
    return worker;
  }

  #onReply(worker: Worker, reply: AuditWriterReply): void {
    if (reply.id === 0) {
      if ('startError' in reply) this.#onStartFailure(worker, new Error(reply.startError));
      else if ('error' in reply) this.#o.onBackgroundError?.(new Error(reply.error));
      return;
    }
    const p = this.#pending.get(reply.id);
    if (p === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker?.unref();
    if ('error' in reply) p.reject(new Error(reply.error));
    else p.resolve(reply);
  }

  /** The thread could not open audit.db and is ending: its calls reject with why, the next call starts a new one. */
  #onStartFailure(worker: Worker, error: Error): void {
    if (this.#worker !== worker) return;
    // Journaled, no call may be waiting to hear why: say it (once per distinct reason).
    if (this.#ingestsJournals() && error.message !== this.#reportedStartFailure) this.#o.onBackgroundError?.(error);
    this.#reportedStartFailure = error.message;
    this.#startFailure = error;
    this.#onExit(worker, error);
  }

  /** Whether the thread ingests journals on its own schedule (this process's, or watched ones). */
  #ingestsJournals(): boolean {
    return this.#journal !== undefined || this.#o.watchedJournals !== undefined;
  }

  #onExit(worker: Worker, error: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
    // Journaled, no commit would start a new thread: the journals must still be ingested.
    if (this.#ingestsJournals() && !this.#closed) {
      const delay = this.#startFailure !== undefined ? RESTART_AFTER_START_FAILURE_MS : RESTART_MS;
      this.#restart = setTimeout(() => {
        if (!this.#closed && this.#worker === undefined) this.#worker = this.#start();
      }, delay);
      this.#restart.unref();
    }
  }
}

/** A journaled commit: one frame written (and fdatasync'd for `power`); resolves null, rejects when that failed. */
function journalCommit(journal: AuditJournalWriter, entries: readonly EncodedAuditEvent[]): Promise<null> {
  try {
    const synced = journal.append(encodeAuditBatch(entries));
    return synced === undefined ? JOURNALED : synced.then(() => null);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** How a JournalAuditWriter is built. */
export interface JournalAuditWriterOptions {
  readonly journal: AuditJournalOptions;
  /**
   * Has the process that ingests this journal ingest everything written so far, and resolves
   * with the head after it (a cluster worker: a request to the primary over the cluster IPC
   * channel, bounded in time); rejects with why not.
   */
  readonly ingest: () => Promise<ChainHead>;
}

/**
 * The AuditChainWriter of a process that only journals (a cluster worker: src/audit/README.md,
 * "Several processes"): `commit` writes each batch in one frame to this process's journal and
 * resolves null after that write (or its fdatasync, `power`), exactly as a journaled
 * ThreadAuditWriter; another process's writer thread (the cluster primary's) chains the
 * journal into audit.db, and `flush` asks it to catch up (`ingest`). No thread, no audit.db
 * connection, no digests (`appendDigest` rejects: the process that ingests signs them).
 */
export class JournalAuditWriter implements AuditChainWriter {
  readonly #journal: AuditJournalWriter;
  readonly #ingest: () => Promise<ChainHead>;
  #closed = false;

  /** Creates the journal's first file (raises what mkdir and open raise). */
  constructor(options: JournalAuditWriterOptions) {
    this.#journal = new AuditJournalWriter(options.journal);
    this.#ingest = options.ingest;
  }

  /** See AuditChainWriter.commit: resolves null once journaled; rejects when the write or flush failed, or after close. */
  commit(entries: readonly EncodedAuditEvent[]): Promise<CommittedAuditBatch | null> {
    if (this.#closed) return Promise.reject(new Error('audit writer is closed'));
    return journalCommit(this.#journal, entries);
  }

  /** Resolves with the head once the ingesting process chained everything journaled before; rejects as `ingest` does. */
  flush(): Promise<ChainHead> {
    return this.#ingest();
  }

  /** Always rejects: a process that only journals stores no digests. */
  appendDigest(_digest: DigestToStore): Promise<void> {
    return Promise.reject(new Error('audit: a journal-only writer stores no digests'));
  }

  /**
   * Closes the journal (nothing is written after this; the ingesting process seals the file
   * once this process has exited). Idempotent; raises nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#journal.close();
  }
}
