/**
 * The servers bench/s3-bench.ts measures, each in its own child process so the load
 * generator never shares their event loop: Cipherlake (`cipherlake server`), s3rver (npm,
 * no encryption, files on disk), a null S3 endpoint (this file, run with `null`: it
 * discards uploads and serves zeros of the size last PUT at that path) and the durable null
 * endpoints of bench/null-durable-server.ts (`null-fsync`, `null-sealed`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import type { DurableMode } from './null-durable-server.js';

/** Compiled (dist/bench/*.js, as `npm start` runs the server from dist/) or from source through tsx. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const REPO = fileURLToPath(new URL(FROM_SOURCE ? '../' : '../../', import.meta.url));
const CLI = fileURLToPath(new URL(`../src/cli/index${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url));
const TSX: readonly string[] = FROM_SOURCE ? ['--import', 'tsx'] : [];

/** A running server under test. */
export interface Target {
  readonly name: string;
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export const BENCH_ACCESS_KEY_ID = 'AKIABENCHBENCHBENCH1';
export const BENCH_SECRET = 'bench-secret-key-000000000000000000000000';

function waitFor(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no ready line in 30 s: ${out}`)), 30_000);
    const onData = (c: Buffer): void => {
      out += c.toString('utf8');
      const m = pattern.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited ${code}: ${out}`)));
  });
}

function stopper(child: ChildProcess, dir?: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * Cipherlake as a process: fresh data dir, bench credentials, SSE-C trusted via
 * x-forwarded-proto, no NBD. `workers` > 0 runs `server --workers N` (node:cluster: the
 * primary forks N serving processes; `pid` is the primary's, so CPU accounting must add its
 * children, see s3-bench's cpuSeconds). `stdoutFile`, if given, receives the server's stdout
 * (for V8 flags such as --trace-gc passed in `nodeArgs`). `extraEnv` adds environment
 * variables (e.g. CIPHERLAKE_TRACE_PHASES). `checkout`, if given, is another checkout of
 * this repository (with node_modules) whose server runs instead, from source through tsx.
 */
export async function startCipherlakeTarget(nodeArgs: readonly string[] = [], workers = 0, stdoutFile?: string, extraEnv: Readonly<Record<string, string>> = {}, checkout?: string): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-s3bench-'));
  // Made here: `server --workers` prepares the data dir before anything creates it.
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ nbd: { enabled: false }, s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } }));
  const env = { PATH: process.env.PATH ?? '', HOME: dir, CIPHERLAKE_ROOT_ACCESS_KEY_ID: BENCH_ACCESS_KEY_ID, CIPHERLAKE_ROOT_SECRET_ACCESS_KEY: BENCH_SECRET, ...passedThrough(), ...extraEnv };
  // Another checkout (e.g. a git worktree of the commit to compare with) runs from its source through tsx.
  const cli = checkout !== undefined ? join(checkout, 'src', 'cli', 'index.ts') : CLI;
  const tsx = checkout !== undefined ? ['--import', 'tsx'] : TSX;
  // The flags `npm start` runs the server with, then the caller's.
  const args = [...SERVER_NODE_FLAGS, ...nodeArgs, ...tsx, cli, 'server', '-c', join(dir, 'config.json'), '--port', '0', '--data-dir', join(dir, 'data'), '--log-level', 'error', ...(workers > 0 ? ['--workers', String(workers)] : [])];
  // stdout (where V8's --trace-gc writes) goes to `stdoutFile` when given, else nowhere.
  const out = stdoutFile !== undefined ? openSync(stdoutFile, 'w') : 'ignore';
  const child = spawn(process.execPath, args, { cwd: checkout ?? REPO, env, stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out);
  const m = await waitFor(child, /listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*kms list-keys\n/, 'cipherlake');
  return { name: workers > 0 ? `Cipherlake (${workers} workers)` : 'Cipherlake', endpoint: m[1]!, accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET, pid: child.pid!, stop: stopper(child, dir) };
}

/**
 * The bench's own UV_THREADPOOL_SIZE and CIPHERLAKE_AUDIT_ENABLED, if set, for the server too:
 * the server's environment is built from scratch, so without this a value set in the shell
 * never reached it (CIPHERLAKE_AUDIT_ENABLED=false measures a row without the audit trail).
 */
function passedThrough(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['UV_THREADPOOL_SIZE', 'CIPHERLAKE_AUDIT_ENABLED']) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** s3rver 3 as a process with its own temp dir; the bucket `bench` exists at start. */
export async function startS3rverTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 's3rver-bench-'));
  const port = await freePort();
  const bin = join(REPO, 'node_modules', 's3rver', 'bin', 's3rver.js');
  const child = spawn(process.execPath, [bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--configure-bucket', 'bench', '--no-vhost-buckets'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitFor(child, /listening/i, 's3rver');
  child.stdout?.resume();
  return { name: 's3rver', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', pid: child.pid!, stop: stopper(child, dir) };
}

/** The null endpoint as a process (this file with argument `null`). */
export async function startNullTarget(): Promise<Target> {
  const child = spawn(process.execPath, [...TSX, fileURLToPath(import.meta.url), 'null'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitFor(child, /PORT (\d+)/, 'null endpoint');
  return { name: 'null', endpoint: `http://127.0.0.1:${m[1]}`, accessKeyId: 'NULL', secretAccessKey: 'NULL', pid: child.pid!, stop: stopper(child) };
}

/**
 * A durable null endpoint as a process (bench/null-durable-server.ts) over a fresh temp data
 * dir, removed by `stop`: `fsync` stores bodies durably as they are, `sealed` seals them
 * first (AES-256-GCM segments). It runs with the V8 flags Cipherlake's server runs with
 * (SERVER_NODE_FLAGS: a GC threshold any Node server may set), so that a large sealed GET's
 * per-segment buffers cost both the same. No auth: the credentials are placeholders.
 */
export async function startNullDurableTarget(mode: DurableMode): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), `null-${mode}-bench-`));
  const server = fileURLToPath(new URL(`./null-durable-server${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url));
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...TSX, server, mode, dir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitFor(child, /PORT (\d+)/, `null-${mode} endpoint`);
  // Its stderr carries failed requests' messages: shown, since a failure also fails the bench.
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(`null-${mode}: ${c.toString('utf8')}`));
  return { name: `null-${mode}`, endpoint: `http://127.0.0.1:${m[1]}`, accessKeyId: 'NULL', secretAccessKey: 'NULL', pid: child.pid!, stop: stopper(child, dir) };
}

const ZEROS = Buffer.alloc(1024 * 1024);

/** Discards request bodies; a GET answers zeros of the size last PUT at that path. */
function serveNull(): Server {
  const sizes = new Map<string, number>();
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      const path = req.url?.split('?')[0] ?? '/';
      if (req.method === 'PUT') {
        sizes.set(path, size);
        res.writeHead(200, { etag: '"00000000000000000000000000000000"', 'content-length': 0 });
        res.end();
        return;
      }
      let left = sizes.get(path) ?? 0;
      res.writeHead(200, { 'content-length': left, 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, ZEROS.length);
          left -= n;
          if (!res.write(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
  return server;
}

if (process.argv[2] === 'null') serveNull();
