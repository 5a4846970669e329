import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import type { CipherlakeConfig } from '../../config/config.js';
import { loadRootCredentials, type Credential } from '../../iam/index.js';
import { openRootKey } from '../../kms/index.js';
import { openSqlite } from '../../store/sqlite/database.js';

/** What a worker tells the primary once it listens. */
interface ListeningMessage {
  readonly type: 'cipherlake-listening';
  readonly endpoint: string;
}

/**
 * First-start work that must happen exactly once, before any worker starts: the root key
 * file and the root credentials are created with O_EXCL (two workers racing would make one
 * fail), and the metadata database is switched to WAL (a journal-mode change needs the
 * database to itself). Returns the root credential and whether it was just created.
 * Raises what openRootKey / loadRootCredentials raise; never logs secrets.
 */
export function prepareDataDir(config: CipherlakeConfig): { credential: Credential; created: boolean } {
  openRootKey(config.dataDir, config.rootKey).close();
  const creds = loadRootCredentials(config.dataDir, config.accountId, config.rootCredentials);
  openSqlite(join(config.dataDir, 'metadata.db')).close();
  return creds;
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
 * `onReady(endpoint)` once all listen, and on
 * SIGTERM/SIGINT stops them gracefully (each finishes its in-flight requests) before
 * exiting. A worker that dies before all are ready stops the whole server (exit 1); one
 * that dies later is replaced. It never serves requests itself.
 */
export function runClusterPrimary(workers: number, onReady: (endpoint: string) => void): void {
  let ready = 0;
  let started = false;
  let stopping = false;
  let exitCode = 0;
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (m: Partial<ListeningMessage>) => {
      if (m.type !== 'cipherlake-listening' || started) return;
      ready++;
      // The first worker does the rest of first-start work alone (e.g. the audit signing key); then the others start.
      if (ready === 1) for (let i = 1; i < workers; i++) fork();
      if (ready === workers && m.endpoint !== undefined) {
        started = true;
        onReady(m.endpoint);
      }
    });
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    process.stderr.write(`cipherlake: worker ${worker.process.pid} exited (${signal ?? code})${started ? ', starting another' : ''}\n`);
    if (started) fork();
    else stop(1);
  });
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    const force = setTimeout(() => process.exit(1), 12_000);
    force.unref();
    const alive = Object.values(cluster.workers ?? {});
    if (alive.length === 0) process.exit(exitCode);
    for (const w of alive) w?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  fork();
}

/** True in a process that cluster.fork() started. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}
