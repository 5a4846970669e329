// Preloaded (node --import) into a `server --workers N` and so into each worker it forks: in
// the primary, the third and fourth cluster forks fail for real inside libuv's spawn. The third
// is given an executable that does not exist: ENOENT, which node reports as EAGAIN, EMFILE,
// ENFILE and EACCES, by an 'error' on the next tick and no 'exit'. The fourth is given an
// environment string longer than execve takes: E2BIG, which node throws from cluster.fork
// itself, as it does ENOMEM. With `--workers 2` they are the first replacements of a worker
// that died; with `--workers 3` the third fails while the server starts. In a worker: says
// on stderr when it tells the primary it listens, for a test waiting for a replacement.
import { ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';

/** The forks (1-based, counted in the primary) made to fail, and how. */
const FAIL_ON_NEXT_TICK = 3;
const FAIL_AT_ONCE = 4;

/** ChildProcess.prototype.spawn, node's internal step under child_process.spawn and fork (untyped). */
interface Spawning {
  spawn(this: ChildProcess, options: { readonly file: string; readonly envPairs?: readonly string[] }): unknown;
}

if (cluster.isPrimary) {
  const proto = ChildProcess.prototype as unknown as Spawning;
  const spawn = proto.spawn;
  let forks = 0;
  // node:cluster forks through child_process.fork, which ends here with NODE_UNIQUE_ID in the environment.
  proto.spawn = function (options) {
    if (!(options.envPairs ?? []).some((p) => p.startsWith('NODE_UNIQUE_ID='))) return spawn.call(this, options);
    forks++;
    if (forks === FAIL_ON_NEXT_TICK) {
      process.stderr.write(`cipherlake test: fork ${forks} spawns an executable that does not exist\n`);
      return spawn.call(this, { ...options, file: '/nonexistent/cipherlake-test-node' });
    }
    if (forks === FAIL_AT_ONCE) {
      process.stderr.write(`cipherlake test: fork ${forks} spawns with an environment string too long for execve\n`);
      return spawn.call(this, { ...options, envPairs: [...(options.envPairs ?? []), `CIPHERLAKE_TEST_E2BIG=${'x'.repeat(200_000)}`] });
    }
    return spawn.call(this, options);
  };
} else if (process.send !== undefined) {
  const send = process.send.bind(process);
  process.send = ((message: unknown, ...rest: never[]) => {
    if ((message as { type?: unknown } | null)?.type === 'cipherlake-listening') process.stderr.write(`cipherlake test: worker ${process.pid} listens\n`);
    return send(message as never, ...rest);
  }) as typeof process.send;
}
