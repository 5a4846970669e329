import cluster, { type Worker } from 'node:cluster';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditTrail } from '../../audit/index.js';
import { AUDIT_JOURNAL_ENV, openAuditTrail, recoverAuditJournalsOf } from '../../audit-wiring.js';
import { systemClock } from '../../common/clock.js';
import { createLogger } from '../../common/logger.js';
import type { CipherlakeConfig } from '../../config/config.js';
import { loadRootCredentials, type Credential } from '../../iam/index.js';
import { KeyService, openRootKey, type RootKeyProvider } from '../../kms/index.js';
import { privateEndpoints } from '../../net/endpoints.js';
import { openTls } from '../../net/tls/index.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { lockDataDir } from '../../store/sqlite/data-dir-lock.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import { newJournalName } from '../../store/sqlite/audit-journal.js';
import { SqliteS3MetadataStore } from '../../store/sqlite/s3-metadata-store.js';
import { clearObjectTmp } from '../../store/fs-objects/fs-object-backend.js';
import { sweepOrphanBodies } from '../../store/fs-objects/orphan-sweep.js';

/** What a worker tells the primary once it listens. */
interface ListeningMessage {
  readonly type: 'cipherlake-listening';
  readonly endpoint: string;
}

/** The environment variable by which the primary tells one worker that it indexes the audit trail. */
const AUDIT_INDEXER_ENV = 'CIPHERLAKE_CLUSTER_AUDIT_INDEXER';

/**
 * Ingests the audit journals of every process but the live workers' (named in `except`).
 * Set by prepareDataDir for runClusterPrimary in the same process (the primary), which runs
 * it when a worker exits; unset elsewhere.
 */
let recoverJournals: ((except: Iterable<string>) => void) | undefined;

/** What the primary holds while its workers serve: the signing side of the audit trail. */
export interface PreparedDataDir {
  readonly credential: Credential;
  readonly created: boolean;
  /**
   * The primary's trail: it appends nothing (each worker appends through its own writer
   * thread) and signs digests over the head the workers moved (interval, every N records, close).
   */
  readonly audit: AuditTrail;
  /**
   * Ingests every audit journal the workers left (recovery), signs the final digest and closes
   * the stores. Call after every worker has exited.
   */
  close(): Promise<void>;
}

/**
 * First-start work that must happen exactly once, before any worker starts: the root key
 * file and the root credentials are created with O_EXCL (two workers racing would make one
 * fail), the metadata database is switched to WAL (a journal-mode change needs the
 * database to itself), the built-in TLS CA and server certificate are issued, and the
 * audit signing key is created. Then the primary opens its side of the audit trail: it
 * migrates a file older code wrote (workers never do) and signs the digests; the workers'
 * writer threads chain into the same file. Raises what openRootKey,
 * loadRootCredentials, openTls and the audit store raise, after closing the root key and
 * metadata.db it opened, and DataDirInUseError when another server holds the data directory
 * (the primary holds its lock until `close`); never logs secrets.
 */
export async function prepareDataDir(config: CipherlakeConfig, log: Logger = createLogger(config.logLevel)): Promise<PreparedDataDir> {
  // As startCipherlake does for one process: a data directory that does not exist yet is
  // made here (0700), before the root key file is created inside it.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // The primary holds the data directory for its workers (which take no lock) until it closes.
  const lock = lockDataDir(config.dataDir);
  let rootKey: RootKeyProvider | undefined;
  let db: SqliteDatabase | undefined;
  try {
    rootKey = openRootKey(config.dataDir, config.rootKey);
    const { credential, created } = loadRootCredentials(config.dataDir, config.accountId, config.rootCredentials);
    db = openSqlite(join(config.dataDir, 'metadata.db'));
    await firstStartFiles(config, db, log);
    const keys = new KeyService({
      store: new SqliteKeyStore(db),
      rootKey,
      clock: systemClock,
      settings: { region: config.region, accountId: config.accountId, materialCacheTtlMs: config.kms.materialCacheTtlSeconds * 1000 },
    });
    // Creates the audit signing key on first start, before any worker could race to create it,
    // and recovers the journals a previous run left before any worker appends.
    const { store, trail } = await openAuditTrail(config, keys, systemClock, log, { kind: 'cluster-primary' });
    recoverJournals = (except) => recoverAuditJournalsOf(config, log, except);
    const metadata = db;
    const root = rootKey;
    return {
      credential,
      created,
      audit: trail,
      close: async () => {
        // The workers' threads ingested their journals as they closed; what a worker that did
        // not stop cleanly left is chained here, before the final digest covers it.
        let failure: unknown;
        try {
          recoverAuditJournalsOf(config, log);
        } catch (err) {
          failure = err;
        }
        await trail.close();
        store.close();
        metadata.close();
        root.close();
        lock.release();
        if (failure !== undefined) throw failure;
      },
    };
  } catch (err) {
    // The primary exits on this error: close what it opened first, as a single-process start
    // does (an open metadata.db would otherwise be left with its -wal and -shm files).
    db?.close();
    rootKey?.close();
    lock.release();
    throw err;
  }
}

type SqliteDatabase = ReturnType<typeof openSqlite>;

/**
 * Files only the primary tidies or makes, before any worker serves: body files whose row
 * never committed (a crash between rename and commit; no write is in flight yet, and a
 * worker never sweeps) and the TLS CA and server certificate. Raises what openTls raises.
 */
async function firstStartFiles(config: CipherlakeConfig, db: SqliteDatabase, log: Logger): Promise<void> {
  const s3Store = new SqliteS3MetadataStore(db);
  clearObjectTmp(join(config.dataDir, 'objects'));
  await sweepOrphanBodies(join(config.dataDir, 'objects'), (ids) => s3Store.unreferencedStorageIds(ids), Date.now()).catch((err: unknown) => log.warn({ err }, 'orphan body sweep failed'));
  const tlsHosts = [...(config.https.enabled ? [config.https.host] : []), ...privateEndpoints(config.endpoints).filter((e) => e.tls).map((e) => e.host)];
  if (tlsHosts.length > 0) openTls(config.dataDir, config.tls, tlsHosts, systemClock, log).identity.close();
}

/** In a cluster worker: whether this worker's audit writer thread fills the lookup index (one worker does). */
export function workerIndexesAudit(): boolean {
  return cluster.isWorker && process.env[AUDIT_INDEXER_ENV] === '1';
}

/** In a cluster worker: tells the primary the endpoint this worker serves. No-op elsewhere. */
export function notifyPrimaryListening(endpoint: string): void {
  if (!cluster.isWorker) return;
  const message: ListeningMessage = { type: 'cipherlake-listening', endpoint };
  process.send?.(message);
}

/**
 * The cluster primary: forks `workers` processes (each re-runs this command and serves
 * the shared port with its own caches) — one first, so that first-start work done while
 * starting (keys the server creates for itself) is done once, then the others — calls
 * `onReady(endpoint)` once all listen, and on SIGTERM/SIGINT stops them gracefully (each
 * finishes its in-flight requests and its audit commits), then runs `hooks.afterWorkers`
 * (closing the audit trail: the final digest) before exiting. The first worker, and the
 * replacement of whichever worker held the role, indexes the audit trail. A worker that
 * dies before all are ready stops the whole server (exit 1); one that dies later is
 * replaced, after the audit journal it left is recovered (each fork gets a fresh journal
 * name, CIPHERLAKE_AUDIT_JOURNAL). It never serves requests itself.
 *
 * Scheduling stays node:cluster's default round-robin (the primary accepts and hands each
 * connection to a worker): with keep-alive that is once per connection (about 3 µs of primary
 * CPU per request measured), while SCHED_NONE (workers accept directly) put all 32 or all 16
 * keep-alive connections of a benchmark client on one worker in half the runs.
 */
export function runClusterPrimary(workers: number, onReady: (endpoint: string) => void, hooks: { afterWorkers?: () => Promise<void> } = {}): void {
  let ready = 0;
  let started = false;
  let stopping = false;
  let exitCode = 0;
  const indexers = new Set<Worker>();
  // Each worker's audit journal name, fresh per fork: a replacement never reuses its predecessor's.
  const journals = new Map<Worker, string>();
  const fork = (indexes: boolean): Worker => {
    const journal = newJournalName('w');
    const worker = cluster.fork({ [AUDIT_INDEXER_ENV]: indexes ? '1' : '0', [AUDIT_JOURNAL_ENV]: journal });
    journals.set(worker, journal);
    if (indexes) indexers.add(worker);
    worker.on('message', (m: Partial<ListeningMessage>) => {
      if (m.type !== 'cipherlake-listening' || started) return;
      ready++;
      // The first worker does any remaining first-start work alone (keys the parts create for themselves); then the others start.
      if (ready === 1) for (let i = 1; i < workers; i++) fork(false);
      if (ready === workers && m.endpoint !== undefined) {
        started = true;
        onReady(m.endpoint);
      }
    });
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    journals.delete(worker);
    if (stopping) {
      // A worker that did not stop cleanly (its close failed, or it was killed) may have
      // left audit commits or requests unfinished: the server's exit says so.
      if (code !== 0 || signal !== null) {
        exitCode = 1;
        process.stderr.write(`cipherlake: worker ${worker.process.pid} did not stop cleanly (${signal ?? code})\n`);
      }
      if (Object.keys(cluster.workers ?? {}).length === 0) finish();
      return;
    }
    process.stderr.write(`cipherlake: worker ${worker.process.pid} exited (${signal ?? code})${started ? ', starting another' : ''}\n`);
    const indexed = indexers.delete(worker);
    // What the dead worker acknowledged but its thread had not chained yet: chained now, before
    // its replacement appends (the live workers' journals are theirs to ingest).
    try {
      recoverJournals?.(journals.values());
    } catch (err) {
      process.stderr.write(`cipherlake: recovering the audit journal of worker ${worker.process.pid} failed (retried when the server stops or restarts): ${err instanceof Error ? err.message : String(err)}\n`);
    }
    if (started) fork(indexed);
    else stop(1);
  });
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    const force = setTimeout(() => process.exit(1), 12_000);
    force.unref();
    const alive = Object.values(cluster.workers ?? {});
    if (alive.length === 0) finish();
    for (const w of alive) w?.process.kill('SIGTERM');
  };
  let finishing = false;
  const finish = (): void => {
    if (finishing) return;
    finishing = true;
    (hooks.afterWorkers?.() ?? Promise.resolve()).then(
      () => process.exit(exitCode),
      (err: unknown) => {
        process.stderr.write(`cipherlake: closing the audit trail failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  fork(true);
}

/** True in a process that cluster.fork() started. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}
