// Preloaded (node --import) into a `server --workers N` and so into each worker it forks. In the
// primary, with CIPHERLAKE_TEST_FAIL_FORKS_FROM=n, every cluster fork from the n-th on (counted
// in the primary) fails for real inside libuv's spawn: it is given an executable that does not
// exist, ENOENT, reported by an 'error' on the next tick and no 'exit' (fail-worker-forks.ts
// fails only forks 3 and 4). With CIPHERLAKE_TEST_FAIL_FORKS_WITH=EMFILE they fail with EMFILE
// instead, their process handle answering as libuv would (failSpawnWith). A worker says on
// stderr when it tells the primary it listens, and with CIPHERLAKE_TEST_SLOW_STOP_MS=ms blocks
// that long on SIGTERM before the server's own handler (registered after this one) begins its
// stop: a stop that outlasts a pending delay.
import cluster from 'node:cluster';
import { constants } from 'node:os';
import { announceListening, changeClusterForks, failSpawnWith } from './fork-hooks.js';

const failFrom = Number(process.env['CIPHERLAKE_TEST_FAIL_FORKS_FROM'] ?? 'Infinity');
const slowStopMs = Number(process.env['CIPHERLAKE_TEST_SLOW_STOP_MS'] ?? '0');
// CIPHERLAKE_TEST_FAIL_FORKS_WITH=EMFILE: those forks fail with EMFILE instead (failSpawnWith),
// and each says how many workers node:cluster holds as it spawns (it adds that one after).
const emfile = process.env['CIPHERLAKE_TEST_FAIL_FORKS_WITH'] === 'EMFILE';

if (cluster.isPrimary) {
  changeClusterForks((fork, options, child) => {
    if (fork < failFrom) return undefined;
    if (emfile) {
      process.stderr.write(`cipherlake test: fork ${fork} fails with EMFILE (cluster.workers holds ${Object.keys(cluster.workers ?? {}).length})\n`);
      failSpawnWith(child, constants.errno.EMFILE);
      return undefined;
    }
    process.stderr.write(`cipherlake test: fork ${fork} spawns an executable that does not exist\n`);
    return { ...options, file: '/nonexistent/cipherlake-test-node' };
  });
} else if (process.send !== undefined) {
  announceListening();
  if (slowStopMs > 0) process.on('SIGTERM', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, slowStopMs));
}
