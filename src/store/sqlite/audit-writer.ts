import { Worker } from 'node:worker_threads';
import type { AuditRecordToStore } from '../../audit/audit-store.js';
import type { DigestToStore } from './audit-append.js';

/** What the thread is started with. */
export interface WriterThreadData {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
}

/** Main → thread. */
export type WriterRequest =
  | { op: 'batch'; id: number; records: readonly AuditRecordToStore[] }
  | { op: 'digest'; id: number; digest: DigestToStore }
  | { op: 'close' };

/** Thread → main, one per batch or digest, in request order. */
export type WriterReply = { id: number; ok: true } | { id: number; ok: false; message: string };

/**
 * Runs the audit store's INSERT transactions on a worker thread with its own connection,
 * so a commit (SQLite work and the WAL write, plus the fsync with durability `power`)
 * neither blocks the event loop that serves requests nor stops the trail from gathering
 * the next batch meanwhile. Requests are handled one at a time, in order; each promise
 * resolves when its transaction has committed and rejects with the SQLite error (message
 * only) when it did not. If the thread dies, every pending and later call rejects.
 */
export class AuditWriterThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #dead: Error | undefined;

  constructor(data: WriterThreadData) {
    this.#worker = startThread(data);
    this.#worker.on('message', (reply: WriterReply) => {
      const p = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.ok) p?.resolve();
      else p?.reject(new Error(`audit writer: ${reply.message}`));
    });
    this.#worker.on('error', (err) => this.#die(err));
    this.#worker.on('exit', (code) => this.#die(new Error(`audit writer thread exited (${code})`)));
  }

  appendBatch(records: readonly AuditRecordToStore[]): Promise<void> {
    return this.#request((id) => ({ op: 'batch', id, records }));
  }

  appendDigest(digest: DigestToStore): Promise<void> {
    return this.#request((id) => ({ op: 'digest', id, digest }));
  }

  /** Asks the thread to close its connection and exit once the requests before this are done. */
  close(): void {
    if (this.#dead === undefined) this.#worker.postMessage({ op: 'close' } satisfies WriterRequest);
    this.#dead ??= new Error('audit writer closed');
  }

  #request(make: (id: number) => WriterRequest): Promise<void> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(make(id));
    });
  }

  #die(error: Error): void {
    this.#dead ??= error;
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }
}

function startThread(data: WriterThreadData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./audit-writer-thread.js', import.meta.url), { workerData: data });
  // Running from source under tsx (tests, `node --import tsx`): Node 20 does not carry the
  // --import hooks into worker threads, so the thread registers tsx before loading the .ts.
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./audit-writer-thread.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData: data });
}
