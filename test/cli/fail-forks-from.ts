// Preloaded (node --import) into a `server --workers N` and so into each worker it forks. In the
// primary, with CIPHERLAKE_TEST_FAIL_FORKS_FROM=n, every cluster fork from the n-th on (counted
// in the primary) fails for real inside libuv's spawn: it is given an executable that does not
// exist, ENOENT, reported by an 'error' on the next tick and no 'exit' (fail-worker-forks.ts
// fails only forks 3 and 4). A worker says on stderr when it tells the primary it listens, and
// with CIPHERLAKE_TEST_SLOW_STOP_MS=ms blocks that long on SIGTERM before the server's own
// handler (registered after this one) begins its stop: a stop that outlasts a pending delay.
import { ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';

/** ChildProcess.prototype.spawn, node's internal step under child_process.spawn and fork (untyped). */
interface Spawning {
  spawn(this: ChildProcess, options: { readonly file: string; readonly envPairs?: readonly string[] }): unknown;
}

const failFrom = Number(process.env['CIPHERLAKE_TEST_FAIL_FORKS_FROM'] ?? 'Infinity');
const slowStopMs = Number(process.env['CIPHERLAKE_TEST_SLOW_STOP_MS'] ?? '0');

if (cluster.isPrimary) {
  const proto = ChildProcess.prototype as unknown as Spawning;
  const spawn = proto.spawn;
  let forks = 0;
  // node:cluster forks through child_process.fork, which ends here with NODE_UNIQUE_ID in the environment.
  proto.spawn = function (options) {
    if (!(options.envPairs ?? []).some((p) => p.startsWith('NODE_UNIQUE_ID='))) return spawn.call(this, options);
    forks++;
    if (forks < failFrom) return spawn.call(this, options);
    process.stderr.write(`cipherlake test: fork ${forks} spawns an executable that does not exist\n`);
    return spawn.call(this, { ...options, file: '/nonexistent/cipherlake-test-node' });
  };
} else if (process.send !== undefined) {
  const send = process.send.bind(process);
  process.send = ((message: unknown, ...rest: never[]) => {
    if ((message as { type?: unknown } | null)?.type === 'cipherlake-listening') process.stderr.write(`cipherlake test: worker ${process.pid} listens\n`);
    return send(message as never, ...rest);
  }) as typeof process.send;
  if (slowStopMs > 0) process.on('SIGTERM', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, slowStopMs));
}
