import cluster, { type Worker } from 'node:cluster';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditTrail } from '../../audit/index.js';
import { AUDIT_JOURNAL_ENV, openAuditTrail, recoverAuditJournalsOf, type AuditIngestReply, type AuditIngestRequest } from '../../audit-wiring.js';
import { systemClock } from '../../common/clock.js';
import { createLogger } from '../../common/logger.js';
import type { CipherlakeConfig } from '../../config/config.js';
import { loadRootCredentials, type Credential } from '../../iam/index.js';
import { KeyService, openRootKey, type RootKeyProvider } from '../../kms/index.js';
import { privateEndpoints } from '../../net/endpoints.js';
import { openTls } from '../../net/tls/index.js';
import { closeSqlite, openSqlite } from '../../store/sqlite/database.js';
import { lockDataDir } from '../../store/sqlite/data-dir-lock.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import type { ThreadAuditWriter } from '../../store/sqlite/audit-writer-client.js';
import { newJournalName } from '../../store/sqlite/audit-journal.js';
import { SqliteS3MetadataStore } from '../../store/sqlite/s3-metadata-store.js';
import { clearObjectTmp } from '../../store/fs-objects/fs-object-backend.js';
import { sweepOrphanBodies } from '../../store/fs-objects/orphan-sweep.js';

/** What a worker tells the primary once it listens. */
interface ListeningMessage {
  readonly type: 'cipherlake-listening';
  readonly endpoint: string;
}

/**
 * The primary's side of the workers' audit journals, set by prepareDataDir for
 * runClusterPrimary in the same process; unset elsewhere. `ingester`: the writer thread that
 * chains every live worker's journal into audit.db (watchJournal at each fork, retireJournal
 * when the worker exits) and indexes; `recover`: ingests the journals of every process but
 * the live workers' (named in `except`).
 */
let primaryAudit: { readonly ingester: ThreadAuditWriter; readonly recover: (except: Iterable<string>) => void } | undefined;

/** What the primary holds while its workers serve: the signing side of the audit trail. */
export interface PreparedDataDir {
  readonly credential: Credential;
  readonly created: boolean;
  /**
   * The primary's trail: it appends nothing (each worker journals its batches, which the
   * primary's writer thread chains) and signs digests over the head (interval, every N
   * records, close).
   */
  readonly audit: AuditTrail;
  /**
   * Has its writer thread ingest and seal every worker's journal, recovers any other journal
   * left, signs the final digest and closes the stores. Call after every worker has exited.
   */
  close(): Promise<void>;
}

/**
 * First-start work that must happen exactly once, before any worker starts: the root key
 * file and the root credentials are created with O_EXCL (two workers racing would make one
 * fail), the metadata database is switched to WAL (a journal-mode change needs the
 * database to itself), the built-in TLS CA and server certificate are issued, and the
 * audit signing key is created. Then the primary opens its side of the audit trail: it
 * migrates a file older code wrote (workers never do), starts the writer thread that will
 * chain every worker's journal, and signs the digests. Raises what openRootKey,
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
    const { store, trail, ingester } = await openAuditTrail(config, keys, systemClock, log, { kind: 'cluster-primary' });
    if (ingester === undefined) throw new Error('cluster primary: the audit trail has no journal ingester');
    primaryAudit = { ingester, recover: (except) => recoverAuditJournalsOf(config, log, except) };
    const metadata = db;
    const root = rootKey;
    return {
      credential,
      created,
      audit: trail,
      close: async () => {
        // No worker writes any more: the thread chains and seals what each journaled; a file
        // it could not finish (or a name no fork had) is recovered here on another connection,
        // only once the thread let go of it, and before the final digest covers it.
        for (const name of ingester.watchedJournals()) {
          await ingester.retireJournal(name).catch((err: unknown) => log.warn({ err, journal: name }, 'audit journal left to recovery'));
        }
        let failure: unknown;
        try {
          recoverAuditJournalsOf(config, log);
        } catch (err) {
          failure = err;
        }
        await trail.close();
        store.close();
        await closeSqlite(metadata);
        root.close();
        lock.release();
        if (failure !== undefined) throw failure;
      },
    };
  } catch (err) {
    // The primary exits on this error: close what it opened first, as a single-process start
    // does (an open metadata.db would otherwise be left with its -wal and -shm files).
    if (db !== undefined) await closeSqlite(db);
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
 * finishes its in-flight requests and its audit appends), then runs `hooks.afterWorkers`
 * (closing the audit trail: the final digest) before exiting. Each fork journals its audit
 * batches under a fresh name (CIPHERLAKE_AUDIT_JOURNAL) that the primary's writer thread
 * ingests, and a worker's flush (its lookups' read-your-writes) is answered over the cluster
 * IPC channel once the thread ingested. A worker that dies before all are ready stops the
 * whole server (exit 1); one that dies later is replaced, after the thread ingested and
 * sealed its journal and recovery took anything left: at once when it had run STABLE_RUN_MS,
 * else after a delay (replacementDelay: 100 ms, doubling to 30 s), logged to `hooks.log`
 * once per delay. A fork that fails (its process never starts: EAGAIN, ENOMEM) counts as a
 * worker that died at once, and is logged to `hooks.log` (code and syscall, never the command
 * line). A stop cancels a pending replacement. It never serves requests itself.
 *
 * Scheduling stays node:cluster's default round-robin (the primary accepts and hands each
 * connection to a worker): with keep-alive that is once per connection (about 3 µs of primary
 * CPU per request measured), while SCHED_NONE (workers accept directly) put all 32 or all 16
 * keep-alive connections of a benchmark client on one worker in half the runs.
 */
export function runClusterPrimary(
  workers: number,
  onReady: (endpoint: string) => void,
  hooks: { afterWorkers?: () => Promise<void>; log?: Logger } = {},
): void {
  const log = hooks.log ?? createLogger('info');
  let ready = 0;
  let started = false;
  let stopping = false;
  let exitCode = 0;
  // Each worker's audit journal name, fresh per fork: a replacement never reuses its predecessor's.
  // Also the workers that have not exited: one is in it from its fork to its 'exit'.
  const journals = new Map<Worker, string>();
  // The workers that said they listen (their signal handlers were in before they listened).
  const listened = new WeakSet<Worker>();
  // The handling of workers that died while serving, one at a time; the final close waits for it.
  let exits: Promise<void> = Promise.resolve();
  // When each worker was forked, and the delay its fork waited (0: none), which its own
  // replacement doubles when it dies soon (a worker that keeps crashing as it starts backs off).
  const births = new WeakMap<Worker, Birth>();
  // Replacements waiting out their delay; a stop clears them, so nothing is forked once it began.
  const delayed = new Set<NodeJS.Timeout>();
  const fork = (waited = 0): void => {
    const journal = newJournalName('w');
    const birth: Birth = { at: performance.now(), waited };
    let worker: Worker;
    try {
      worker = cluster.fork({ [AUDIT_JOURNAL_ENV]: journal });
    } catch (err) {
      // A spawn error node does not defer (ENOMEM, say) is thrown here: no process, no journal
      // watched yet; handled as a fork that failed later is.
      forkFailed(undefined, undefined, birth, err);
      return;
    }
    journals.set(worker, journal);
    births.set(worker, birth);
    // A Worker re-emits every 'error' of its ChildProcess, and with no listener the primary
    // dies of it: without its final digest, the journals left unsealed. A spawn that failed
    // (EAGAIN, EMFILE, ENOENT, EACCES: node reports them on the next tick) emits 'error' and
    // never 'exit' (the process has no pid); so does a failed kill (EPERM), or an IPC send
    // without a callback (node:cluster's own) to a worker whose channel ended, on a worker
    // that lives on or whose 'exit' comes as usual.
    worker.on('error', (err: unknown) => {
      if (journals.has(worker) && worker.process.pid === undefined) forkFailed(worker, journal, birth, err);
      else log.warn({ worker: worker.process.pid, ...errorFields(err) }, 'cluster worker process error');
    });
    // Posted before the worker can ask for a flush, which then comes after it on the thread.
    primaryAudit?.ingester.watchJournal(journal).catch((err: unknown) => {
      process.stderr.write(`cipherlake: the audit writer thread could not watch journal ${journal} (recovered when the worker exits): ${errorText(err)}\n`);
    });
    worker.on('message', (m: Partial<ListeningMessage> | Partial<AuditIngestRequest>) => {
      if (m.type === 'cipherlake-audit-ingest') {
        answerIngest(worker, (m as AuditIngestRequest).id);
        return;
      }
      if (m.type !== 'cipherlake-listening') return;
      listened.add(worker);
      // Once stopping, the first worker's "listening" (sent before our SIGTERM reached it)
      // forks nothing: the stop signalled only the workers it knew, so one forked now would
      // never be stopped, and the stop would wait for it until the force exit (exit 1).
      if (started || stopping) return;
      ready++;
      // The first worker does any remaining first-start work alone (keys the parts create for themselves); then the others start.
      if (ready === 1) for (let i = 1; i < workers; i++) fork();
      const endpoint = (m as Partial<ListeningMessage>).endpoint;
      if (ready === workers && endpoint !== undefined) {
        started = true;
        onReady(endpoint);
      }
    });
  };
  // Every forked worker has had its 'exit' (`journals` holds each from its fork to then). Not
  // cluster.workers: node:cluster drops a worker from it only once the worker has exited AND
  // its IPC channel has ended, which come in either order (its docs say so), and when the
  // channel ends last no 'exit' follows. A stop whose last worker exited first then never
  // finished: no final digest, the journals left unsealed, and with nothing left to wait for
  // the primary exited 0 (a CI run: audit verify found 0 digests after a clean exit).
  const allExited = (): boolean => journals.size === 0;
  // A worker that exited, or one whose fork failed (`worker` undefined when cluster.fork threw):
  // while serving, replaced once the thread ingested and sealed its journal and recovery took
  // anything left, `delay` ms after that; before all are ready, the whole server stops (exit 1).
  const replace = (worker: Worker | undefined, journal: string | undefined, delay: number, ran: number): void => {
    // What the dead worker acknowledged but the thread had not chained yet: chained now, before
    // its replacement appends (the live workers' journals stay with the thread). The delay comes
    // after, outside `exits`: the next dead worker's journal is retired without waiting for it.
    exits = exits
      .then(() => recoverDeadWorker(worker?.process.pid, journal, journals.values()))
      .then(() => {
        if (stopping) {
          if (allExited()) finish();
        } else if (!started) stop(1);
        else if (delay === 0) fork();
        else {
          log.warn({ worker: worker?.process.pid, ranMs: Math.round(ran), delayMs: delay }, 'cluster worker replacement delayed');
          // Referenced: with no worker left (`--workers 1`) nothing else holds the primary's event
          // loop, which would run dry and exit. A stop clears it; finish exits on its own.
          const timer = setTimeout(() => {
            delayed.delete(timer);
            if (!stopping) fork(delay);
          }, delay);
          delayed.add(timer);
        }
      });
  };
  // How long `birth`'s worker ran, and how long its replacement waits.
  const replacing = (birth: Birth | undefined): { ran: number; delay: number } => {
    const ran = birth === undefined ? 0 : performance.now() - birth.at;
    return { ran, delay: replacementDelay(ran, birth?.waited ?? 0) };
  };
  const after = (delay: number): string => (delay === 0 ? '' : ` in ${delay} ms`);
  cluster.on('exit', (worker, code, signal) => {
    const journal = journals.get(worker);
    journals.delete(worker);
    if (stopping) {
      // A worker that did not stop cleanly (its close failed, or it was killed) may have
      // left audit appends or requests unfinished: the server's exit says so. Not one our
      // SIGTERM ended before it had its handlers in (a replacement forked as the stop came):
      // those go in before it listens, so it served nothing and appended nothing.
      if (signal === 'SIGTERM' && !listened.has(worker)) {
        process.stderr.write(`cipherlake: worker ${worker.process.pid} was stopped while it started\n`);
      } else if (code !== 0 || signal !== null) {
        exitCode = 1;
        process.stderr.write(`cipherlake: worker ${worker.process.pid} did not stop cleanly (${signal ?? code})\n`);
      }
      if (allExited()) finish();
      return;
    }
    const { ran, delay } = replacing(births.get(worker));
    process.stderr.write(`cipherlake: worker ${worker.process.pid} exited (${signal ?? code})${started ? `, starting another${after(delay)}` : ''}\n`);
    replace(worker, journal, delay, ran);
  });
  // A fork whose process never started is a worker that died before serving anything: no
  // 'exit' comes for it, so it leaves `journals` here (else a stop would wait for it forever).
  const forkFailed = (worker: Worker | undefined, journal: string | undefined, birth: Birth, err: unknown): void => {
    if (worker !== undefined) {
      journals.delete(worker);
      // node:cluster drops a worker from cluster.workers at its exit or disconnect. After
      // ENOENT its channel ends and it is gone already (node 20, checked); after EMFILE or
      // ENFILE node returns before setting the channel up and neither comes: without this, each
      // such failed fork (one per delay while the cause lasts) would stay for the primary's lifetime.
      if (cluster.workers?.[worker.id] === worker) delete cluster.workers[worker.id];
    }
    const { ran, delay } = replacing(birth);
    // Not the error itself: its spawnargs repeat the server's whole command line.
    log.error({ ...errorFields(err), stopping, started }, 'cluster worker could not be started');
    process.stderr.write(`cipherlake: a worker could not be started (${errorText(err)})${!stopping && started ? `, starting another${after(delay)}` : ''}\n`);
    if (stopping) {
      // Forked as the stop came: it served nothing; its journal (if watched) is the close's.
      if (allExited()) finish();
      return;
    }
    replace(worker, journal, delay, ran);
  };
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    // Referenced: a stop whose close never comes (or never settles) exits 1 here, never 0 once
    // the event loop runs dry (finish exits on its own, so this delays no clean stop).
    setTimeout(() => process.exit(1), 12_000);
    for (const timer of delayed) clearTimeout(timer);
    delayed.clear();
    const alive = [...journals.keys()];
    if (alive.length === 0) finish();
    for (const w of alive) w.process.kill('SIGTERM');
  };
  let finishing = false;
  const finish = (): void => {
    if (finishing) return;
    finishing = true;
    exits.then(() => hooks.afterWorkers?.()).then(
      () => process.exit(exitCode),
      (err: unknown) => {
        process.stderr.write(`cipherlake: closing the audit trail failed: ${errorText(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  fork();
}

/** When a worker was forked (performance.now()), and the delay its fork waited (ms, 0: none). */
interface Birth {
  readonly at: number;
  readonly waited: number;
}

/**
 * A worker that ran this long (ms, from its fork) before it died is replaced at once, and its
 * line's delay starts over. A worker that dies on every start (a bad config file, a missing
 * file, audit.db not writable) dies within its start: well under a second compiled, a few
 * seconds from source on a loaded machine; 10 s is well past that, and systemd's default
 * StartLimitIntervalSec. A worker that ran that long served: one lost to a rare fault (the OOM
 * killer, a crash on one request) is back at once, as before.
 */
const STABLE_RUN_MS = 10_000;
/** The first delay before a replacement of a worker that died soon (ms), doubled each time after. */
const FIRST_DELAY_MS = 100;
/**
 * The longest (ms): a worker that cannot start costs a fork (15-17 ms of the primary's CPU
 * measured) and a few log lines per 30 s instead of 22-33 a second, and a cause put right
 * while it waits (a worker reads the config file again) is picked up within 30 s.
 */
const MAX_DELAY_MS = 30_000;

/**
 * How long the replacement of a worker that ran `ranMs` waits (ms), when that worker's own
 * fork waited `waitedMs`: 0 after STABLE_RUN_MS, else FIRST_DELAY_MS, doubling up to
 * MAX_DELAY_MS (as systemd's RestartSteps or PM2's exponential backoff restart delay). A fork
 * that failed ran next to nothing.
 */
function replacementDelay(ranMs: number, waitedMs: number): number {
  if (ranMs >= STABLE_RUN_MS) return 0;
  return waitedMs <= 0 ? FIRST_DELAY_MS : Math.min(waitedMs * 2, MAX_DELAY_MS);
}

/**
 * After a worker died while serving: the writer thread ingests its journal to the end and
 * seals it (retireJournal), then recovery takes whatever is left of any process but the live
 * workers' (their names in `live`) and every name the thread still watches: a sibling that
 * died meanwhile is no longer live, but its retire waits behind this one, and recovery
 * reading a journal the thread holds open could chain its frames twice (a file sealed under
 * the thread's descriptor, its row dropped, reads as offset 0 again). Never rejects: a
 * failure is said on stderr and retried when the server stops or restarts (the records stay
 * journaled).
 */
async function recoverDeadWorker(pid: number | undefined, journal: string | undefined, live: Iterable<string>): Promise<void> {
  const audit = primaryAudit;
  if (audit === undefined) return;
  const say = (what: string, err: unknown): void => {
    process.stderr.write(`cipherlake: ${what} of worker ${pid ?? '(never started)'} failed (retried when the server stops or restarts): ${errorText(err)}\n`);
  };
  if (journal !== undefined) await audit.ingester.retireJournal(journal).catch((err: unknown) => say('ingesting the audit journal', err));
  try {
    audit.recover(new Set([...live, ...audit.ingester.watchedJournals()]));
  } catch (err) {
    say('recovering the audit journal', err);
  }
}

/**
 * Answers a worker's request to ingest (its flush): the primary's writer thread ingests every
 * journal written so far, and the worker hears the head, or why not (a message only). An
 * answer to a worker that is gone is dropped.
 */
function answerIngest(worker: Worker, id: number): void {
  const answer = (reply: AuditIngestReply): void => {
    if (!worker.isConnected()) return;
    worker.send(reply, undefined, () => undefined);
  };
  const ingester = primaryAudit?.ingester;
  if (ingester === undefined) {
    answer({ type: 'cipherlake-audit-ingested', id, error: 'audit: this primary ingests no journals' });
    return;
  }
  ingester.flush().then(
    (head) => answer({ type: 'cipherlake-audit-ingested', id, seq: head?.seq ?? 0, hash: head?.hash ?? '' }),
    (err: unknown) => answer({ type: 'cipherlake-audit-ingested', id, error: errorText(err) }),
  );
}

/** What the log keeps of an error, as the listeners log theirs: its message and errno code and syscall, nothing else. */
function errorFields(err: unknown): { reason: string; code?: unknown; syscall?: unknown } {
  if (!(err instanceof Error)) return { reason: String(err) };
  const { code, syscall } = err as NodeJS.ErrnoException;
  return { reason: err.message, ...(code !== undefined ? { code } : {}), ...(syscall !== undefined ? { syscall } : {}) };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True in a process that cluster.fork() started. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}
