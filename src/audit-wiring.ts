import { join } from 'node:path';
import type { Logger } from 'pino';
import { AuditTrail } from './audit/index.js';
import type { Clock } from './common/clock.js';
import type { CipherlakeConfig } from './config/config.js';
import { KmsAuditSigner, type KeyService } from './kms/index.js';
import { SqliteAuditStore } from './store/sqlite/audit-store.js';

// Composition helpers for the audit trail, shared by the one-process server (main.ts) and
// the cluster primary, which owns the trail for all workers (cli/commands/server-cluster.ts).

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
 * Opens `DATA_DIR/audit.db` with the configured durability. Cluster workers open it only to
 * read (lookups, LookupEvents); the primary writes it. Raises what better-sqlite3 raises.
 */
export function openAuditStore(config: CipherlakeConfig): SqliteAuditStore {
  return new SqliteAuditStore(join(config.dataDir, 'audit.db'), { synchronous: auditSynchronous(config) });
}


/**
 * Opens the audit store and the trail that writes it, continuing its chain, with digests
 * signed by the KMS audit key (created on first use). Only one process may hold the trail
 * of a data directory; close the trail, then the store. Raises AuditStoreTruncatedError and store/KMS errors.
 */
export async function openAuditTrail(config: CipherlakeConfig, keys: KeyService, clock: Clock, log: Logger): Promise<{ store: SqliteAuditStore; trail: AuditTrail }> {
  const store = openAuditStore(config);
  try {
    const trail = await AuditTrail.open({
      store,
      signer: await KmsAuditSigner.open(keys),
      clock: () => clock.now(),
      onBackgroundError: (err) => log.error({ err }, 'audit digest failed'),
    });
    return { store, trail };
  } catch (err) {
    store.close();
    throw err;
  }
}
