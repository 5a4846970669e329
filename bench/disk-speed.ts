/**
 * The machine's durable sequential write speed, for bench/s3-bench.ts's header (its `disk`
 * line): `writers` threads in parallel, each appending 1 MiB with write + fdatasync in a loop
 * for `seconds`, into files of a fresh temporary directory under `parent`.
 *
 * Worker threads with synchronous calls rather than fs promises on the main thread: libuv's
 * pool has 4 threads by default, so 8 promise writers would have only 4 syscalls in flight,
 * and setting UV_THREADPOOL_SIZE here would leak into the servers the bench starts (it passes
 * that variable through). Each file is appended to, as a new object's file is (so every
 * fdatasync also makes a new size durable), and replaced by a new one past 64 MiB, so that the
 * probe's disk use stays bounded (writers × 64 MiB).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** One writer, as CommonJS source for an eval'd Worker (no TypeScript loader in worker threads). */
const WRITER = `
const { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } = require('node:fs');
const { workerData, parentPort } = require('node:worker_threads');
const { dir, index, seconds, gate } = workerData;
const chunk = Buffer.alloc(1024 * 1024, 0x5a);
const limit = 64;
let file = 0;
let writes = 0;
let inFile = 0;
let path = dir + '/w' + index + '-' + file;
let fd = openSync(path, 'wx', 0o600);
// Ready; then wait until every writer is, so that all of them write at once.
parentPort.postMessage('ready');
Atomics.wait(new Int32Array(gate), 0, 0);
const start = process.hrtime.bigint();
const end = start + BigInt(Math.round(seconds * 1e9));
while (process.hrtime.bigint() < end) {
  if (inFile === limit) {
    closeSync(fd);
    unlinkSync(path);
    file += 1;
    inFile = 0;
    path = dir + '/w' + index + '-' + file;
    fd = openSync(path, 'wx', 0o600);
  }
  let done = 0;
  while (done < chunk.length) done += writeSync(fd, chunk, done);
  fdatasyncSync(fd);
  writes += 1;
  inFile += 1;
}
const stop = process.hrtime.bigint();
closeSync(fd);
parentPort.postMessage({ writes, start, stop });
`;

/** What one writer did: its 1 MiB writes and when it wrote (process.hrtime.bigint(), one clock for all threads). */
interface WriterResult {
  readonly writes: number;
  readonly start: bigint;
  readonly stop: bigint;
}

/** Starts one writer; `ready` resolves once it waits at the gate, `done` with its result. */
function runWriter(dir: string, index: number, seconds: number, gate: SharedArrayBuffer): { ready: Promise<void>; done: Promise<WriterResult> } {
  const worker = new Worker(WRITER, { eval: true, workerData: { dir, index, seconds, gate } });
  let onReady: () => void = () => undefined;
  let onDone: (r: WriterResult) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`disk writer ${index} exited ${code}${code === 0 ? ' without a result' : ''}`)));
  });
  failed.catch(() => undefined);
  const ready = Promise.race([new Promise<void>((resolve) => (onReady = resolve)), failed]);
  const done = Promise.race([new Promise<WriterResult>((resolve) => (onDone = resolve)), failed]);
  done.catch(() => undefined);
  worker.on('message', (m: 'ready' | WriterResult) => (m === 'ready' ? onReady() : onDone(m)));
  return { ready, done };
}

/**
 * Measures durable 1 MiB appends (write + fdatasync) by `writers` parallel threads for about
 * `seconds`, in a temporary directory made under `parent` and removed afterwards (also on
 * failure). The writers start together (each waits at a shared gate once its thread is up,
 * so none writes alone while the others still start) and the result is their total bytes
 * over the wall time from the first one's start to the last one's end, in MiB/s (each MiB is
 * one fdatasync, so it is also the fdatasyncs per second). Rejects if a writer fails (e.g.
 * the disk is full). Never writes outside that directory.
 */
export async function measureDiskSpeed(parent: string, writers = 8, seconds = 2): Promise<number> {
  const dir = mkdtempSync(join(parent, 's3-bench-disk-'));
  const gate = new SharedArrayBuffer(4);
  try {
    const running = Array.from({ length: writers }, (_, i) => runWriter(dir, i, seconds, gate));
    // A writer that fails before the gate (e.g. the open failed) fails the probe here.
    await Promise.all(running.map((w) => w.ready));
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    const results = await Promise.all(running.map((w) => w.done));
    const writes = results.reduce((n, r) => n + r.writes, 0);
    const first = results.reduce((t, r) => (r.start < t ? r.start : t), results[0]!.start);
    const last = results.reduce((t, r) => (r.stop > t ? r.stop : t), results[0]!.stop);
    return writes / (Number(last - first) / 1e9);
  } finally {
    // Releases writers still at the gate when another failed before it opened.
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    rmSync(dir, { recursive: true, force: true });
  }
}
