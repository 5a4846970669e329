/**
 * The cost of auditing (issue 5): KMS GenerateDataKey/s and 4 KiB SSE-KMS S3 PUT ops/s with
 * the audit trail on, as a ratio to the same server build with `audit.enabled=false`
 * (CIPHERLAKE_AUDIT_ENABLED=false), in the same run. Two server child processes (one per
 * setting, otherwise identical) on fresh data directories. Per workload × concurrency, after
 * one unmeasured 2 s warm-up round per server, rounds alternate on/off so machine drift hits
 * both alike; the ratio is of the summed counts. Target ≥ 0.85. Asserts nothing about speed.
 *
 * The client is light on purpose, so the numbers measure the server: undici keep-alive
 * pools, one connection per concurrent caller. KMS calls are kms-bench's (kms-load.ts:
 * pre-signed SigV4); S3 PUTs are signed as s3-bench signs them (s3-sigv4.ts: SigV4 with
 * UNSIGNED-PAYLOAD) over 64 keys of one bucket, durable as the server always is, in three
 * modes: `s3` SSE-KMS with the aws/s3 key and no bucket key (two records per PUT: PutObject
 * and the GenerateDataKey S3 makes on the caller's behalf, as CloudTrail logs both),
 * `s3-bucket-key` the same with `x-amz-server-side-encryption-bucket-key-enabled` (the bucket
 * key's data key is reused, so its GenerateDataKey and record are rare: about one record per
 * PUT, as with AWS, where bucket keys are how SSE-KMS at high request rates is meant to run),
 * and `s3-sse-s3` SSE-S3 (AES256, S3's default: one record per PUT).
 *
 * Also reports each server's CPU per request over the rounds (from /proc: all threads, and
 * the main threads alone, the request threads that auditing must not load; with --workers,
 * summed over the primary and its workers): steadier than req/s when other work shares the
 * machine. And, per run, where the machine's CPU went while each server was measured (/proc/stat
 * and this process's own CPU, per request): the server's main thread(s), its other threads, the
 * client, the rest of the busy time (the kernel's softirqs, other processes) and idle time, with
 * how busy the main thread was. On the 2-core VM this runs on, an S3 PUT workload leaves the
 * machine about a third idle with the server's main thread 77–88% busy (the rest of its time
 * its requests wait for the S3 store's group commits), and the ratio follows the main thread's
 * CPU per request (BENCHMARKS.md). "Rest busy" is a difference of 10 ms ticks and can read a
 * few µs below zero.
 *
 * Run: node --import tsx bench/audit-bench.ts [flags]
 *  or, against the compiled server that `npm start` runs: npm run build && node dist/bench/audit-bench.js [flags]
 * Flags: --duration=<s per round> (3), --rounds=<n> (3),
 *        --concurrency=<n,n,…> (16,64: the KMS workload, a row each; the S3 PUTs always run at
 *        32, s3-bench's 4 KiB concurrency), --workloads=kms,s3,s3-bucket-key,s3-sse-s3 (all),
 *        --runs=<n> (1: whole measurements in a row, then a table of their medians),
 *        --workers=<n> (0: one
 *        process; n: both servers run `server --workers n`, node:cluster),
 *        --against=DIR (a third server: the audited server of another checkout DIR, e.g. a git
 *        worktree of the commit to compare with, node_modules symlinked; compiled from DIR/dist
 *        when this benchmark runs compiled and DIR is built, else from source through tsx. It
 *        runs in the same rounds as the other two, each round starting one server later, so a
 *        change is compared with the build before it minutes apart instead of runs apart: its
 *        rows give its ratio to the same unaudited server and to this checkout's audited one).
 *        DIR needs its native addon (build/Release, made by npm install; a copy of dist/ alone
 *        runs node:crypto, ~5% slower here: the benchmark says so when a server logs it).
 *        Calibrate with a control, DIR a copy of this very build: on the 2-core VM the third
 *        server read 0.976 of the audited one (0.95–1.00 in 3 runs; BENCHMARKS.md, "what each
 *        part of the trail costs").
 *        --perf (Linux perf on PATH; one workload at one concurrency, one process): the servers
 *        run with --perf-basic-prof under `perf record -g`, and after the tables come where each
 *        main thread's CPU per request went: by kind of code, the audited server's time under
 *        the trail's code by entry point, and the functions whose own time differs most from the
 *        unaudited server's (bench/audit-profile.ts). perf's sampling costs the servers ~20–30%
 *        more CPU per request on the 2-core VM, so its ratios are not the ratios: compare
 *        profiles with it, ratios without it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { kmsCall, KmsSigner, runRequestLoad, type KmsCall, type LoadRequest } from './kms-load.js';
import { machineCpu, processCpu, type MachineCpu, type ProcessCpu } from './proc-cpu.js';
import { signS3 } from './s3-sigv4.js';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { NATIVE_GCM_NOT_LOADED_LOG } from '../src/crypto/native-gcm/binding.js';
import { label, summary, table, WORKLOADS, type Row, type Totals, type Workload } from './audit-bench-tables.js';
import { PerfScriptReader, profileTables, type ProfiledServer } from './audit-profile.js';

const ACCESS_KEY_ID = 'AKIABENCHBENCH000001';
const SECRET = 'bench-secret-key-000000000000000000000000';
const REGION = 'us-east-1';
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CLI = fileURLToPath(new URL(`../src/cli/index${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url));
/** s3-bench's concurrency for 4 KiB objects, so the two benchmarks' PUT figures compare. */
const S3_CONCURRENCY = 32;
const BUCKET = 'audit-bench';
const S3_KEYS = 64;

interface Options {
  readonly durationMs: number;
  readonly rounds: number;
  readonly concurrencies: readonly number[];
  readonly workloads: readonly Workload[];
  readonly workers: number;
  /** Whole measurements in a row on the same two servers, each a table; with more than one, a table of their ratios and medians follows. */
  readonly runs: number;
  /** `--against=DIR`: another checkout whose audited server is measured in the same rounds (a third server). */
  readonly against: string | undefined;
  /** `--perf`: profile the servers' main threads with Linux perf (see the header). */
  readonly perf: boolean;
}

interface Server {
  readonly origin: string;
  readonly proc: ChildProcess;
  readonly dataDir: string;
}

/** What one server is driven with: a request factory per workload. */
type Drivers = Readonly<Record<Workload, () => LoadRequest>>;

function flag(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function integers(name: string, fallback: string, min: number): number[] {
  const list = (flag(name) ?? fallback).split(',').map(Number);
  if (!list.every((n) => Number.isInteger(n) && n >= min)) throw new Error(`--${name} takes integers ≥ ${min}, comma-separated`);
  return list;
}

function options(): Options {
  const durationS = Number(flag('duration') ?? 3);
  if (!(durationS > 0)) throw new Error('--duration takes a number of seconds > 0');
  const workloads = (flag('workloads') ?? WORKLOADS.join(',')).split(',');
  const known = (w: string): w is Workload => (WORKLOADS as readonly string[]).includes(w);
  if (!workloads.every(known)) throw new Error(`--workloads takes a comma-separated subset of ${WORKLOADS.join(',')}`);
  const [rounds] = integers('rounds', '3', 1);
  const [workers] = integers('workers', '0', 0);
  const [runs] = integers('runs', '1', 1);
  const against = flag('against');
  if (against !== undefined && !existsSync(join(against, 'src', 'cli', 'index.ts'))) throw new Error(`--against=${against}: no src/cli/index.ts there (a checkout of this repository, e.g. a git worktree)`);
  const concurrencies = integers('concurrency', '16,64', 1);
  const perf = process.argv.includes('--perf');
  if (perf) {
    // One row: the samples of the whole run are read as one workload's.
    if (workloads.length !== 1 || (workloads[0] === 'kms' && concurrencies.length !== 1)) throw new Error('--perf profiles one workload at one concurrency: give --workloads=W (and for kms --concurrency=N)');
    if (workers! > 0) throw new Error('--perf profiles one-process servers: leave out --workers');
    if (spawnSync('perf', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('--perf needs Linux perf on PATH (Debian: linux-perf)');
  }
  return { durationMs: durationS * 1000, rounds: rounds!, concurrencies, workloads, workers: workers!, runs: runs!, against, perf };
}

/**
 * The command line that runs `cipherlake server` of `checkout` (undefined: this one): compiled
 * when this benchmark runs compiled and the checkout has a build (`dist/`), else from source
 * through tsx, so that both audited servers run alike when both are built.
 */
function serverCli(checkout: string | undefined): string[] {
  if (checkout === undefined) return [...(FROM_SOURCE ? ['--import', 'tsx'] : []), CLI];
  const built = join(checkout, 'dist', 'src', 'cli', 'index.js');
  return !FROM_SOURCE && existsSync(built) ? [built] : ['--import', 'tsx', join(checkout, 'src', 'cli', 'index.ts')];
}

/** Starts `cipherlake server` (of `checkout`, or this one) with the audit trail on or off and waits for its banner. */
function startServer(auditEnabled: boolean, workers: number, perf: boolean, checkout?: string): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), `cipherlake-audit-bench-${auditEnabled ? 'on' : 'off'}-`));
  const args = [...SERVER_NODE_FLAGS, ...(perf ? ['--perf-basic-prof'] : []), ...serverCli(checkout), 'server', '--port', '0', '--https-port', '0', '--data-dir', dataDir];
  if (workers > 0) args.push('--workers', String(workers));
  const env = {
    ...process.env,
    CIPHERLAKE_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
    CIPHERLAKE_ROOT_SECRET_ACCESS_KEY: SECRET,
    CIPHERLAKE_LOG_LEVEL: 'warn',
    CIPHERLAKE_AUDIT_ENABLED: String(auditEnabled),
  };
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(checkout !== undefined ? { cwd: checkout } : {}) });
  return new Promise((resolve, reject) => {
    let seen = '';
    // The server's log (stdout, level warn): a server without the native AES-GCM addon (a
    // checkout never built with npm install, or a copy without build/) seals with node:crypto,
    // slower, so its rows would not compare with a server that has it. Said once per server.
    // Looked for across chunk boundaries: the log's tail is kept, the length of the text.
    let toldFallback = false;
    let tail = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      if (toldFallback) return;
      const text = tail + chunk.toString('utf8');
      tail = text.slice(-NATIVE_GCM_NOT_LOADED_LOG.length);
      if (!text.includes(NATIVE_GCM_NOT_LOADED_LOG)) return;
      toldFallback = true;
      process.stderr.write(`audit-bench: the ${checkout !== undefined ? `--against (${checkout})` : `audit ${auditEnabled ? 'on' : 'off'}`} server runs without the native AES-GCM addon (node:crypto seals its objects): its rows do not compare with a server that has it\n`);
    });
    proc.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m !== null) resolve({ origin: m[1]!, proc, dataDir });
    });
    proc.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${seen.slice(0, 500)}`)));
  });
}

async function stopServer(s: Server): Promise<void> {
  if (s.proc.exitCode === null && s.proc.signalCode === null) {
    const exited = new Promise((resolve) => s.proc.once('exit', resolve));
    s.proc.kill('SIGTERM');
    await exited;
  }
  rmSync(s.dataDir, { recursive: true, force: true });
}

/** Creates a KMS key and returns the GenerateDataKey call on it. */
async function gdkCall(origin: string, signer: KmsSigner): Promise<KmsCall> {
  const jsonCall = (op: string, body: unknown): KmsCall => ({ target: `TrentService.${op}`, body: Buffer.from(JSON.stringify(body)) });
  const created = await kmsCall(origin, signer, jsonCall('CreateKey', { Description: 'audit-bench' }));
  const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
  return jsonCall('GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { purpose: 'bench' } });
}

/** The SSE headers each S3 workload sends, and what its answer must say (so a run never measures another mode by mistake). */
const S3_MODES: Readonly<Record<Exclude<Workload, 'kms'>, { readonly send: Readonly<Record<string, string>>; readonly answer: Readonly<Record<string, string>> }>> = {
  s3: { send: { 'x-amz-server-side-encryption': 'aws:kms' }, answer: { 'x-amz-server-side-encryption': 'aws:kms' } },
  's3-bucket-key': {
    send: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-bucket-key-enabled': 'true' },
    answer: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-bucket-key-enabled': 'true' },
  },
  's3-sse-s3': { send: { 'x-amz-server-side-encryption': 'AES256' }, answer: { 'x-amz-server-side-encryption': 'AES256' } },
};

/** Creates the bucket; raises unless it answers 200. */
async function createBucket(origin: string): Promise<void> {
  const pool = new Pool(origin, { connections: 1 });
  try {
    const creds = { endpoint: origin, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET };
    const res = await pool.request({ method: 'PUT', path: `/${BUCKET}`, headers: signS3(creds, 'PUT', `/${BUCKET}`, {}) });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`CreateBucket answered ${res.statusCode}: ${text.slice(0, 300)}`);
  } finally {
    await pool.close();
  }
}

/** PUTs one object with `put`; raises unless it answers 200 with every header of `answer`. */
async function checkPut(origin: string, put: () => LoadRequest, answer: Readonly<Record<string, string>>): Promise<void> {
  const pool = new Pool(origin, { connections: 1 });
  try {
    const first = await pool.request(put());
    const text = await first.body.text();
    const wrong = Object.entries(answer).filter(([name, value]) => first.headers[name] !== value);
    if (first.statusCode !== 200 || wrong.length > 0) throw new Error(`PutObject answered ${first.statusCode}, ${wrong.map(([n]) => `${n}: ${String(first.headers[n])}`).join(', ')}: ${text.slice(0, 300)}`);
  } finally {
    await pool.close();
  }
}

/** Sets a server up for every workload (a KMS key, a bucket) and returns its request factories. */
async function prepare(s: Server, body: Buffer): Promise<Drivers> {
  const signer = new KmsSigner(ACCESS_KEY_ID, SECRET, REGION, new URL(s.origin).host);
  const call = await gdkCall(s.origin, signer);
  const creds = { endpoint: s.origin, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET };
  await createBucket(s.origin);
  const puts = {} as Record<Exclude<Workload, 'kms'>, () => LoadRequest>;
  for (const mode of Object.keys(S3_MODES) as Exclude<Workload, 'kms'>[]) {
    const { send, answer } = S3_MODES[mode];
    let i = 0;
    const put = (): LoadRequest => {
      const path = `/${BUCKET}/${mode}-${i++ % S3_KEYS}`;
      return { method: 'PUT', path, headers: { ...signS3(creds, 'PUT', path, send), 'content-length': String(body.length) }, body };
    };
    await checkPut(s.origin, put, answer);
    puts[mode] = put;
  }
  return { kms: () => ({ method: 'POST', path: '/', headers: signer.headers(call), body: call.body }), ...puts };
}

/** One measured run on one server, added to `into`; returns the line to print. */
async function measureOnce(s: Server, next: () => LoadRequest, concurrency: number, durationMs: number, into: Totals): Promise<string> {
  const pid = s.proc.pid ?? -1;
  // runRequestLoad reads the probe just before and after its measured window; the main
  // threads' CPU is kept from the same two reads.
  const snaps: { server: ProcessCpu; machine: MachineCpu; client: NodeJS.CpuUsage }[] = [];
  const probe = (): number => {
    const c = processCpu(pid);
    snaps.push({ server: c, machine: machineCpu(), client: process.cpuUsage() });
    return c.allMs;
  };
  const r = await runRequestLoad(s.origin, next, { concurrency, durationMs, maxRequests: 10_000_000, warmupMs: 500 }, probe);
  into.cpuMs += r.serverCpuMs ?? NaN;
  const [first, last] = [snaps[0], snaps.at(-1)];
  into.mainMs += (last?.server.mainMs ?? NaN) - (first?.server.mainMs ?? NaN);
  into.clientMs += first !== undefined && last !== undefined ? (last.client.user + last.client.system - first.client.user - first.client.system) / 1000 : NaN;
  into.machineBusyMs += (last?.machine.busyMs ?? NaN) - (first?.machine.busyMs ?? NaN);
  into.machineIdleMs += (last?.machine.idleMs ?? NaN) - (first?.machine.idleMs ?? NaN);
  into.requests += r.requests;
  into.seconds += r.seconds;
  into.errors += r.errors;
  return `${Math.round(r.perSecond)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${r.errors}${r.firstError !== undefined ? ` (${r.firstError})` : ''}`;
}

/** Which server a Row's totals index is: on, off, then --against's audited one. */
const SIDE_NAMES = ['audit on ', 'audit off', 'against on'] as const;

/**
 * One table row: a warm-up round per server, then `rounds` rounds; with two servers they
 * alternate on/off, off/on; with --against's third, each round starts one server later.
 */
async function measureRow(servers: readonly Server[], drivers: readonly Drivers[], workload: Workload, concurrency: number, opts: Options): Promise<Row> {
  // Unmeasured first: round 1 otherwise measures JIT warm-up and a cold SQLite page cache
  // (and the first PUT of each key), always on the same server (the audited one goes first).
  for (let i = 0; i < servers.length; i++) await runRequestLoad(servers[i]!.origin, drivers[i]![workload], { concurrency, durationMs: 2000, maxRequests: 10_000_000, warmupMs: 0 });
  const totals = servers.map(() => ({ requests: 0, seconds: 0, errors: 0, cpuMs: 0, mainMs: 0, clientMs: 0, machineBusyMs: 0, machineIdleMs: 0 })) as Totals[] as [Totals, Totals, ...Totals[]];
  const n = servers.length;
  for (let r = 0; r < opts.rounds; r++) {
    const order = n === 2 ? (r % 2 === 0 ? [0, 1] : [1, 0]) : servers.map((_, k) => (k + r) % n);
    for (const i of order) {
      const line = await measureOnce(servers[i]!, drivers[i]![workload], concurrency, opts.durationMs, totals[i]!);
      process.stdout.write(`${label(workload)} c=${concurrency} round ${r + 1} ${SIDE_NAMES[i]}: ${line}\n`);
    }
  }
  return { workload, concurrency, totals };
}

async function main(): Promise<void> {
  const opts = options();
  const started = await Promise.allSettled([
    startServer(true, opts.workers, opts.perf),
    startServer(false, opts.workers, opts.perf),
    ...(opts.against !== undefined ? [startServer(true, opts.workers, opts.perf, opts.against)] : []),
  ]);
  const up = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  let recording: PerfRecording | undefined;
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const servers = up;
    const body = randomBytes(4096);
    const drivers = await Promise.all(servers.map((s) => prepare(s, body)));
    const runs: Row[][] = [];
    recording = opts.perf ? await startPerf(servers) : undefined;
    for (let run = 1; run <= opts.runs; run++) {
      if (opts.runs > 1) process.stdout.write(`\nrun ${run} of ${opts.runs}\n`);
      const rows: Row[] = [];
      for (const workload of opts.workloads) {
        for (const c of workload === 'kms' ? opts.concurrencies : [S3_CONCURRENCY]) rows.push(await measureRow(servers, drivers, workload, c, opts));
      }
      process.stdout.write(`\n${table(rows, opts.workers)}`);
      runs.push(rows);
    }
    if (runs.length > 1) process.stdout.write(`\n${summary(runs, opts.workers)}`);
    if (recording !== undefined) process.stdout.write(`\n${await profileOf(recording, servers, runs)}`);
  } finally {
    if (recording !== undefined) await stopPerf(recording);
    await Promise.all(up.map(stopServer));
    // --perf-basic-prof's symbol maps, written by V8 to /tmp whatever the directory.
    if (opts.perf) for (const s of up) rmSync(`/tmp/perf-${s.proc.pid}.map`, { force: true });
  }
}

interface PerfRecording {
  readonly proc: ChildProcess;
  readonly dir: string;
  readonly exited: Promise<unknown>;
}

/** `perf record -g` of every server's threads until profileOf stops it. */
async function startPerf(servers: readonly Server[]): Promise<PerfRecording> {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-bench-perf-'));
  const pids = servers.map((s) => s.proc.pid).join(',');
  const proc = spawn('perf', ['record', '-q', '-F', '499', '-g', '-p', pids, '-o', join(dir, 'perf.data')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  // perf attaches to running threads as it starts; give it that moment before the load.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return { proc, dir, exited };
}

/** Stops the recording (perf writes its file as it exits) and removes it; safe to call twice. */
async function stopPerf(recording: PerfRecording): Promise<void> {
  if (recording.proc.exitCode === null && recording.proc.signalCode === null) recording.proc.kill('SIGINT');
  await recording.exited;
  rmSync(recording.dir, { recursive: true, force: true });
}

/** Stops the recording and reads it: the tables of bench/audit-profile.ts, main threads only. */
async function profileOf(recording: PerfRecording, servers: readonly Server[], runs: readonly (readonly Row[])[]): Promise<string> {
  try {
    if (recording.proc.exitCode === null && recording.proc.signalCode === null) recording.proc.kill('SIGINT');
    await recording.exited;
    const pids = servers.map((s) => s.proc.pid ?? -1);
    const reader = new PerfScriptReader(pids);
    const script = spawn('perf', ['script', '-i', join(recording.dir, 'perf.data'), '-F', 'tid,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
    for await (const line of createInterface({ input: script.stdout!, crlfDelay: Infinity })) reader.line(line);
    reader.end();
    const profiled = servers.map((s, i): ProfiledServer => {
      let mainMs = 0;
      let requests = 0;
      for (const rows of runs) for (const row of rows) (mainMs += row.totals[i]?.mainMs ?? 0), (requests += row.totals[i]?.requests ?? 0);
      const stacks = reader.stacks.get(pids[i]!) ?? [];
      // No samples: perf could not attach (perf_event_paranoid, a container), and zeros would read as a profile.
      if (stacks.length === 0) throw new Error(`--perf: perf recorded no samples of the ${SIDE_NAMES[i]!.trim()} server's main thread (denied by /proc/sys/kernel/perf_event_paranoid, or in this container?)`);
      return { name: SIDE_NAMES[i]!.trim(), stacks, mainUsPerRequest: requests > 0 ? (mainMs * 1000) / requests : 0 };
    });
    return profileTables(profiled as [ProfiledServer, ProfiledServer, ...ProfiledServer[]]);
  } finally {
    rmSync(recording.dir, { recursive: true, force: true });
  }
}

await main();
