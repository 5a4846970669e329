import { canonicalJson } from './canonical-json.js';
import { AuditSinkClosedError } from './errors.js';
import { ALL_AUDIT_LEVELS } from './record.js';
import type { AuditEvent, AuditLevel } from './record.js';
import { sanitizeEvent } from './redact.js';

/**
 * What a durable append returns: the event's id and, when the record was chained before the
 * append resolved, its place in the chain. A journaled append (a server's trail: see
 * src/audit/README.md, "The audit journal") resolves before its seq exists: `seq` is absent.
 */
export interface AppendReceipt {
  seq?: number;
  eventID: string;
}

/**
 * Where the edge sends one event per request. Usage:
 *
 *   if (sink.enabled(auditLevelOf(event))) await sink.append(event);
 *
 * before the response is sent. `append` resolves only once the event is durable; it
 * rejects (AuditCommitError, AuditSinkClosedError) when it is not, and the caller must
 * then not report the call as audited. Implementations redact denylisted fields
 * themselves and never receive a raw request.
 */
export interface AuditSink {
  enabled(level: AuditLevel): boolean;
  append(event: AuditEvent): Promise<AppendReceipt>;
  /** Resolves once every append issued so far is durable (or has been rejected). */
  flush(): Promise<void>;
  /** Flushes, signs a final digest where the implementation signs, and rejects later appends. */
  close(): Promise<void>;
}

/**
 * An in-memory sink for other parts' tests: keeps the sanitized events in `events`.
 * No chain, no durability. Never use it in a server.
 */
export class MemoryAuditSink implements AuditSink {
  readonly events: AuditEvent[] = [];
  readonly #levels: ReadonlySet<AuditLevel>;
  #closed = false;

  constructor(levels: readonly AuditLevel[] = ALL_AUDIT_LEVELS) {
    this.#levels = new Set(levels);
  }

  enabled(level: AuditLevel): boolean {
    return !this.#closed && this.#levels.has(level);
  }

  append(event: AuditEvent): Promise<AppendReceipt> {
    if (this.#closed) return Promise.reject(new AuditSinkClosedError());
    const safe = JSON.parse(canonicalJson(sanitizeEvent(event).value)) as AuditEvent;
    this.events.push(safe);
    return Promise.resolve({ seq: this.events.length, eventID: safe.eventID });
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
