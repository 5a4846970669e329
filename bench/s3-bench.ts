/**
 * S3 throughput: PUT and GET MB/s for 1 MiB and 64 MiB objects, 4 KiB PUT and GET ops/s,
 * for Cipherlake under SSE-S3, SSE-KMS (without and with bucket keys) and SSE-C, beside s3rver (no encryption) and a null
 * S3 endpoint (the ceiling of HTTP plus this client), all in the same run, each server in
 * its own process; plus `openssl speed -evp aes-256-gcm` (one core) and, separately, the
 * @aws-sdk/client-s3 client on 1 MiB and 4 KiB PUTs.
 *
 * Run: node --import tsx bench/s3-bench.ts [--quick] [--profile] [--cpu]
 *  or, against the compiled server that `npm start` runs (no tsx in the server process):
 *      npm run build && node dist/bench/s3-bench.js [options]
 * The client is undici with SigV4 headers and UNSIGNED-PAYLOAD (the same for every server);
 * GET bodies are read by bench/s3-get-client.ts, which only counts them into one reused buffer
 * per connection (undici's body stream cost the client 3–5× the CPU per MiB, on the cores the
 * servers share): --get-client=undici reads them through undici's `for await` as before.
 * --profile writes a V8 CPU profile of the Cipherlake process to ./s3-bench-profile/.
 * --targets=null,s3rver,SSE-S3,SSE-KMS,SSE-KMS-BK,SSE-C,sdk measures only the rows named;
 * --sizes=1MiB,64MiB,4KiB only those workloads (the SDK rows need 1MiB and 4KiB).
 * --put-only skips the GETs (so a --profile shows the PUT path alone); --count=N sets the 1 MiB request count,
 * --count-4k=N the 4 KiB one; --concurrency-1mib=N the 1 MiB workload's concurrency (8).
 * --workers=0,2 measures the Cipherlake rows once per listed worker count (0: one process, as
 * by default; N: `server --workers N`, node:cluster), in the same run; --cpu then counts the
 * primary and all its worker processes.
 * --warmup runs each workload once, unmeasured, before measuring it (every process's JIT is
 * warm: with workers, each one compiles the hot paths for itself, which a cold run of 3000
 * requests otherwise counts twice); --threads (with --cpu) prints each process's CPU on its
 * main thread and on its other threads (libuv pool, worker threads, V8) per phase;
 * --server-args=F1,F2 adds node flags to the Cipherlake process (e.g. --trace-gc), whose stdout
 * --server-stdout=FILE keeps; --threads=each splits the other threads by thread id (offset from the pid, in creation order).
 * --phases: the server traces each PUT's phases (CIPHERLAKE_TRACE_PHASES, see write-object.ts)
 * and each large PUT workload prints their means beside the client's mean latency.
 * --against=DIR also runs the server of another checkout DIR (a git worktree of the commit to
 * compare with, node_modules symlinked) and alternates the two, --rounds=N times each
 * (default 2), for before/after ratios taken minutes apart instead of runs apart.
 * --multipart-part-mib=N PUTs each object larger than N MiB (the 64 MiB ones) as a multipart
 * upload of N MiB parts (CreateMultipartUpload, UploadPart one after another, Complete), as
 * `aws s3 cp`, lib-storage and rclone do with large files; its GETs then read a multipart
 * object. Without it every PUT is a single PutObject, as before. The null endpoints know no
 * multipart upload: name the rows to measure (--targets=SSE-KMS,…).
 *
 * Ceilings (--ceilings adds all three to a default run; --targets=null-fsync,null-sealed,disk
 * names them one by one): what this machine allows *any* Node server that must make a PUT
 * durable, or encrypt it and make it durable, before acknowledging it — so that a target for
 * the Cipherlake rows can be judged reachable or not. `null-fsync` and `null-sealed` are bare
 * node:http servers in their own process (bench/null-durable-server.ts; no auth, metadata,
 * audit or group commit): each PUT writes a temp file, fdatasyncs it, renames it into place
 * and fsyncs the directory before its 200, `null-sealed` sealing the body on the way with the
 * segment stream format (AES-256-GCM, 64 KiB segments) and verifying every segment's tag on
 * GET. They are what a straightforward server gets, not strict bounds: Cipherlake can beat
 * them where it does what they leave out on purpose (one O_DSYNC write for a small body,
 * directory fsyncs shared by concurrent PUTs, its HTTP layer's fewer flushes). The `disk`
 * line beside the openssl one is the durable sequential write speed: 8 threads each
 * appending 1 MiB with write + fdatasync in a loop for 2 s (bench/disk-speed.ts), in the
 * temp dir the servers' data dirs are made in.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'undici';
import { startCipherlakeTarget, startNullDurableTarget, startNullTarget, startS3rverTarget, type Target } from './s3-targets.js';
import { measureDiskSpeed } from './disk-speed.js';
import { CountingGetClient } from './s3-get-client.js';
import { signS3, type S3Headers } from './s3-sigv4.js';

const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
/** `--cpu`: also report the server process's CPU time (all threads, from /proc) per MiB or per op — steadier than throughput on a shared machine. */
const cpu = process.argv.includes('--cpu');
/** `--targets=null,null-fsync,null-sealed,disk,s3rver,SSE-S3,SSE-KMS,SSE-KMS-BK,SSE-C,sdk` runs only those rows (default: all but the ceilings). */
const only = process.argv.find((a) => a.startsWith('--targets='))?.slice('--targets='.length).split(',');
/** `--ceilings`: the durable null endpoints and the disk line too (see the header comment). */
const ceilings = process.argv.includes('--ceilings');
/** The rows a default run leaves out unless --ceilings asks for them. */
const CEILINGS: readonly string[] = ['null-fsync', 'null-sealed', 'disk'];
/** `--put-only`: no GET phase, so --profile and --cpu see PUTs alone. */
const putOnly = process.argv.includes('--put-only');
/** `--warmup`: each workload once, unmeasured, before its measured run. */
const warmup = process.argv.includes('--warmup');
/** `--threads`: per process and thread name, the CPU of each phase (with --cpu). */
const threads = process.argv.includes('--threads') || process.argv.includes('--threads=each');
/** `--threads=each`: one entry per thread id (tid n = the pid + n), not main / other: which pool, GC or worker thread spends it. */
const eachThread = process.argv.includes('--threads=each');
/** `--server-args=--trace-gc,--max-semi-space-size=16`: extra node flags for the Cipherlake process. */
const serverArgs = process.argv.find((a) => a.startsWith('--server-args='))?.slice('--server-args='.length).split(',') ?? [];
/** `--server-stdout=FILE`: where the Cipherlake process's stdout goes (what --trace-gc prints); default nowhere. */
const serverStdout = process.argv.find((a) => a.startsWith('--server-stdout='))?.slice('--server-stdout='.length);
/** `--phases`: the directory where each server appends each PUT's phase marks, one file per server (undefined: not traced). */
const phasesDir = process.argv.includes('--phases') ? mkdtempSync(join(tmpdir(), 's3-bench-phases-')) : undefined;
/** `--against=DIR`: another checkout whose server is measured alternately with this one. */
const against = process.argv.find((a) => a.startsWith('--against='))?.slice('--against='.length);
/** `--rounds=N`: with --against, how many times each server is measured. */
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length) ?? (against !== undefined ? 2 : 1));
/** `--get-client=undici`: GET bodies through undici's request and `for await` (the client before CountingGetClient). */
const undiciGets = process.argv.includes('--get-client=undici');
/** `--multipart-part-mib=N`: the part size of the multipart PUTs of objects larger than it (undefined: PutObject only). */
const partMiB = process.argv.find((a) => a.startsWith('--multipart-part-mib='))?.slice('--multipart-part-mib='.length);
const partSize = partMiB !== undefined ? Number(partMiB) * 1024 * 1024 : undefined;
if (partSize !== undefined && !(Number.isSafeInteger(partSize) && partSize >= 5 * 1024 * 1024)) throw new Error('--multipart-part-mib takes a whole number of MiB, at least 5 (S3\'s smallest part)');
const wanted = (name: string): boolean => (only === undefined ? ceilings || !CEILINGS.includes(name) : only.includes(name) || (ceilings && CEILINGS.includes(name)));
const MiB = 1024 * 1024;
/** `--count=N` overrides the 1 MiB workload's request count (a longer window for --profile and --cpu). */
const count1MiB = Number(process.argv.find((a) => a.startsWith('--count='))?.slice('--count='.length) ?? NaN);
/** `--count-4k=N` overrides the 4 KiB workload's request count (3000). */
const count4KiB = Number(process.argv.find((a) => a.startsWith('--count-4k='))?.slice('--count-4k='.length) ?? NaN);
/** `--concurrency-1mib=N` overrides the 1 MiB workload's concurrency (8): how the durable PUT scales with callers in flight. */
const concurrency1MiB = Number(process.argv.find((a) => a.startsWith('--concurrency-1mib='))?.slice('--concurrency-1mib='.length) ?? NaN);
/** `--workers=0,2`: the Cipherlake server's worker counts to measure (default: 0, one process). */
const workerCounts = (process.argv.find((a) => a.startsWith('--workers='))?.slice('--workers='.length) ?? '0').split(',').map(Number);
if (!workerCounts.every((n) => Number.isInteger(n) && n >= 0)) throw new Error('--workers takes a comma-separated list of worker counts (0 = one process)');

interface Workload {
  readonly name: string;
  readonly size: number;
  readonly count: number;
  readonly concurrency: number;
}
const ALL_WORKLOADS: readonly Workload[] = [
  { name: '1 MiB', size: MiB, count: Number.isSafeInteger(count1MiB) && count1MiB > 0 ? count1MiB : quick ? 60 : 300, concurrency: Number.isSafeInteger(concurrency1MiB) && concurrency1MiB > 0 ? concurrency1MiB : 8 },
  { name: '64 MiB', size: 64 * MiB, count: quick ? 3 : 8, concurrency: 2 },
  { name: '4 KiB', size: 4096, count: Number.isSafeInteger(count4KiB) && count4KiB > 0 ? count4KiB : quick ? 500 : 3000, concurrency: 32 },
];
/** `--sizes=4KiB,1MiB` keeps only those workloads (to profile one of them). */
const sizes = process.argv.find((a) => a.startsWith('--sizes='))?.slice('--sizes='.length).split(',');
const WORKLOADS = ALL_WORKLOADS.filter((w) => sizes === undefined || sizes.includes(w.name.replace(' ', '')));

type Headers = S3Headers;

async function request(pool: Pool, t: Target, method: 'PUT' | 'GET', path: string, sse: Headers, body?: Buffer): Promise<number> {
  const res = await pool.request({ method, path, headers: { ...signS3(t, method, path, sse), ...(body !== undefined ? { 'content-length': String(body.length) } : {}) }, ...(body !== undefined ? { body } : {}) });
  let n = 0;
  for await (const c of res.body) n += (c as Buffer).length;
  if (res.statusCode !== 200) throw new Error(`${method} ${path}: ${res.statusCode}`);
  return n;
}

/**
 * PUTs `body` at `path` as a multipart upload of `part`-byte parts: CreateMultipartUpload with
 * the object's SSE headers `sse.put`, each UploadPart in turn and CompleteMultipartUpload with
 * `sse.get` (an SSE-C key, which every part must repeat; nothing for the other modes, whose
 * headers S3 refuses on a part). Throws unless each answers 200.
 */
async function putMultipart(pool: Pool, t: Target, path: string, sse: Sse, body: Buffer, part: number): Promise<void> {
  const call = async (method: 'POST' | 'PUT', query: string, headers: Headers, payload?: Buffer): Promise<{ text: string; etag: string }> => {
    const length = payload !== undefined ? { 'content-length': String(payload.length) } : {};
    const res = await pool.request({ method, path: `${path}?${query}`, headers: { ...signS3(t, method, path, headers, query), ...length }, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${method} ${path}?${query}: ${res.statusCode} ${text.slice(0, 200)}`);
    return { text, etag: String(res.headers.etag ?? '') };
  };
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec((await call('POST', 'uploads=', sse.put)).text)?.[1];
  if (uploadId === undefined) throw new Error(`CreateMultipartUpload ${path}: no UploadId`);
  const parts: string[] = [];
  for (let at = 0, n = 1; at < body.length; at += part, n++) {
    const { etag } = await call('PUT', `partNumber=${n}&uploadId=${uploadId}`, sse.get, body.subarray(at, at + part));
    parts.push(`<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag></Part>`);
  }
  await call('POST', `uploadId=${uploadId}`, sse.get, Buffer.from(`<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>`));
}

/**
 * GETs `path` and returns its body's length: through `gets` (the light client), or undici's
 * body stream when `gets` is undefined (--get-client=undici). Throws unless the status is 200.
 */
async function getBody(pool: Pool, gets: CountingGetClient | undefined, t: Target, path: string, sse: Headers): Promise<number> {
  if (gets === undefined) return request(pool, t, 'GET', path, sse);
  const { status, bytes } = await gets.get(path, signS3(t, 'GET', path, sse));
  if (status !== 200) throw new Error(`GET ${path}: ${status}`);
  return bytes;
}

/** The fields of /proc/<pid>/stat after the command name (index 1 is the parent pid); undefined once it is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system, all threads) the process and its live descendants (cluster
 * workers) have used so far, and the system part; 0 where /proc is missing.
 */
function cpuSeconds(pid: number): { total: number; sys: number } {
  const children = new Map<number, number[]>();
  let pids: number[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return { total: 0, sys: 0 };
  }
  for (const p of pids) {
    const parent = Number(statFields(p)?.[1]);
    if (Number.isInteger(parent)) children.set(parent, [...(children.get(parent) ?? []), p]);
  }
  let total = 0;
  let sys = 0;
  for (const todo = [pid]; todo.length > 0; ) {
    const p = todo.pop()!;
    const fields = statFields(p);
    if (fields !== undefined) {
      total += (Number(fields[11]) + Number(fields[12])) / 100;
      sys += Number(fields[12]) / 100;
    }
    todo.push(...(children.get(p) ?? []));
  }
  return { total, sys };
}

/** CPU ticks per "process/main|other threads" of the process and its live descendants (for --threads). */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  const pids = [pid];
  try {
    for (const d of readdirSync('/proc')) if (/^\d+$/.test(d) && Number(statFields(Number(d))?.[1]) === pid) pids.push(Number(d));
  } catch {
    return out;
  }
  for (const p of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let text: string;
      try {
        text = readFileSync(`/proc/${p}/task/${tid}/stat`, 'utf8');
      } catch {
        continue;
      }
      // Node 20 names every thread "node": the main thread is the one whose id is the pid.
      const name = tid === String(p) ? 'main' : eachThread ? `tid +${Number(tid) - p}` : 'other threads';
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const key = `${p === pid ? 'primary' : `worker ${p}`}/${name}`;
      out.set(key, (out.get(key) ?? 0) + Number(f[11]) + Number(f[12]));
    }
  }
  return out;
}

/** The per-thread µs per op between two threadTicks snapshots, largest first. */
function threadReport(a: Map<string, number>, b: Map<string, number>, ops: number): string {
  return [...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const).filter(([, d]) => d > 0).sort((x, y) => y[1] - x[1]).map(([k, d]) => `${k} ${((d * 1e4) / ops).toFixed(0)}`).join(', ');
}

/**
 * The mean of each phase mark (ms since the server's writeObject began) over the lines of
 * `file`, in the order they happen, and the client's mean latency: what the server spends
 * outside writeObject (parsing, auth, the audit hold, the response) is the difference.
 */
function phaseReport(file: string, clientMs: number): string {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, number | boolean>);
  const means = (of: readonly Record<string, number | boolean>[]): Array<readonly [string, number, number]> => {
    const sums = new Map<string, { sum: number; n: number }>();
    for (const line of of) {
      for (const [k, v] of Object.entries(line)) {
        if (typeof v !== 'number' || k === 'pid') continue;
        const s = sums.get(k) ?? { sum: 0, n: 0 };
        s.sum += v;
        s.n += 1;
        sums.set(k, s);
      }
    }
    return [...sums].map(([k, s]) => [k, s.sum / s.n, s.n] as const);
  };
  const puts = lines.filter((l) => l.group !== true);
  const phases = means(puts).sort((a, b) => a[1] - b[1]).map(([k, m]) => `${k} ${m.toFixed(1)}`);
  // Metadata group commits (group-commit.ts): mean size and ms per part, and how many there were.
  const groups = means(lines.filter((l) => l.group === true)).map(([k, m, n]) => `${k} ${m.toFixed(1)} (${n}×)`);
  return `${puts.length} traced; ${phases.join(', ')}; client latency ${clientMs.toFixed(1)} ms${groups.length > 0 ? `; groups: ${groups.join(', ')}` : ''}`;
}

async function timed(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await op(next++);
  }));
  return Number(process.hrtime.bigint() - start) / 1e9;
}

interface Row {
  readonly target: string;
  readonly results: Record<string, string>;
}

interface Sse {
  readonly put: Headers;
  readonly get: Headers;
}

async function measure(t: Target, label: string, bucket: string, sse: Sse, phasesFile?: string): Promise<Row> {
  const pool = new Pool(t.endpoint, { connections: 32, pipelining: 1 });
  const gets = undiciGets ? undefined : new CountingGetClient(t.endpoint);
  const results: Record<string, string> = {};
  try {
    for (const w of WORKLOADS) {
      const body = randomBytes(w.size);
      const keys = Math.min(w.count, 64);
      const path = (i: number): string => `/${bucket}/${label.replace(/\W/g, '')}-${w.size}-${i % keys}`;
      // --multipart-part-mib: an object larger than a part is PUT as a multipart upload.
      const put = (i: number): Promise<unknown> => (partSize !== undefined && w.size > partSize ? putMultipart(pool, t, path(i), sse, body, partSize) : request(pool, t, 'PUT', path(i), sse.put, body));
      if (warmup) {
        await timed(w.count, w.concurrency, async (i) => void (await put(i)));
        if (!putOnly) await timed(w.count, w.concurrency, async (i) => void (await getBody(pool, gets, t, path(i), sse.get)));
      }
      const t0 = threads ? threadTicks(t.pid) : undefined;
      const c0 = cpuSeconds(t.pid);
      if (phasesFile !== undefined) writeFileSync(phasesFile, '');
      let putLatencyNs = 0n;
      const putSeconds = await timed(w.count, w.concurrency, async (i) => {
        const sent = process.hrtime.bigint();
        await put(i);
        putLatencyNs += process.hrtime.bigint() - sent;
      });
      if (phasesFile !== undefined) process.stderr.write(`${label} ${w.name} PUT phases: ${phaseReport(phasesFile, Number(putLatencyNs) / 1e6 / w.count)}\n`);
      const c1 = cpuSeconds(t.pid);
      const t1 = threads ? threadTicks(t.pid) : undefined;
      const get = putOnly ? 0 : await timed(w.count, w.concurrency, async (i) => {
        const n = await getBody(pool, gets, t, path(i), sse.get);
        if (n !== w.size) throw new Error(`short GET: ${n}`);
      });
      const c2 = cpuSeconds(t.pid);
      if (t0 !== undefined && t1 !== undefined) {
        process.stderr.write(`${label} ${w.name} PUT µs/op by thread: ${threadReport(t0, t1, w.count)}\n`);
        if (!putOnly) process.stderr.write(`${label} ${w.name} GET µs/op by thread: ${threadReport(t1, threadTicks(t.pid), w.count)}\n`);
      }
      const rate = (s: number): string => (w.size >= MiB ? `${((w.count * w.size) / MiB / s).toFixed(0)} MB/s` : `${(w.count / s).toFixed(0)} ops/s`);
      // The kernel's share (writes, fsyncs, renames, unlinks) beside the total: it moves independently of our JS.
      const used = (c: number, sys: number): string => {
        const share = c > 0 ? `, ${((100 * sys) / c).toFixed(0)}% sys` : '';
        return w.size >= MiB ? ` (cpu ${((1000 * c) / ((w.count * w.size) / MiB)).toFixed(2)} ms/MiB${share})` : ` (cpu ${((1e6 * c) / w.count).toFixed(0)} µs/op${share})`;
      };
      const cell = (s: number, a: { total: number; sys: number }, b: { total: number; sys: number }): string => (s === 0 ? '-' : rate(s) + (cpu ? used(b.total - a.total, b.sys - a.sys) : ''));
      results[`${w.name} PUT`] = cell(putSeconds, c0, c1);
      results[`${w.name} GET`] = cell(get, c1, c2);
      process.stderr.write(`${label} ${w.name}: PUT ${results[`${w.name} PUT`]}, GET ${results[`${w.name} GET`]}\n`);
    }
  } finally {
    gets?.close();
    await pool.close();
  }
  return { target: label, results };
}

/** The Cipherlake rows: SSE-KMS-BK is SSE-KMS with the bucket-key header (one bucket key per bucket and TTL). */
const MODES = ['SSE-S3', 'SSE-KMS', 'SSE-KMS-BK', 'SSE-C'] as const;
type Mode = (typeof MODES)[number];

/** SSE headers per mode: SSE-C repeats its key on GETs (through the trusted-proxy header). */
function sseHeaders(mode: Mode): Sse {
  switch (mode) {
    case 'SSE-S3':
      return { put: { 'x-amz-server-side-encryption': 'AES256' }, get: {} };
    case 'SSE-KMS':
      return { put: { 'x-amz-server-side-encryption': 'aws:kms' }, get: {} };
    case 'SSE-KMS-BK':
      return { put: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-bucket-key-enabled': 'true' }, get: {} };
    case 'SSE-C': {
      const key = randomBytes(32);
      const c: Headers = {
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key': key.toString('base64'),
        'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
        'x-forwarded-proto': 'https',
      };
      return { put: c, get: c };
    }
    default: {
      const never: never = mode;
      throw new Error(`unknown mode ${String(never)}`);
    }
  }
}

function opensslGcm(): string {
  try {
    const out = execFileSync('openssl', ['speed', '-seconds', '2', '-evp', 'aes-256-gcm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const line = out.split('\n').find((l) => /^(AES-256-GCM|aes-256-gcm)/i.test(l)) ?? '';
    const cols = line.trim().split(/\s+/);
    const last = cols[cols.length - 1] ?? '';
    return `${(Number(last.replace('k', '')) / 1024).toFixed(0)} MB/s (16 KiB blocks, one core)`;
  } catch {
    return 'openssl speed failed';
  }
}

async function sdkRow(t: Target, bucket: string, sse: Sse): Promise<Row> {
  const client = new S3Client({ endpoint: t.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey }, maxAttempts: 1 });
  const results: Record<string, string> = {};
  const kms = sse.put['x-amz-server-side-encryption'] === 'aws:kms' ? { ServerSideEncryption: 'aws:kms' as const } : {};
  for (const w of [ALL_WORKLOADS[0]!, ALL_WORKLOADS[2]!]) {
    const body = randomBytes(w.size);
    const s = await timed(w.count, w.concurrency, async (i) => void (await client.send(new PutObjectCommand({ Bucket: bucket, Key: `sdk-${w.size}-${i % 64}`, Body: body, ...kms }))));
    results[`${w.name} PUT`] = w.size >= MiB ? `${((w.count * w.size) / MiB / s).toFixed(0)} MB/s` : `${(w.count / s).toFixed(0)} ops/s`;
  }
  client.destroy();
  return { target: `${t.name} (SDK${kms.ServerSideEncryption !== undefined ? ', SSE-KMS' : ''})`, results };
}

function table(rows: readonly Row[]): string {
  const cols = Object.keys(rows[0]?.results ?? {});
  return [`| target | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`, ...rows.map((r) => `| ${r.target} | ${cols.map((c) => r.results[c] ?? '').join(' | ')} |`)].join('\n');
}

const NONE: Sse = { put: {}, get: {} };

/** The durable null endpoints' rows, in order, with labels that say what each PUT pays alone. */
const DURABLE_NULLS: ReadonlyArray<readonly ['fsync' | 'sealed', string]> = [
  ['fsync', 'null-fsync (fdatasync + rename + dir fsync per PUT, no group commit)'],
  ['sealed', 'null-sealed (AES-256-GCM 64 KiB segments + fdatasync + rename + dir fsync per PUT, no group commit)'],
];

async function main(): Promise<void> {
  // The cipher's ceiling is measured for a run of the ceilings too: it bounds null-sealed's rows.
  const gcm = only === undefined || wanted('null-sealed') || wanted('disk') ? opensslGcm() : 'not measured (--targets given)';
  const disk = wanted('disk') ? `\ndurable writes (8 threads, 1 MiB write + fdatasync each): ${(await measureDiskSpeed(tmpdir())).toFixed(0)} MB/s\n` : '';
  const rows: Row[] = [];
  const sdk: Row[] = [];
  if (wanted('null') || wanted('sdk')) {
    const nul = await startNullTarget();
    if (wanted('null')) rows.push(await measure(nul, 'null endpoint', 'bench', NONE));
    if (wanted('sdk')) sdk.push(await sdkRow(nul, 'bench', NONE));
    await nul.stop();
  }
  for (const [mode, label] of DURABLE_NULLS) {
    if (!wanted(`null-${mode}`)) continue;
    const target = await startNullDurableTarget(mode);
    rows.push(await measure(target, label, 'bench', NONE));
    await target.stop();
  }
  if (wanted('s3rver')) {
    const s3rver = await startS3rverTarget();
    rows.push(await measure(s3rver, 's3rver', 'bench', NONE));
    await s3rver.stop();
  }
  for (const workers of workerCounts) {
    const servers: Array<{ name: string; target: Target; phases: string | undefined }> = [];
    for (const [name, checkout] of [['Cipherlake', undefined], ...(against !== undefined ? [['against', against]] : [])] as Array<[string, string | undefined]>) {
      const phases = phasesDir !== undefined ? join(phasesDir, `${name}-${workers}.jsonl`) : undefined;
      const env: Record<string, string> = phases !== undefined ? { CIPHERLAKE_TRACE_PHASES: phases } : {};
      const target = await startCipherlakeTarget([...(profile ? ['--cpu-prof', '--cpu-prof-dir', 's3-bench-profile'] : []), ...serverArgs], workers, serverStdout, env, checkout);
      const pool = new Pool(target.endpoint);
      const mk = await pool.request({ method: 'PUT', path: '/bench', headers: signS3(target, 'PUT', '/bench', {}) });
      await mk.body.dump();
      await pool.close();
      servers.push({ name, target, phases });
    }
    const suffix = workers > 0 ? ` (${workers} workers)` : '';
    for (let round = 1; round <= rounds; round++) {
      const tag = rounds > 1 ? ` #${round}` : '';
      for (const { name, target, phases } of servers) {
        for (const mode of MODES) if (wanted(mode)) rows.push(await measure(target, `${name} ${mode}${suffix}${tag}`, 'bench', sseHeaders(mode), phases));
      }
    }
    if (wanted('sdk')) sdk.push(await sdkRow(servers[0]!.target, 'bench', sseHeaders('SSE-KMS')));
    for (const { target } of servers) await target.stop();
  }
  if (phasesDir !== undefined) rmSync(phasesDir, { recursive: true, force: true });
  const load = WORKLOADS.map((w) => `${w.name} c=${w.concurrency}`).join(', ');
  process.stdout.write(`openssl speed -evp aes-256-gcm: ${gcm}\n${disk}\nconcurrency: ${load}\n${table(rows)}\n${sdk.length > 0 ? `\nSDK client (@aws-sdk/client-s3), PUT only:\n\n${table(sdk)}\n` : ''}`);
}

await main();
