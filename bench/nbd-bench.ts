// NBD benchmark. Four targets, same tools, same run:
//   enc   — the encrypted volume (AES-256-XTS) through the in-process NbdServer;
//   nbd   — an unencrypted file through the same NbdServer (isolates encryption + locking);
//   local — an unencrypted local raw file, no NBD at all (the issue's baseline);
//   qemu  — qemu-nbd (C, unencrypted) serving a raw file of the same size: the ceiling of
//           an NBD server on this machine (spawned for the run, killed after; skipped with
//           a note when qemu-nbd is not installed).
// Sequential: nbdcopy (file -> target, target -> null:). Random: a 4 KiB QD16 driver run in
// a child process (so it does not share the server's event loop) that speaks NBD to the
// NBD targets and uses pread/pwrite on the local file, with the same offsets.
// Each figure is the best of --repeats runs (the machine is shared and noisy).
// Run: node --import tsx bench/nbd-bench.ts [sizeMiB=256] [randomOps=20000] [options]
// Options (for profiling one part; the table then has zeros for what was skipped):
//   --targets=enc,nbd,local,qemu   which targets to measure (default all four)
//   --rows=seqw,seqr,randr,randw   which tests to run (default all four)
//   --repeats=N               best of N (default 3)
//   --profile=DIR             write a CPU profile of this process's main thread (the NBD
//                             server) for each NBD-target row: DIR/<enc|nbd>-<row>.cpuprofile
// XTS micro-benchmark: node --import tsx bench/nbd-bench.ts xts [MiB=64] — CPU ms per MiB of
// the XTS construction alone (no I/O) per batch of 1, 16 or 256 4 KiB blocks: node's
// aes-256-xts with one cipher object per block (the construction before xts-mode.ts) against
// xts-mode.ts with its JavaScript passes and with its WebAssembly SIMD passes (what runs), and
// aes-256-ecb alone (the AES floor); best of 5, the four interleaved.
import { execFile, spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes, randomInt } from 'node:crypto';
import { closeSync, openSync, read, ftruncateSync, write } from 'node:fs';
import { connect, createServer } from 'node:net';
import { Session } from 'node:inspector/promises';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SecretBytes } from '../src/crypto/secret-bytes.js';
import { EncryptedVolume } from '../src/volumes/encrypted-volume.js';
import { MapExportRegistry, NbdServer } from '../src/volumes/nbd/index.js';
import { tempDir, writeSeededImage } from '../test/volumes/nbd-harness.js';
import { PlainFileDevice } from './plain-file-device.js';
import { xtsApply, xtsEcbClose, xtsEcbOpen } from '../src/volumes/xts-mode.js';
import { xtsSimdCreate } from '../src/volumes/xts-simd.js';

const MiB = 1024 * 1024;
const BS = 4096;
const QUEUE_DEPTH = 16;
const run = promisify(execFile);

type Target = 'enc' | 'nbd' | 'local' | 'qemu';
const TARGETS: readonly Target[] = ['enc', 'nbd', 'local', 'qemu'];
/** A record with one zero per target. */
const perTarget = (): Record<Target, number> => ({ enc: 0, nbd: 0, local: 0, qemu: 0 });
type RowId = 'seqw' | 'seqr' | 'randr' | 'randw';
type Row = {
  label: string; unit: string; values: Record<Target, number>; cpu: Record<Target, number>; mainCpu: Record<Target, number>; clientCpu: Record<Target, number>;
  /** The encrypted target's other threads, busiest first: the XTS workers, then V8 / libuv helpers. */
  encThreads: number[];
};

/** Clock-tick fields of a /proc stat line (Linux), as CPU µs, or 0 elsewhere. */
function procCpu(path: string, fields: readonly number[]): number {
  try {
    const stat = readFileSync(path, 'latin1');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (fields.reduce((sum, i) => sum + Number(after[i]), 0) * 1e6) / 100;
  } catch {
    return 0;
  }
}

/** CPU µs used so far by this process's main thread (the event loop). */
const mainThreadCpu = (): number => procCpu(`/proc/self/task/${process.pid}/stat`, [11, 12]);
/** CPU µs used so far by this process's ended children (nbdcopy, the random driver). */
const childrenCpu = (): number => procCpu('/proc/self/stat', [13, 14]);
/** CPU µs used so far by each thread of this process other than the main one, by thread id. */
function otherThreadsCpu(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      if (tid !== String(process.pid)) out.set(tid, procCpu(`/proc/self/task/${tid}/stat`, [11, 12]));
    }
  } catch {
    // Not Linux: no breakdown.
  }
  return out;
}
/** Per-thread CPU since `start`, busiest first (threads started since count from zero). */
function threadDeltas(start: Map<string, number>): number[] {
  return [...otherThreadsCpu()].map(([tid, used]) => used - (start.get(tid) ?? 0)).sort((a, b) => b - a);
}

/** What to run: the command line's `--name=value` options. */
interface Options {
  readonly targets: readonly Target[];
  readonly rows: readonly RowId[];
  readonly repeats: number;
  readonly profileDir: string | undefined;
}

function parseOptions(args: readonly string[]): Options {
  const get = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const pick = <T extends string>(name: string, all: readonly T[]): T[] => {
    const chosen = (get(name) ?? all.join(',')).split(',');
    const unknown = chosen.filter((c) => !(all as readonly string[]).includes(c));
    if (unknown.length > 0) throw new Error(`--${name}: unknown ${unknown.join(', ')} (choose from ${all.join(', ')})`);
    return chosen as T[];
  };
  const targets = pick<Target>('targets', TARGETS);
  const rows = pick<RowId>('rows', ['seqw', 'seqr', 'randr', 'randw']);
  return { targets, rows, repeats: Number(get('repeats') ?? 3), profileDir: get('profile') };
}

/** Runs `measure` under the in-process CPU profiler, writing DIR/NAME.cpuprofile. */
async function profiled<T>(dir: string, name: string, measure: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  try {
    return await measure();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/** Seconds taken by a tool; async, because the server under test runs in this process. */
async function timedTool(command: string, args: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  await run(command, args);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function best(times: number, measure: () => Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < times; i++) top = Math.max(top, await measure());
  return top;
}

// ---- random I/O driver (child process) -------------------------------------------------

/** The block offsets of a run: fixed per run so every target sees the same pattern. */
function offsets(ops: number, blocks: number): Float64Array {
  const out = new Float64Array(ops);
  for (let i = 0; i < ops; i++) out[i] = randomInt(blocks) * BS;
  return out;
}

/** 4 KiB pread/pwrite at QUEUE_DEPTH on a local file (libuv thread pool); returns IOPS. */
function fileIops(path: string, write_: boolean, at: Float64Array): Promise<number> {
  const fd = openSync(path, 'r+');
  const buffers = Array.from({ length: QUEUE_DEPTH }, () => Buffer.alloc(BS, 0x33));
  let next = 0;
  let done = 0;
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const issue = (slot: number): void => {
      const offset = at[next++] ?? 0;
      const cb = (err: Error | null): void => {
        if (err !== null) return reject(err);
        if (++done === at.length) {
          closeSync(fd);
          return resolve(at.length / (Number(process.hrtime.bigint() - start) / 1e9));
        }
        if (next < at.length) issue(slot);
      };
      const buffer = buffers[slot] ?? Buffer.alloc(BS);
      if (write_) write(fd, buffer, 0, BS, offset, cb);
      else read(fd, buffer, 0, BS, offset, cb);
    };
    for (let slot = 0; slot < QUEUE_DEPTH; slot++) issue(slot);
  });
}

/** The same pattern over NBD (fixed newstyle, NBD_OPT_GO, simple replies); returns IOPS. */
async function nbdIops(port: number, name: string, write_: boolean, at: Float64Array): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  let have = 0;
  let wake: (() => void) | undefined;
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    have += c.length;
    wake?.();
  });
  const take = async (n: number): Promise<Buffer> => {
    while (have < n) await new Promise<void>((r) => (wake = r));
    const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    chunks.length = 0;
    if (all.length > n) chunks.push(all.subarray(n));
    have -= n;
    return all.subarray(0, n);
  };
  await take(18);
  const nameBytes = Buffer.from(name);
  const opt = Buffer.alloc(4 + 16 + 4 + nameBytes.length + 2);
  opt.writeUInt32BE(3, 0);
  opt.write('IHAVEOPT', 4, 'latin1');
  opt.writeUInt32BE(7, 12);
  opt.writeUInt32BE(4 + nameBytes.length + 2, 16);
  opt.writeUInt32BE(nameBytes.length, 20);
  nameBytes.copy(opt, 24);
  socket.write(opt);
  for (;;) {
    const head = await take(20);
    const type = head.readUInt32BE(12);
    await take(head.readUInt32BE(16));
    if (type === 1) break;
    if (type >= 0x8000_0000) throw new Error(`NBD_OPT_GO refused: ${type}`);
  }
  const payload = Buffer.alloc(BS, 0x33);
  let sent = 0;
  const issue = (): void => {
    const head = Buffer.alloc(28);
    head.writeUInt32BE(0x25609513, 0);
    head.writeUInt16BE(write_ ? 1 : 0, 6);
    head.writeUInt32BE(sent, 12);
    head.writeBigUInt64BE(BigInt(at[sent++] ?? 0), 16);
    head.writeUInt32BE(BS, 24);
    if (write_) socket.write(Buffer.concat([head, payload]));
    else socket.write(head);
  };
  const start = process.hrtime.bigint();
  for (let i = 0; i < QUEUE_DEPTH; i++) issue();
  for (let done = 0; done < at.length; done++) {
    const reply = await take(16);
    if (reply.readUInt32BE(4) !== 0) throw new Error('request failed');
    if (!write_) await take(BS);
    if (sent < at.length) issue();
  }
  const iops = at.length / (Number(process.hrtime.bigint() - start) / 1e9);
  socket.destroy();
  return iops;
}

/** Child entry: `random <write 0|1> <ops> <blocks> <file PATH | nbd PORT NAME>`; prints IOPS. */
async function randomChild(args: string[]): Promise<void> {
  const [writeFlag, ops, blocks, kind, a, b] = args;
  const at = offsets(Number(ops), Number(blocks));
  const isWrite = writeFlag === '1';
  const start = process.cpuUsage();
  const iops = kind === 'file' ? await fileIops(a ?? '', isWrite, at) : await nbdIops(Number(a), b ?? '', isWrite, at);
  const used = process.cpuUsage(start);
  process.stdout.write(`${iops} ${used.user + used.system}\n`);
}

/**
 * CPU µs the random-driver children spent in their measured loops, summed: their own
 * figure, as node + tsx startup (~0.5 s of CPU) would swamp their rusage per op.
 */
let driverCpu = 0;

function randomIops(childArgs: string[]): Promise<number> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, 'random', ...childArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`random child exited ${code}`));
      const [iops, cpu] = out.trim().split(' ').map(Number);
      driverCpu += cpu ?? 0;
      resolve(iops ?? 0);
    });
  });
}

/** Creates an empty (sparse) raw file of `size` bytes; returns its path. */
function makeRawFile(path: string, size: number): string {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
  return path;
}

// ---- qemu-nbd (reference server) -------------------------------------------------------

interface QemuNbd {
  readonly port: number;
  /** CPU µs the qemu-nbd process (all its threads) has used so far. */
  readonly cpu: () => number;
  readonly stop: () => Promise<void>;
}

/** A free loopback port: bound, then released for qemu-nbd to take. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Resolves once an NBD server greets on `port` (the probe then ends its negotiation with
 * NBD_OPT_ABORT, so the server has nothing to complain of); rejects if `exited` first.
 */
async function waitForListener(port: number, exited: () => boolean): Promise<void> {
  const abort = Buffer.alloc(20);
  abort.writeUInt32BE(1, 0); // client flags: fixed newstyle
  abort.write('IHAVEOPT', 4, 'latin1');
  abort.writeUInt32BE(2, 12); // NBD_OPT_ABORT, no data
  for (let i = 0; i < 200; i++) {
    if (exited()) throw new Error('qemu-nbd exited before it listened');
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let greeted = 0;
      socket.on('data', (c: Buffer) => {
        greeted += c.length;
        if (greeted >= 18 && !socket.writableEnded) socket.end(abort);
      });
      socket.once('close', () => resolve(greeted >= 18));
      socket.once('error', () => undefined);
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('qemu-nbd did not listen within 10 s');
}

/**
 * qemu-nbd serving `image` (raw, unencrypted) as export `qemu` on a loopback port, with the
 * options of the issue's reference run; undefined if qemu-nbd is not installed.
 */
async function startQemuNbd(image: string): Promise<QemuNbd | undefined> {
  const port = await freePort();
  const args = ['-f', 'raw', '-x', 'qemu', '-p', String(port), '-b', '127.0.0.1', '-t', '--shared=8', '--cache=writeback', image];
  const child = spawn('qemu-nbd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Held until it listens: the readiness probes make it complain of an aborted negotiation.
  let early = '';
  let ready = false;
  child.stderr.on('data', (c: Buffer) => (ready ? process.stderr.write(c) : (early += c.toString())));
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void gone.then(() => (exited = true));
  const missing = await new Promise<boolean>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ENOENT'));
    child.once('spawn', () => resolve(false));
  });
  if (missing) return undefined;
  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGTERM');
    await gone;
  };
  try {
    await waitForListener(port, () => exited);
    ready = true;
  } catch (err) {
    await stop();
    process.stderr.write(early);
    throw err;
  }
  return { port, cpu: () => procCpu(`/proc/${child.pid}/stat`, [11, 12]), stop };
}

// ---- main ------------------------------------------------------------------------------

async function main(sizeMiB: number, randomOps: number, options: Options): Promise<void> {
  const size = sizeMiB * MiB;
  const dir = tempDir('cl-nbd-bench-');
  let qemu: QemuNbd | undefined;
  try {
    const source = join(dir.path, 'source.raw');
    writeSeededImage(source, 'bench', size);
    const local = makeRawFile(join(dir.path, 'local.raw'), size);
    const registry = new MapExportRegistry();
    const encrypted = await EncryptedVolume.create(join(dir.path, 'enc.vol'), size, SecretBytes.random(64));
    const plain = await PlainFileDevice.create(join(dir.path, 'plain.raw'), size);
    registry.attach('enc', encrypted);
    registry.attach('nbd', plain);
    const server = new NbdServer({ registry, port: 0 });
    const { port } = await server.listen();
    qemu = options.targets.includes('qemu') ? await startQemuNbd(makeRawFile(join(dir.path, 'qemu.raw'), size)) : undefined;
    const targets = options.targets.filter((t) => t !== 'qemu' || qemu !== undefined);
    if (options.targets.includes('qemu') && qemu === undefined) console.log('qemu-nbd is not installed: its column is skipped (zeros).');
    const portOf = (t: Target): number => (t === 'qemu' ? (qemu?.port ?? 0) : port);
    const path = (t: Target): string => (t === 'local' ? local : `nbd://127.0.0.1:${portOf(t)}/${t}`);
    const rows: Row[] = [];
    const row = async (id: RowId, label: string, unit: string, measure: (t: Target) => Promise<number>): Promise<void> => {
      if (!options.rows.includes(id)) return;
      const values = perTarget();
      const cpu = perTarget();
      const mainCpu = perTarget();
      const clientCpu = perTarget();
      let encThreads: number[] = [];
      for (const t of targets) {
        const threadsStart = otherThreadsCpu();
        const mainStart = mainThreadCpu();
        const clientStart = childrenCpu();
        const driverStart = driverCpu;
        // CPU of this process (every thread: event loop, XTS workers, libuv pool) per unit
        // of work: steadier than throughput on a shared machine.
        const start = process.cpuUsage();
        const qemuStart = qemu?.cpu() ?? 0;
        const once = (): Promise<number> => best(options.repeats, () => measure(t));
        const profile = options.profileDir !== undefined && (t === 'enc' || t === 'nbd');
        values[t] = profile ? await profiled(options.profileDir ?? '', `${t}-${id}`, once) : await once();
        const used = process.cpuUsage(start);
        const work = options.repeats * (unit === 'IOPS' ? randomOps : sizeMiB);
        // qemu-nbd is its own process: its CPU, not this one's (which only waits).
        cpu[t] = (t === 'qemu' ? (qemu?.cpu() ?? 0) - qemuStart : used.user + used.system) / work;
        mainCpu[t] = (mainThreadCpu() - mainStart) / work;
        clientCpu[t] = (unit === 'IOPS' ? driverCpu - driverStart : childrenCpu() - clientStart) / work;
        if (t === 'enc') encThreads = threadDeltas(threadsStart).map((used) => used / work);
      }
      rows.push({ label, unit, values, cpu, mainCpu, clientCpu, encThreads });
    };
    const mibps = async (args: string[]): Promise<number> => sizeMiB / (await timedTool('nbdcopy', args));
    // Reads must see written (encrypted) blocks, not holes: fill the targets first if the
    // write row is skipped.
    if (!options.rows.includes('seqw')) for (const t of targets) await timedTool('nbdcopy', [source, path(t)]);
    await row('seqw', 'seq write (nbdcopy file -> target)', 'MiB/s', (t) => mibps([source, path(t)]));
    await row('seqr', 'seq read (nbdcopy target -> null:)', 'MiB/s', (t) => mibps([path(t), 'null:']));
    for (const [id, label, flag] of [['randr', '4K random read (QD16)', '0'], ['randw', '4K random write (QD16)', '1']] as const) {
      await row(id, label, 'IOPS', (t) =>
        randomIops([flag, String(randomOps), String(size / BS), ...(t === 'local' ? ['file', local] : ['nbd', String(portOf(t)), t])]),
      );
    }
    printTable(sizeMiB, randomOps, options.repeats, rows);
    await qemu?.stop();
    await server.close();
    await encrypted.close();
    await plain.close();
  } finally {
    await qemu?.stop();
    dir.cleanup();
  }
}

function printTable(sizeMiB: number, randomOps: number, repeats: number, rows: Row[]): void {
  const ratio = (a: number, b: number): string => (b === 0 ? '–' : (a / b).toFixed(2));
  console.log(`NBD benchmark, ${sizeMiB} MiB, ${randomOps} random ops, best of ${repeats}, node ${process.version}`);
  console.log('| test | encrypted NBD | plain NBD | local raw file | qemu-nbd (unencrypted) | unit | enc / local (target) | enc / plain NBD | qemu-nbd / local | enc / qemu-nbd |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const { label, unit, values: v } of rows) {
    const target = unit === 'IOPS' ? '0.3' : '0.5';
    const cells = [v.enc, v.nbd, v.local, v.qemu].map((x) => x.toFixed(0));
    const ratios = [ratio(v.enc, v.nbd), ratio(v.qemu, v.local), ratio(v.enc, v.qemu)];
    console.log(`| ${label} | ${cells.join(' | ')} | ${unit} | ${ratio(v.enc, v.local)} (≥ ${target}) | ${ratios.join(' | ')} |`);
  }
  console.log('\nServer process CPU (user + system, all threads), per MiB or per op (qemu-nbd: its own process);');
  console.log('client: the tool (nbdcopy, or the random driver\'s measured loop) against enc / nbd / local / qemu, on the same cores:');
  console.log('| test | encrypted NBD | (its main thread) | plain NBD | (its main thread) | qemu-nbd | client enc / nbd / local / qemu | unit | enc / plain NBD |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const { label, unit, cpu, mainCpu, clientCpu: c } of rows) {
    const per = unit === 'IOPS' ? 'µs / op' : 'µs / MiB';
    const client = [c.enc, c.nbd, c.local, c.qemu].map((x) => x.toFixed(0)).join(' / ');
    const cells = [cpu.enc, mainCpu.enc, cpu.nbd, mainCpu.nbd, cpu.qemu].map((x) => x.toFixed(1));
    console.log(`| ${label} | ${cells.join(' | ')} | ${client} | ${per} | ${ratio(cpu.enc, cpu.nbd)} |`);
  }
  console.log('\nEncrypted target, CPU of the threads other than the main one, per MiB or per op (busiest two =');
  console.log('the XTS workers; the rest = V8 GC / platform threads and the libuv pool):');
  console.log('| test | busiest | second | all the rest | unit |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const { label, unit, encThreads } of rows) {
    const [a = 0, b = 0, ...rest] = encThreads;
    const cells = [a, b, rest.reduce((x, y) => x + y, 0)].map((x) => x.toFixed(1));
    console.log(`| ${label} | ${cells.join(' | ')} | ${unit === 'IOPS' ? 'µs / op' : 'µs / MiB'} |`);
  }
}

// ---- XTS micro-benchmark -----------------------------------------------------------------

/** Per-block node aes-256-xts over `data` (blocks first…): the construction xts-mode.ts replaced. */
function perBlockXts(key: Buffer, encrypt: boolean, data: Buffer, first: number): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  const tweak = Buffer.alloc(16);
  for (let at = 0, n = first; at < data.length; at += BS, n++) {
    tweak.writeUInt32LE(n % 0x1_0000_0000, 0);
    tweak.writeUInt32LE(Math.floor(n / 0x1_0000_0000), 4);
    out.set((encrypt ? createCipheriv : createDecipheriv)('aes-256-xts', key, tweak).update(data.subarray(at, at + BS)), at);
  }
  return out;
}

/** CPU ms per MiB of `run(i)` called for `calls` batches of `batch` bytes. */
function cpuMsPerMiB(calls: number, batch: number, run: (i: number) => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) run(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / ((calls * batch) / MiB);
}

function xtsBench(mib: number): void {
  const key = randomBytes(64);
  const simd = xtsSimdCreate();
  const modes = { js: xtsEcbOpen(key, 'js'), simd: simd === undefined ? undefined : xtsEcbOpen(key, simd) };
  const floor = createCipheriv('aes-256-ecb', key.subarray(0, 32), null).setAutoPadding(false);
  console.log(`XTS micro-benchmark, ${mib} MiB per figure, CPU ms / MiB (best of 5), node ${process.version}`);
  console.log('| blocks per call | direction | per-block aes-256-xts | xts-mode.ts, JS passes | xts-mode.ts, SIMD passes | aes-256-ecb alone | SIMD / per-block |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const blocks of [1, 16, 256]) {
    const data = randomBytes(blocks * BS);
    const calls = (mib * MiB) / data.length;
    for (const encrypt of [true, false]) {
      const best = { old: Infinity, js: Infinity, simd: Infinity, ecb: Infinity };
      for (let r = 0; r < 5; r++) {
        best.old = Math.min(best.old, cpuMsPerMiB(calls, data.length, (i) => perBlockXts(key, encrypt, data, i * blocks)));
        best.js = Math.min(best.js, cpuMsPerMiB(calls, data.length, (i) => xtsApply(modes.js, encrypt, data, i * blocks, BS, !encrypt)));
        const { simd: ecb } = modes;
        if (ecb !== undefined) best.simd = Math.min(best.simd, cpuMsPerMiB(calls, data.length, (i) => xtsApply(ecb, encrypt, data, i * blocks, BS, !encrypt)));
        best.ecb = Math.min(best.ecb, cpuMsPerMiB(calls, data.length, () => floor.update(data)));
      }
      const cells = [best.old, best.js, best.simd, best.ecb].map((x) => x.toFixed(3));
      console.log(`| ${blocks} | ${encrypt ? 'encrypt' : 'decrypt'} | ${cells.join(' | ')} | ${(best.simd / best.old).toFixed(2)} |`);
    }
  }
  xtsEcbClose(modes.js);
  if (modes.simd !== undefined) xtsEcbClose(modes.simd);
}

if (process.argv[2] === 'random') await randomChild(process.argv.slice(3));
else if (process.argv[2] === 'xts') xtsBench(Number(process.argv[3] ?? 64));
else {
  const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  await main(Number(positional[0] ?? 256), Number(positional[1] ?? 20_000), parseOptions(process.argv.slice(2)));
}
