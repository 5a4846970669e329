import { join } from 'node:path';
import type { Logger } from 'pino';
import { AuditTrail } from './audit/index.js';
import type { Clock } from './common/clock.js';
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
  return new SqliteAuditStore(join(config.dataDir, 'audit.db'), { synchronous: auditSynchronous(config) });
}

/**
 * Opens the audit store and the trail this process plays its `role` in (default `single`),
 * continuing the chain; digests are signed by the KMS audit key (created on first use; in a
 * cluster by the primary, before forking). Close the trail, then the store. Raises
 * AuditStoreTruncatedError and store/KMS errors (nothing is left open then).
 */
export async function openAuditTrail(
  config: CipherlakeConfig,
  keys: KeyService,
  clock: Clock,
  log: Logger,
  role: AuditRole = { kind: 'single' },
): Promise<{ store: SqliteAuditStore; trail: AuditTrail }> {
  const store = openAuditStore(config);
  let writer: ThreadAuditWriter | undefined;
  const onBackgroundError = (err: unknown): void => log.error({ err }, 'audit digest or indexing failed');
  try {
    // The writers never migrate: the owner readies the file first (the primary, before forking).
    if (role.kind === 'single') await store.prepareForWriters();
    if (role.kind !== 'cluster-primary') {
      const indexes = role.kind === 'single' || role.indexes;
      writer = new ThreadAuditWriter({ path: join(config.dataDir, 'audit.db'), synchronous: auditSynchronous(config), index: indexes ? INDEX_POLICY : null, onBackgroundError });
    }
    const trail = await AuditTrail.open({
      store,
      signer: role.kind === 'cluster-worker' ? null : await KmsAuditSigner.open(keys),
      ...(writer !== undefined ? { writer } : {}),
      sharedChain: role.kind === 'cluster-primary',
      clock: () => clock.now(),
      onBackgroundError,
    });
    return { store, trail };
  } catch (err) {
    await writer?.close().catch(() => undefined);
    store.close();
    throw err;
  }
}
