import { join } from 'node:path';
import type { Logger } from 'pino';
import { AuditTrail, type AuditLookupPage, type AuditLookupQuery } from './audit/index.js';
import type { Clock } from './common/clock.js';
import { CipherlakeError } from './common/errors.js';
import type { CipherlakeConfig } from './config/config.js';
import { KmsAuditSigner, openCloudTrailDigestKey, type KeyService } from './kms/index.js';
import { SqliteAuditStore } from './store/sqlite/audit-store.js';
import { newJournalName } from './store/sqlite/audit-journal.js';
import { recoverAuditJournals } from './store/sqlite/audit-journal-recovery.js';
import { JournalAuditWriter, ThreadAuditWriter } from './store/sqlite/audit-writer-client.js';
import { SqliteAuditWriter } from './store/sqlite/audit-writer.js';
import type { ChainHead } from './audit/audit-store.js';

// Composition helpers for the audit trail, shared by the one-process server (main.ts), the
// cluster primary (migrates, ingests every worker's journal through its writer thread, signs
// digests) and the cluster workers (each journals its batches; the primary chains them into
// audit.db); see src/audit/README.md.

/**
 * Which part of the trail a process plays. `single`: appends through a writer thread that
 * ingests its journal and indexes, signs digests. `cluster-primary`: appends nothing;
 * migrates before forking, and its writer thread ingests the live workers' journals (each
 * named with `watchJournal`) and indexes; signs digests over the head. `cluster-worker`:
 * journals its batches and asks the primary to ingest them (flush, over the cluster IPC
 * channel), signs nothing and never indexes (the primary's writer thread does).
 */
export type AuditRole = { readonly kind: 'single' } | { readonly kind: 'cluster-primary' } | { readonly kind: 'cluster-worker' };

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

/** A cluster worker → its primary: ingest every journal written so far (for `id`). */
export interface AuditIngestRequest {
  readonly type: 'cipherlake-audit-ingest';
  readonly id: number;
}

/** The primary → a worker: the head after ingesting for request `id`, or why not (a message, never data). */
export type AuditIngestReply =
  | { readonly type: 'cipherlake-audit-ingested'; readonly id: number; readonly seq: number; readonly hash: string }
  | { readonly type: 'cipherlake-audit-ingested'; readonly id: number; readonly error: string };

/** How long a worker's flush waits for the primary's answer before it rejects. */
const INGEST_REPLY_TIMEOUT_MS = 10_000;

/**
 * The deferred-index policy of the writer thread that indexes (see the README's index
 * section). idleMs is above the thread's journal poll interval (250 ms), so that under load
 * the idle indexing never runs between two polls.
 */
const INDEX_POLICY = { idleMs: 500, backlog: 4096, chunk: 1024 } as const;

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
 * cluster by the primary, before forking). It resolves only once audit.db can be written:
 * `single` and `cluster-primary` once their writer thread has opened it and taken its write
 * lock (ThreadAuditWriter.probe), `cluster-worker` once an empty commit on a connection of
 * its own succeeded; so a caller that listens after this never serves requests whose records
 * cannot be written. `single` and `cluster-worker` journal their batches
 * (`DATA_DIR/audit-journal`, see src/audit/README.md "The audit journal"); the store's owner
 * (`single`, `cluster-primary`) first recovers the journals a previous run left. For
 * `cluster-primary` it also returns `ingester`, its writer thread, which chains the journals
 * it is told to watch (ThreadAuditWriter.watchJournal / retireJournal). Close the trail,
 * then the store. Raises
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
): Promise<{ store: SqliteAuditStore; trail: AuditTrail; ingester?: ThreadAuditWriter }> {
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
  let writer: ThreadAuditWriter | JournalAuditWriter | undefined;
  const onBackgroundError = (err: unknown): void => log.error({ err }, 'audit digest, journal ingestion or indexing failed');
  try {
    // The writers never migrate: the owner readies the file first (the primary, before forking).
    if (role.kind !== 'cluster-worker') await readyForWriters(store, config, log).catch(unavailable);
    if (role.kind === 'cluster-worker') writer = openWorkerWriter(config);
    else writer = await startWriter(config, role, onBackgroundError).catch(unavailable);
    const signer = role.kind === 'cluster-worker' ? null : await KmsAuditSigner.open(keys);
    // The key that signs exported CloudTrail digest files (validate-logs), made now so that an offline export finds it.
    if (role.kind !== 'cluster-worker') await openCloudTrailDigestKey(keys);
    const trail = await AuditTrail.open({
      store,
      signer,
      writer,
      sharedChain: role.kind === 'cluster-primary',
      clock: () => clock.now(),
      onBackgroundError,
    }).catch(unavailable);
    store.bindTrail(trail);
    return { store, trail, ...(writer instanceof ThreadAuditWriter && role.kind === 'cluster-primary' ? { ingester: writer } : {}) };
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
 * This process's writer thread, once it has opened audit.db and taken its write lock; it
 * indexes. `single`: journaling to a file of its own. `cluster-primary`: journaling nothing,
 * ingesting the journals it is told to watch (the live workers'). Raises (leaving nothing
 * open) when the journal directory or its first file cannot be made, or the probe fails.
 */
async function startWriter(config: CipherlakeConfig, role: Exclude<AuditRole, { kind: 'cluster-worker' }>, onBackgroundError: (err: unknown) => void): Promise<ThreadAuditWriter> {
  const writer = new ThreadAuditWriter({
    path: auditDbPath(config),
    synchronous: auditSynchronous(config),
    index: INDEX_POLICY,
    onBackgroundError,
    ...(role.kind === 'single' ? { journal: journalOptions(config, journalName(role)) } : { watchedJournals: { dir: auditJournalDir(config) } }),
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

/**
 * A cluster worker's writer: it journals, and its flush asks the primary to ingest
 * (askPrimaryToIngest). First checks, on a connection of its own and synchronously, that
 * this process can open audit.db and take its write lock (an empty commit: nothing is
 * written), so a worker never serves while the file cannot be written. Raises
 * AuditTrailUnavailableError when that fails, or what making the journal raises.
 */
function openWorkerWriter(config: CipherlakeConfig): JournalAuditWriter {
  const path = auditDbPath(config);
  try {
    const probe = new SqliteAuditWriter(path, { synchronous: auditSynchronous(config) });
    try {
      probe.commit('');
    } finally {
      probe.close();
    }
  } catch (err) {
    throw new AuditTrailUnavailableError(path, err);
  }
  return new JournalAuditWriter({ journal: journalOptions(config, journalName({ kind: 'cluster-worker' })), ingest: askPrimaryToIngest });
}

function journalOptions(config: CipherlakeConfig, name: string): { dir: string; name: string; durability: 'process' | 'power' } {
  return { dir: auditJournalDir(config), name, durability: config.audit?.durability === 'power' ? 'power' : 'process' };
}

const ingestRequests = new Map<number, { resolve: (head: ChainHead) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
let nextIngestId = 1;

/**
 * In a cluster worker: asks the primary (cluster IPC) to ingest every journal written so far,
 * its own included, and resolves with the head after it. Rejects when there is no connected
 * primary, when the primary could not ingest (its message), or after INGEST_REPLY_TIMEOUT_MS
 * without an answer; the records stay journaled either way.
 */
export function askPrimaryToIngest(): Promise<ChainHead> {
  const send = process.send?.bind(process);
  if (send === undefined || !process.connected) return Promise.reject(new Error('audit: no cluster primary to ingest the journal'));
  if (!process.listeners('message').includes(onIngestReply)) process.on('message', onIngestReply);
  const id = nextIngestId++;
  return new Promise<ChainHead>((resolve, reject) => {
    const timer = setTimeout(() => settleIngest(id, new Error(`audit: the cluster primary did not ingest the journal within ${INGEST_REPLY_TIMEOUT_MS} ms`)), INGEST_REPLY_TIMEOUT_MS);
    ingestRequests.set(id, { resolve, reject, timer });
    const request: AuditIngestRequest = { type: 'cipherlake-audit-ingest', id };
    send(request, undefined, {}, (err: Error | null) => {
      if (err) settleIngest(id, err);
    });
  });
}

function onIngestReply(m: unknown): void {
  const r = m as { type?: unknown; id?: unknown; seq?: unknown; hash?: unknown; error?: unknown } | null;
  if (r?.type !== 'cipherlake-audit-ingested' || typeof r.id !== 'number') return;
  settleIngest(r.id, r.error !== undefined ? new Error(String(r.error)) : { seq: Number(r.seq), hash: String(r.hash) });
}

function settleIngest(id: number, outcome: ChainHead | Error): void {
  const p = ingestRequests.get(id);
  if (p === undefined) return;
  ingestRequests.delete(id);
  clearTimeout(p.timer);
  if (outcome instanceof Error) p.reject(outcome);
  else p.resolve(outcome);
  // Not listening while nothing is asked: the channel's listener would keep the process alive.
  if (ingestRequests.size === 0) process.off('message', onIngestReply);
}

/** A cluster worker's name comes from the primary (fresh per fork); a single server makes one. */
function journalName(role: AuditRole): string {
  const given = role.kind === 'cluster-worker' ? process.env[AUDIT_JOURNAL_ENV] : undefined;
  return given !== undefined && given !== '' ? given : newJournalName(role.kind === 'single' ? 's' : 'w');
}

function auditDbPath(config: CipherlakeConfig): string {
  return join(config.dataDir, 'audit.db');
}
