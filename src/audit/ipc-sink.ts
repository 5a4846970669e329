import { encodeAuditEvent, type EncodedAuditEvent } from './encode-event.js';
import { AuditCommitError, AuditSinkClosedError } from './errors.js';
import { ALL_AUDIT_LEVELS } from './record.js';
import type { AuditEvent, AuditLevel } from './record.js';
import type { AppendReceipt, AuditSink } from './sink.js';

// Protocol between a cluster worker (IpcAuditSink) and the process that owns the trail
// (serveAuditOverIpc). Plain JSON, so it fits node:cluster's default IPC serialization.

/** Worker → owner: commit these encoded events (in this order). */
export interface AuditIpcAppend {
  readonly type: 'cipherlake-audit-append';
  readonly id: number;
  readonly entries: readonly EncodedAuditEvent[];
}

/** Owner → worker: per entry its seq, or null when its batch failed to commit. */
export interface AuditIpcAck {
  readonly type: 'cipherlake-audit-ack';
  readonly id: number;
  readonly seqs: readonly (number | null)[];
}

/** The two ends of an IPC channel: `process` in a worker, a cluster `Worker` in the primary. */
export interface AuditIpcChannel {
  send(message: AuditIpcAppend | AuditIpcAck): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
}

/** The part of AuditTrail the owner side needs. */
export interface EncodedAuditAppender {
  appendEncoded(entry: EncodedAuditEvent): Promise<AppendReceipt>;
}

interface Waiting {
  entry: EncodedAuditEvent;
  resolve: (r: AppendReceipt) => void;
  reject: (e: unknown) => void;
}

/**
 * The AuditSink of a cluster worker: redacts and encodes each event here (so that CPU is
 * spread over the workers), then sends it to the process that owns the one AuditTrail and
 * resolves once that process has committed it. Pipelined batching: one message is in
 * flight at a time; events appended meanwhile go in the next message, sent when the ack
 * arrives. Rejects with AuditCommitError when the owner reports a failed commit or the
 * channel closes with events unacknowledged; AuditSinkClosedError after close.
 */
export class IpcAuditSink implements AuditSink {
  readonly #channel: AuditIpcChannel;
  readonly #levels: ReadonlySet<AuditLevel>;
  #queue: Waiting[] = [];
  #inFlight: { id: number; batch: Waiting[] } | null = null;
  #nextId = 1;
  #closed = false;
  #disconnected = false;
  #idle: (() => void)[] = [];

  constructor(channel: AuditIpcChannel, levels: readonly AuditLevel[] = ALL_AUDIT_LEVELS) {
    this.#channel = channel;
    this.#levels = new Set(levels);
    channel.on('message', (m) => this.#onMessage(m));
    channel.on('disconnect', () => this.#onDisconnect());
  }

  enabled(level: AuditLevel): boolean {
    return !this.#closed && this.#levels.has(level);
  }

  /** Redacts and encodes now (later changes by the caller do not reach the record); resolves once committed by the owner. */
  append(event: AuditEvent): Promise<AppendReceipt> {
    if (this.#closed) return Promise.reject(new AuditSinkClosedError());
    if (this.#disconnected) return Promise.reject(new AuditCommitError({ cause: new Error('audit channel closed') }));
    const encoded = encodeAuditEvent(event);
    // The three fields the owner needs, picked by name (an object rest costs a slow copy per request).
    const entry: EncodedAuditEvent = { json: encoded.json, eventID: encoded.eventID, index: encoded.index };
    return new Promise<AppendReceipt>((resolve, reject) => {
      this.#queue.push({ entry, resolve, reject });
      if (this.#inFlight === null) this.#send();
    });
  }

  /** Resolves once every append issued so far has been acknowledged (or rejected). */
  flush(): Promise<void> {
    if (this.#inFlight === null && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Flushes; resolves null. Digests are the owner's: it signs on its interval, every N
   * records and when it closes (after its workers stopped), never at a worker's request.
   */
  async checkpoint(): Promise<null> {
    await this.flush();
    return null;
  }

  /** Flushes and rejects later appends. The owner signs the digests; this signs nothing. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #send(): void {
    const batch = this.#queue;
    this.#queue = [];
    const id = this.#nextId++;
    this.#inFlight = { id, batch };
    const message: AuditIpcAppend = { type: 'cipherlake-audit-append', id, entries: batch.map((w) => w.entry) };
    try {
      this.#channel.send(message);
    } catch (cause) {
      this.#inFlight = null;
      this.#fail(batch, cause);
    }
  }

  #onMessage(m: unknown): void {
    if (!isAck(m) || this.#inFlight?.id !== m.id) return;
    const { batch } = this.#inFlight;
    this.#inFlight = null;
    let error: AuditCommitError | undefined;
    batch.forEach((w, i) => {
      const seq = m.seqs[i];
      if (typeof seq === 'number') w.resolve({ seq, eventID: w.entry.eventID });
      else w.reject((error ??= new AuditCommitError({ cause: new Error('the audit owner could not commit the batch') })));
    });
    if (this.#queue.length > 0) this.#send();
    else this.#settleIdle();
  }

  #onDisconnect(): void {
    this.#disconnected = true;
    const pending = [...(this.#inFlight?.batch ?? []), ...this.#queue];
    this.#inFlight = null;
    this.#queue = [];
    this.#fail(pending, new Error('audit channel closed'));
  }

  #fail(batch: readonly Waiting[], cause: unknown): void {
    const error = new AuditCommitError({ cause });
    for (const w of batch) w.reject(error);
    if (this.#inFlight === null && this.#queue.length > 0 && !this.#disconnected) this.#send();
    else if (this.#inFlight === null) this.#settleIdle();
  }

  #settleIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}

/**
 * The owner side: commits what a worker sends through `trail` and acknowledges each
 * message with its entries' seqs (null for an entry whose batch failed). Entries arrive
 * already encoded by the worker's IpcAuditSink: the channel is the cluster's private pipe
 * between processes of the same program, so the owner does not re-walk them. An ack to a
 * worker that has gone away is dropped. Returns nothing; listens until the channel closes.
 */
export function serveAuditOverIpc(trail: EncodedAuditAppender, channel: AuditIpcChannel & { isConnected?(): boolean }): void {
  channel.on('message', (m: unknown) => {
    if (!isAppend(m)) return;
    void Promise.allSettled(m.entries.map((e) => trail.appendEncoded(e))).then((results) => {
      const ack: AuditIpcAck = { type: 'cipherlake-audit-ack', id: m.id, seqs: results.map((r) => (r.status === 'fulfilled' ? r.value.seq : null)) };
      if (channel.isConnected?.() === false) return;
      try {
        channel.send(ack);
      } catch {
        // The worker exited; its requests were never answered.
      }
    });
  });
}

function isAck(m: unknown): m is AuditIpcAck {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'cipherlake-audit-ack' && Array.isArray((m as { seqs?: unknown }).seqs);
}

function isAppend(m: unknown): m is AuditIpcAppend {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'cipherlake-audit-append' && Array.isArray((m as { entries?: unknown }).entries);
}
