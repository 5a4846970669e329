import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from './server.js';
import { until } from './until.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A real `cipherlake server` child process, where it listens, and what its banner said. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly banner: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  readonly dataDir: string;
  /** Extra `server` arguments (e.g. `--workers 2`, `-c FILE`). */
  readonly args?: readonly string[];
  /** Fix the root credentials to the test ones (default true); false lets the server create them. */
  readonly testCredentials?: boolean;
  /** How long to wait for the banner (default 20 s). */
  readonly timeoutMs?: number;
  /** A module node preloads (`--import`, after tsx's) into the server and each worker it forks: a test's hook into it. */
  readonly preload?: string;
  /** More environment variables for the server (and so each worker it forks): a preload's settings. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The repository root, where the server command runs (its `cwd`). */
export const SERVER_CWD = REPO;

/**
 * The node arguments and environment of `cipherlake server --port 0 --https-port 0` from
 * source, as spawnServer runs it (for a test that spawns the process its own way).
 */
export function serverCommand(o: Pick<SpawnOptions, 'dataDir' | 'args' | 'testCredentials' | 'preload' | 'env'>): { args: string[]; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: o.dataDir,
    ...(o.testCredentials !== false ? { CIPHERLAKE_ROOT_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, CIPHERLAKE_ROOT_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY } : {}),
    ...o.env,
  };
  const preload = o.preload !== undefined ? ['--import', o.preload] : [];
  const args = ['--import', 'tsx', ...preload, 'src/cli/index.ts', 'server', ...(o.args ?? []), '--port', '0', '--https-port', '0', '--data-dir', o.dataDir, '--log-level', 'warn'];
  return { args, env };
}

/** A server child process as serverChild starts it: not waited for, its stderr and stdout collected. */
export interface ServerChild {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** What the process wrote to stdout so far: its log (pino, JSON lines, `--log-level warn`). */
  stdout(): string;
  /** Whether the process has exited (by code or signal). */
  dead(): boolean;
}

/**
 * Starts `cipherlake server` from source as serverCommand runs it and returns at once, for a
 * test that watches the process start or stop itself. The caller SIGKILLs it when done unless
 * it exited (killServer takes it).
 */
export function serverChild(o: Pick<SpawnOptions, 'dataDir' | 'args' | 'testCredentials' | 'preload' | 'env'>): ServerChild {
  const { args, env } = serverCommand(o);
  const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return { child, exited, stderr: () => stderr, stdout: () => stdout, dead: () => child.exitCode !== null || child.signalCode !== null };
}

/**
 * Spawns `cipherlake server --port 0 --https-port 0` from source and resolves once the whole
 * banner (ending with the list-keys hint) names the real endpoint. Rejects, after killing
 * the child, when no banner comes in time or the process exits first.
 */
export function spawnServer(o: SpawnOptions): Promise<ServerProcess> {
  const { args, env } = serverCommand(o);
  const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const timeoutMs = o.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.stdout!.resume();
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m !== null && /kms list-keys\n/.test(stderr)) {
        clearTimeout(timer);
        resolve({ child, endpoint: m[1]!, banner: stderr, exited });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited early with ${code}; stderr: ${stderr}`));
    });
  });
}

/** SIGKILLs the server unless it already exited, and waits for it; never throws. */
export async function killServer(server: Pick<ServerProcess, 'child' | 'exited'> | undefined): Promise<void> {
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
}

/**
 * The setup of a describe block that runs real servers: a temporary directory made before
 * its tests (`dir()`), and after them every server started through `spawn` SIGKILLed unless
 * it already exited (killServer), then the directory removed. Call inside describe().
 */
export function serverFixture(prefix: string): { dir(): string; spawn(o: SpawnOptions): Promise<ServerProcess> } {
  let dir: string | undefined;
  const started: ServerProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(async () => {
    for (const server of started) await killServer(server);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir() {
      if (dir === undefined) throw new Error('serverFixture: dir() is only there once the suite runs');
      return dir;
    },
    async spawn(o) {
      const server = await spawnServer(o);
      started.push(server);
      return server;
    },
  };
}

/** Pids of the node:cluster workers of `pid` (its children with NODE_UNIQUE_ID set), from /proc. */
export function clusterWorkers(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').some((v) => v.startsWith('NODE_UNIQUE_ID='))) out.push(Number(name));
    } catch {
      // The process ended while the list was read.
    }
  }
  return out;
}

/**
 * The audit journal name a cluster primary gave worker `pid` (CIPHERLAKE_AUDIT_JOURNAL in its
 * environment, from /proc). Throws when the process has none (not a worker, or gone).
 */
export function workerJournalName(pid: number): string {
  const entry = readFileSync(`/proc/${pid}/environ`, 'latin1')
    .split('\0')
    .find((v) => v.startsWith('CIPHERLAKE_AUDIT_JOURNAL='));
  if (entry === undefined) throw new Error(`process ${pid} has no audit journal name`);
  return entry.slice('CIPHERLAKE_AUDIT_JOURNAL='.length);
}

/** audit.db held so that it chains nothing more (stopAuditChaining). */
export interface StoppedChaining {
  /** The read-write connection that holds it; close it before killing the server. */
  readonly db: Database.Database;
  /** How far audit.db has chained journal file `file` (0 when not at all). */
  ingestedTo(file: string): number;
}

/**
 * For a running server on `dataDir`: waits until audit.db has chained every file of its
 * audit journal to the end, then makes audit.db refuse records (a trigger), so that what the
 * server acknowledges from here on stays in its journal (deterministically, not by racing the
 * writer's poll). Fails (until's bound) when the journal is not chained in time.
 */
export async function stopAuditChaining(dataDir: string): Promise<StoppedChaining> {
  const journalDir = join(dataDir, 'audit-journal');
  const db = new Database(join(dataDir, 'audit.db'));
  const stored = db.prepare('SELECT offset FROM audit_journal WHERE name = ?').pluck();
  const ingestedTo = (f: string): number => (stored.get(f) as number | undefined) ?? 0;
  await until(() => readdirSync(journalDir).every((f) => ingestedTo(f) === statSync(join(journalDir, f)).size), 'the journal chained to its end');
  db.exec("CREATE TRIGGER test_refuse_records BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'test: audit.db refuses records'); END;");
  return { db, ingestedTo };
}
