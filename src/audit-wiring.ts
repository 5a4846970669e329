import { join } from 'node:path';
import type { Logger } from 'pino';
import { AuditTrail } from './audit/index.js';
import type { Clock } from './common/clock.js';
import { CipherlakeError } from './common/errors.js';
import type { CipherlakeConfig } from './config/config.js';
import { KmsAuditSigner, type KeyService } from './kms/index.js';
import { SqliteAuditStore } from './store/sqlite/audit-store.js';
import { ThreadAuditWriter } from './store/sqlite/audit-writer-client.js';

// Composition helpers for the audit trail, shared by the one-process server (main.ts), the
// cluster primary (signs digests, migrates) and the cluster workers (each appends to the
// same audit.db through its own writer thread); see src/audit/README.md.

/**
 * Which part of the trail a process plays. `single`: appends through a writer thread that
 * also indexes, signs digests. `cluster-primary`: appends nothing; migrates before forking
 * and signs digests over the head the workers' writers moved. `cluster-worker`: appends
 * through its writer thread (indexing only when `indexes`), signs nothing.
 */
export type AuditRole = { readonly kind: 'single' } | { readonly kind: 'cluster-primary' } | { readonly kind: 'cluster-worker'; readonly indexes: boolean };

/**
 * The audit trail cannot start on this data directory: audit.db cannot be opened, readied
 * or written by this process or its writer thread (not a database, corrupt, unwritable,
 * locked by another process, disk full, its chain truncated). The message names the file and
 * the reason (SQLite's or the trail's message: table and constraint names, never record
 * contents or key material); `cause` keeps the original error. A server that gets it exits
 * before it listens: Cipherlake never serves requests it cannot audit.
 */
export class AuditTrailUnavailableError extends CipherlakeError {
  readonly userError = false;
  /** The audit.db the trail could not start on. */
  readonly path: string;

  constructor(path: string, cause: unknown) {
    super(`audit trail cannot start: ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.path = path;
  }
}

/** The deferred-index policy of the writer thread that indexes (see the README's index section). */
const INDEX_POLICY = { idleMs: 50, backlog: 4096, chunk: 1024 } as const;

/**
 * The SQLite `synchronous` level for `audit.durability`. The audit store runs in WAL mode.
 * `process` → NORMAL: each group commit is written to the WAL (the OS page cache) before any
 * of its requests is answered, so a killed process loses no acknowledged event; a power loss
 * can lose the commits since the last WAL sync. `power` → FULL: every commit fsyncs the WAL.
 */
export function auditSynchronous(config: CipherlakeConfig): 'NORMAL' | 'FULL' {
  return config.audit?.durability === 'power' ? 'FULL' : 'NORMAL';
}

/**
 * Opens `DATA_DIR/audit.db` with the configured durability, as this process's reader
 * connection (lookups, LookupEvents, the head for digests). Raises what better-sqlite3 raises.
 */
export function openAuditStore(config: CipherlakeConfig): SqliteAuditStore {
  return new SqliteAuditStore(auditDbPath(config), { synchronous: auditSynchronous(config) });
}

/**
 * Opens the audit store and the trail this process plays its `role` in (default `single`),
 * continuing the chain; digests are signed by the KMS audit key (created on first use; in a
 * cluster by the primary, before forking). A process that appends (`single`,
 * `cluster-worker`) resolves only once its writer thread has opened audit.db and taken its
 * write lock (ThreadAuditWriter.probe), so a caller that listens after this never serves
 * requests whose records cannot be written. Close the trail, then the store. Raises
 * AuditTrailUnavailableError (naming the file) when audit.db cannot be opened, readied,
 * written or continued (AuditStoreTruncatedError as its cause), and the KMS signer's errors
 * as they are; nothing is left open then.
 */
export async function openAuditTrail(
  config: CipherlakeConfig,
  keys: KeyService,
  clock: Clock,
  log: Logger,
  role: AuditRole = { kind: 'single' },
): Promise<{ store: SqliteAuditStore; trail: AuditTrail }> {
  const path = auditDbPath(config);
  const unavailable = (err: unknown): never => {
    throw new AuditTrailUnavailableError(path, err);
  };
  let store: SqliteAuditStore;
  try {
    store = openAuditStore(config);
  } catch (err) {
    return unavailable(err);
  }
  let writer: ThreadAuditWriter | undefined;
  const onBackgroundError = (err: unknown): void => log.error({ err }, 'audit digest or indexing failed');
  try {
    // The writers never migrate: the owner readies the file first (the primary, before forking).
    if (role.kind === 'single') await store.prepareForWriters().catch(unavailable);
    if (role.kind !== 'cluster-primary') {
      const indexes = role.kind === 'single' || role.indexes;
      writer = new ThreadAuditWriter({ path, synchronous: auditSynchronous(config), index: indexes ? INDEX_POLICY : null, onBackgroundError });
      // The thread opens audit.db on its own: without this, a file it cannot open or write
      // would surface only as each audited request failing, on a server that looked started.
      await writer.probe().catch(unavailable);
    }
    const signer = role.kind === 'cluster-worker' ? null : await KmsAuditSigner.open(keys);
    const trail = await AuditTrail.open({
      store,
      signer,
      ...(writer !== undefined ? { writer } : {}),
      sharedChain: role.kind === 'cluster-primary',
      clock: () => clock.now(),
      onBackgroundError,
    }).catch(unavailable);
    return { store, trail };
  } catch (err) {
    await writer?.close().catch(() => undefined);
    store.close();
    throw err;
  }
}

function auditDbPath(config: CipherlakeConfig): string {
  return join(config.dataDir, 'audit.db');
}
