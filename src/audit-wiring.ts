import { join } from 'node:path';
import type { Logger } from 'pino';
import { AuditTrail, type AuditLookupPage, type AuditLookupQuery } from './audit/index.js';
import type { Clock } from './common/clock.js';
import { CipherlakeError } from './common/errors.js';
import type { CipherlakeConfig } from './config/config.js';
import { KmsAuditSigner, type KeyService } from './kms/index.js';
import { SqliteAuditStore } from './store/sqlite/audit-store.js';
import { newJournalName } from './store/sqlite/audit-journal.js';
import { recoverAuditJournals } from './store/sqlite/audit-journal-recovery.js';
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

/**
 * The environment variable by which the cluster primary gives each worker it forks a fresh
 * audit journal name (a replacement gets a new one, so a name is never reused).
 */
export const AUDIT_JOURNAL_ENV = 'CIPHERLAKE_AUDIT_JOURNAL';

/** The deferred-index policy of the writer thread that indexes (see the README's index section). */
const INDEX_POLICY = { idleMs: 50, backlog: 4096, chunk: 1024 } as const;

/**
 * The SQLite `synchronous` level of audit.db for `audit.durability` (WAL mode). Requests are
 * answered once their records are in the process's journal (written; for `power` also
 * fdatasync'd); this is what the writer thread's ingestion commits with, before it removes
 * a journal file. `process` → NORMAL: a commit is in the WAL (the OS page cache), so a killed
 * process loses nothing; a power loss can lose the commits since the last WAL sync, as it can
 * the journal's latest writes. `power` → FULL: every commit fsyncs the WAL, so nothing a
 * synced journal held is lost once its file is removed.
 */
export function auditSynchronous(config: CipherlakeConfig): 'NORMAL' | 'FULL' {
  return config.audit?.durability === 'power' ? 'FULL' : 'NORMAL';
}

/** `DATA_DIR/audit-journal`: every appending process's journal files (0700, files 0600). */
export function auditJournalDir(config: CipherlakeConfig): string {
  return join(config.dataDir, 'audit-journal');
}

/**
 * Ingests the journals of processes that no longer append (every name but `except`, the live
 * workers') into audit.db and removes them (recoverAuditJournals); a file with an invalid
 * frame is renamed `.damaged` and logged as an error naming it and the offset. For the
 * store's owner only: the one-process server before its writer thread starts, the cluster
 * primary. Raises what SQLite and the file system raise.
 */
export function recoverAuditJournalsOf(config: CipherlakeConfig, log: Logger, except: Iterable<string> = []): void {
  const report = recoverAuditJournals(auditDbPath(config), auditJournalDir(config), { except, synchronous: auditSynchronous(config) });
  for (const d of report.damaged) {
    log.error({ file: d.file, offset: d.offset }, `audit journal ${d.file} has an invalid frame at byte ${d.offset}: records from there were not ingested; kept as ${d.file}.damaged`);
  }
  if (report.files > 0) log.info({ files: report.files, records: report.records }, 'audit journals recovered');
}

/**
 * Opens `DATA_DIR/audit.db` with the configured durability, as this process's reader
 * connection (lookups, LookupEvents, the head for digests). Raises what better-sqlite3 raises.
 */
export function openAuditStore(config: CipherlakeConfig): ServedAuditStore {
  return new ServedAuditStore(auditDbPath(config), { synchronous: auditSynchronous(config) });
}

/**
 * The reader connection of a process that appends: once bound to its trail, `lookup` first
 * awaits `trail.flush()`, so what this process acknowledged (journaled, maybe not chained
 * yet) is found: read-your-writes for this process, for LookupEvents and for anyone holding
 * the store (other processes' journaled records lag by their poll interval). Rejects as the
 * flush does (the writer could not chain yet) or as the lookup does.
 */
export class ServedAuditStore extends SqliteAuditStore {
  #trail: AuditTrail | undefined;

  /** From now on, lookups flush `trail` first. */
  bindTrail(trail: AuditTrail): void {
    this.#trail = trail;
  }

  override async lookup(query: AuditLookupQuery): Promise<AuditLookupPage> {
    await this.#trail?.flush();
    return super.lookup(query);
  }
}

/**
 * Opens the audit store and the trail this process plays its `role` in (default `single`),
 * continuing the chain; digests are signed by the KMS audit key (created on first use; in a
 * cluster by the primary, before forking). A process that appends (`single`,
 * `cluster-worker`) resolves only once its writer thread has opened audit.db and taken its
 * write lock (ThreadAuditWriter.probe), so a caller that listens after this never serves
 * requests whose records cannot be written. Such a process journals its batches
 * (`DATA_DIR/audit-journal`, see src/audit/README.md "The audit journal"); the store's owner
 * (`single`, `cluster-primary`) first recovers the journals a previous run left. Close the
 * trail, then the store. Raises
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
  let store: ServedAuditStore;
  try {
    store = openAuditStore(config);
  } catch (err) {
    return unavailable(err);
  }
  let writer: ThreadAuditWriter | undefined;
  const onBackgroundError = (err: unknown): void => log.error({ err }, 'audit digest, journal ingestion or indexing failed');
  try {
    // The writers never migrate: the owner readies the file first (the primary, before forking).
    if (role.kind !== 'cluster-worker') await readyForWriters(store, config, log).catch(unavailable);
    if (role.kind !== 'cluster-primary') writer = await startWriter(config, role, onBackgroundError).catch(unavailable);
    const signer = role.kind === 'cluster-worker' ? null : await KmsAuditSigner.open(keys);
    const trail = await AuditTrail.open({
      store,
      signer,
      ...(writer !== undefined ? { writer } : {}),
      sharedChain: role.kind === 'cluster-primary',
      clock: () => clock.now(),
      onBackgroundError,
    }).catch(unavailable);
    store.bindTrail(trail);
    return { store, trail };
  } catch (err) {
    await writer?.close().catch(() => undefined);
    store.close();
    throw err;
  }
}

/** The owner's part before any writer starts: migrate, then chain what a previous run left in its journals before this run's records. */
async function readyForWriters(store: SqliteAuditStore, config: CipherlakeConfig, log: Logger): Promise<void> {
  await store.prepareForWriters();
  recoverAuditJournalsOf(config, log);
}

/**
 * This process's writer thread, journaling to a file of its own, once the thread has opened
 * audit.db and taken its write lock. Raises (leaving nothing open) when the journal directory
 * or its first file cannot be made, or the probe fails.
 */
async function startWriter(config: CipherlakeConfig, role: Exclude<AuditRole, { kind: 'cluster-primary' }>, onBackgroundError: (err: unknown) => void): Promise<ThreadAuditWriter> {
  const writer = new ThreadAuditWriter({
    path: auditDbPath(config),
    synchronous: auditSynchronous(config),
    index: role.kind === 'single' || role.indexes ? INDEX_POLICY : null,
    onBackgroundError,
    journal: { dir: auditJournalDir(config), name: journalName(role), durability: config.audit?.durability === 'power' ? 'power' : 'process' },
  });
  try {
    // The thread opens audit.db on its own: without this, a file it cannot open or write
    // would surface only as each audited request failing, on a server that looked started.
    await writer.probe();
  } catch (err) {
    await writer.close().catch(() => undefined);
    throw err;
  }
  return writer;
}

/** A cluster worker's name comes from the primary (fresh per fork); a single server makes one. */
function journalName(role: AuditRole): string {
  const given = role.kind === 'cluster-worker' ? process.env[AUDIT_JOURNAL_ENV] : undefined;
  return given !== undefined && given !== '' ? given : newJournalName(role.kind === 'single' ? 's' : 'w');
}

function auditDbPath(config: CipherlakeConfig): string {
  return join(config.dataDir, 'audit.db');
}
