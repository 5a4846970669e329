/**
 * KMS hot path: GenerateDataKey and Decrypt requests/s and p50/p99 latency over keep-alive
 * HTTP with SigV4, at several concurrencies, side by side with a bare node:http server
 * answering a constant body (the ceiling of the process model). Servers run in child
 * processes, so the load generator (this process) never shares their event loop; it does
 * share the machine's cores, as a client on the same host would. Asserts nothing about speed.
 *
 * Run: npm run bench:kms                     (compiled: node dist/bench/kms-bench.js)
 *      node --import tsx bench/kms-bench.ts  (from source)
 * Flags: --duration=<s> (5) --concurrency=1,16,64 --workers=<n> (0: no cluster rows); `--flag value` works too
 *        --warmup=<s> (unmeasured load before each row; default min(1, duration/4))
 *        --profile=<dir> (writes a V8 CPU profile of the one-process server into <dir>)
 *        --cpu (adds the server's CPU time per request: user + system of the server process
 *        and its cluster workers, from /proc, over the measured window — steadier than
 *        req/s when other work shares the machine — and, apart, that of their main threads:
 *        the request path, without the audit writer thread and libuv's pool)
 *        --floor (adds `minimal GenerateDataKey` rows, 1 process and, with --workers, that many
 *        workers: bench/minimal-kms-server.ts, only the work issue 2 requires of a call
 *        (keep-alive HTTP, SigV4, JSON 1.1, the data key sealed into the project's blob, the
 *        answer), run with Cipherlake's node flags and driven like the other rows)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmsCall, KmsSigner, runLoad, type KmsCall, type LoadResult } from './kms-load.js';
import { MINIMAL_KMS_KEY_ID } from './minimal-kms-server.js';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';

const ACCESS_KEY_ID = 'AKIABENCHBENCH000001';
const SECRET = 'bench-secret-key-000000000000000000000000';
const REGION = 'us-east-1';

interface Options {
  readonly durationMs: number;
  /** Unmeasured load before each row; default min(1 s, duration / 4). */
  readonly warmupMs: number;
  readonly concurrency: readonly number[];
  readonly workers: number;
  readonly profileDir?: string;
  readonly cpu: boolean;
  /** Adds the minimal GenerateDataKey server's rows (the floor of issue 2). */
  readonly floor: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  // `--name=value` or `--name value` (so `npm run bench:kms -- --workers 2` works too).
  const get = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    const arg = argv[i];
    if (arg === undefined) return undefined;
    return arg.includes('=') ? arg.slice(name.length + 3) : argv[i + 1];
  };
  const profileDir = get('profile');
  return {
    durationMs: Number(get('duration') ?? '5') * 1000,
    // Longer warm-ups matter for the cluster rows: each worker JIT-compiles the hot paths for itself, on its share of the requests.
    warmupMs: get('warmup') !== undefined ? Number(get('warmup')) * 1000 : Math.min(1000, (Number(get('duration') ?? '5') * 1000) / 4),
    concurrency: (get('concurrency') ?? '1,16,64').split(',').map(Number),
    // Default 0 (no cluster rows); `--workers 2` adds rows for `cipherlake server --workers 2` and a bare server with 2 workers.
    workers: Number(get('workers') ?? '0'),
    cpu: argv.includes('--cpu'),
    floor: argv.includes('--floor'),
    ...(profileDir !== undefined ? { profileDir } : {}),
  };
}

/** Compiled (dist/bench/*.js) or from source through tsx (bench/*.ts). */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const EXT = FROM_SOURCE ? '.ts' : '.js';

function script(relative: string): string {
  return fileURLToPath(new URL(relative + EXT, import.meta.url));
}

interface Child {
  readonly name: string;
  readonly origin: string;
  readonly proc: ChildProcess;
  readonly dataDir?: string;
}

/** Starts a server child and waits for the line that names its port. */
function startChild(name: string, args: readonly string[], env: NodeJS.ProcessEnv, nodeArgs: readonly string[], dataDir?: string): Promise<Child> {
  const execArgs = [...(FROM_SOURCE ? ['--import', 'tsx'] : []), ...nodeArgs, ...args];
  const proc = spawn(process.execPath, execArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const m = /PORT (\d+)|listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (m !== null) {
        proc.stdout?.off('data', onData);
        proc.stderr?.off('data', onData);
        proc.stdout?.resume();
        proc.stderr?.on('data', (c: Buffer) => process.stderr.write(`[${name}] ${c.toString('utf8')}`));
        resolve({ name, origin: `http://127.0.0.1:${m[1] ?? m[2]}`, proc, ...(dataDir !== undefined ? { dataDir } : {}) });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening: ${seen.slice(0, 500)}`)));
  });
}

function startCipherlake(name: string, workers: number, nodeArgs: readonly string[]): Promise<Child> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-bench-'));
  const args = [script('../src/cli/index'), 'server', '--port', '0', '--data-dir', dataDir, ...(workers > 0 ? ['--workers', String(workers)] : [])];
  const env = { CIPHERLAKE_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID, CIPHERLAKE_ROOT_SECRET_ACCESS_KEY: SECRET, CIPHERLAKE_LOG_LEVEL: 'warn' };
  // The flags `npm start` runs the server with, then the caller's.
  return startChild(name, args, env, [...SERVER_NODE_FLAGS, ...nodeArgs], dataDir);
}

/** Starts bench/minimal-kms-server.ts (`workers` 0: one process) with the bench's credential and Cipherlake's node flags. */
function startFloor(name: string, workers: number): Promise<Child> {
  const env = { MINIMAL_KMS_ACCESS_KEY_ID: ACCESS_KEY_ID, MINIMAL_KMS_SECRET_ACCESS_KEY: SECRET };
  return startChild(name, [script('./minimal-kms-server'), String(workers)], env, SERVER_NODE_FLAGS);
}

/** The process and its descendants (cluster workers), through /proc's children lists; [] where /proc is missing. */
function processTree(pid: number): number[] {
  const out = [pid];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ')) {
        if (child !== '') out.push(...processTree(Number(child)));
      }
    }
  } catch {
    // gone, or no /proc: counts as no CPU
  }
  return out;
}

/** User + system CPU ms (all threads) of a process and its descendants so far; NaN without /proc. */
function treeCpuMs(pid: number): number {
  let ticks = 0;
  let seen = false;
  for (const p of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
      seen = true;
    } catch {
      // exited between the listing and the read
    }
  }
  return seen ? ticks * 10 : NaN; // USER_HZ is 100 on Linux
}

/** User + system CPU ms of the main thread (the thread whose id is the pid) of a process and its descendants; NaN without /proc. */
function mainThreadsCpuMs(pid: number): number {
  let ticks = 0;
  let seen = false;
  for (const p of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/task/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      seen = true;
    } catch {
      // exited between the listing and the read
    }
  }
  return seen ? ticks * 10 : NaN;
}

async function stopChild(child: Child): Promise<void> {
  const exited = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
  child.proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.dataDir !== undefined) rmSync(child.dataDir, { recursive: true, force: true });
}

function jsonCall(target: string, body: Record<string, unknown>): KmsCall {
  return { target: `TrentService.${target}`, body: Buffer.from(JSON.stringify(body)) };
}

/** Creates a key on the server and returns the GenerateDataKey and Decrypt calls to repeat. */
async function prepareCalls(origin: string, signer: KmsSigner): Promise<{ gdk: KmsCall; decrypt: KmsCall }> {
  const created = await kmsCall(origin, signer, jsonCall('CreateKey', { Description: 'bench' }));
  const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
  const context = { purpose: 'bench' };
  const gdk = jsonCall('GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context });
  const sample = await kmsCall(origin, signer, gdk);
  const decrypt = jsonCall('Decrypt', { CiphertextBlob: sample.CiphertextBlob, EncryptionContext: context });
  return { gdk, decrypt };
}

interface Row {
  readonly target: string;
  readonly concurrency: number;
  readonly result: LoadResult;
  /** CPU ms of the server's main threads over the measured window (with --cpu). */
  readonly mainThreadsCpuMs?: number;
}

function formatTable(rows: readonly Row[], bare: ReadonlyMap<number, number>, cpu: boolean): string {
  const header = ['target', 'conc', 'req/s', 'p50 ms', 'p99 ms', 'vs bare 1 proc', 'errors', ...(cpu ? ['server CPU µs/req', 'main threads µs/req'] : [])];
  const lines = rows.map((r) => [
    r.target,
    String(r.concurrency),
    Math.round(r.result.perSecond).toLocaleString('en-US'),
    r.result.p50Ms.toFixed(3),
    r.result.p99Ms.toFixed(3),
    `${((100 * r.result.perSecond) / (bare.get(r.concurrency) ?? NaN)).toFixed(0)}%`,
    String(r.result.errors),
    ...(cpu ? [cpuPerRequest(r.result.serverCpuMs, r.result), cpuPerRequest(r.mainThreadsCpuMs, r.result)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w, i) => (i < 1 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

function cpuPerRequest(cpuMs: number | undefined, r: LoadResult): string {
  const perRequest = ((cpuMs ?? NaN) * 1000) / r.requests;
  return Number.isFinite(perRequest) ? perRequest.toFixed(0) : '-';
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const limits = { durationMs: opts.durationMs, maxRequests: 2_000_000, warmupMs: opts.warmupMs };
  const profileArgs = opts.profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  const cluster = opts.workers > 0;
  const children = await Promise.all([
    startChild('bare', [script('./bare-http-server'), '0'], {}, []),
    startCipherlake('cipherlake', 0, profileArgs),
    ...(cluster
      ? [startChild(`bare ×${opts.workers}`, [script('./bare-http-server'), String(opts.workers)], {}, []), startCipherlake(`cipherlake ×${opts.workers}`, opts.workers, [])]
      : []),
  ]);
  const [bare1, one, bareN, many] = children as [Child, Child, Child | undefined, Child | undefined];
  const rows: Row[] = [];
  const bare = new Map<number, number>();
  try {
    // Started after the others, inside the try so that `finally` stops them too; the default run's children are as before.
    if (opts.floor) children.push(...(await Promise.all([startFloor('floor', 0), ...(cluster ? [startFloor(`floor ×${opts.workers}`, opts.workers)] : [])])));
    const [floor1, floorN] = children.slice(cluster ? 4 : 2);
    const targets: Array<{ label: string; child: Child; call: KmsCall; signer?: KmsSigner }> = [];
    const constant = jsonCall('GenerateDataKey', {});
    targets.push({ label: 'bare node:http, 1 process', child: bare1, call: constant });
    if (bareN !== undefined) targets.push({ label: `bare node:http, ${opts.workers} workers`, child: bareN, call: constant });
    // The floor's call has the body Cipherlake's GenerateDataKey rows send, naming the floor's one key.
    const floorCall = jsonCall('GenerateDataKey', { KeyId: MINIMAL_KMS_KEY_ID, KeySpec: 'AES_256', EncryptionContext: { purpose: 'bench' } });
    for (const [child, label] of [[floor1, '1 process'], [floorN, `${opts.workers} workers`]] as const) {
      if (child !== undefined) targets.push({ label: `minimal GenerateDataKey, ${label}`, child, call: floorCall, signer: new KmsSigner(ACCESS_KEY_ID, SECRET, REGION, new URL(child.origin).host) });
    }
    const servers: Array<readonly [Child, string]> = [[one, '1 process'], ...(many !== undefined ? [[many, `${opts.workers} workers`] as const] : [])];
    for (const [child, label] of servers) {
      const signer = new KmsSigner(ACCESS_KEY_ID, SECRET, REGION, new URL(child.origin).host);
      const { gdk, decrypt } = await prepareCalls(child.origin, signer);
      targets.push({ label: `GenerateDataKey, ${label}`, child, call: gdk, signer }, { label: `Decrypt, ${label}`, child, call: decrypt, signer });
    }
    for (const c of opts.concurrency) {
      for (const t of targets) {
        const pid = t.child.proc.pid;
        // runLoad reads the probe just before and just after its measured window: the main
        // threads are read at the same two moments.
        const mains: number[] = [];
        const probe =
          opts.cpu && pid !== undefined
            ? () => {
                mains.push(mainThreadsCpuMs(pid));
                return treeCpuMs(pid);
              }
            : undefined;
        const result = await runLoad(t.child.origin, t.signer, t.call, { ...limits, concurrency: c }, probe);
        if (t.child === bare1) bare.set(c, result.perSecond);
        const [main0, main1] = mains;
        rows.push({ target: t.label, concurrency: c, result, ...(main0 !== undefined && main1 !== undefined ? { mainThreadsCpuMs: main1 - main0 } : {}) });
        process.stderr.write(`${t.label} c=${c}: ${Math.round(result.perSecond)} req/s${result.firstError !== undefined ? ` (first error: ${result.firstError})` : ''}\n`);
      }
    }
  } finally {
    await Promise.all(children.map(stopChild));
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`\nKMS benchmark: ${availableParallelism()} cores (${cpu}), node ${process.version}, ${opts.durationMs / 1000} s per row after ${limits.warmupMs / 1000} s warm-up\n\n`);
  process.stdout.write(formatTable(rows, bare, opts.cpu) + '\n');
  if (opts.profileDir !== undefined) process.stdout.write(`\nCPU profile of the one-process server written to ${opts.profileDir}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`kms-bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
