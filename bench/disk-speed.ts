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
const { dir, index, seconds } = workerData;
const chunk = Buffer.alloc(1024 * 1024, 0x5a);
const limit = 64;
let file = 0;
let writes = 0;
let inFile = 0;
let path = dir + '/w' + index + '-' + file;
let fd = openSync(path, 'wx', 0o600);
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
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
closeSync(fd);
parentPort.postMessage({ writes, elapsed });
`;

function runWriter(dir: string, index: number, seconds: number): Promise<{ writes: number; elapsed: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WRITER, { eval: true, workerData: { dir, index, seconds } });
    worker.once('message', (m: { writes: number; elapsed: number }) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`disk writer ${index} exited ${code}`))));
  });
}

/**
 * Measures durable 1 MiB appends (write + fdatasync) by `writers` parallel threads for about
 * `seconds`, in a temporary directory made under `parent` and removed afterwards (also on
 * failure). Returns the total MiB/s over all writers (their bytes over the slowest writer's
 * elapsed time; each MiB is one fdatasync, so it is also the fdatasyncs per second). Rejects if a writer fails (e.g. the disk is full). Never writes outside that
 * directory.
 */
export async function measureDiskSpeed(parent: string, writers = 8, seconds = 2): Promise<number> {
  const dir = mkdtempSync(join(parent, 's3-bench-disk-'));
  try {
    const results = await Promise.all(Array.from({ length: writers }, (_, i) => runWriter(dir, i, seconds)));
    const writes = results.reduce((n, r) => n + r.writes, 0);
    const elapsed = Math.max(...results.map((r) => r.elapsed));
    return writes / elapsed;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
