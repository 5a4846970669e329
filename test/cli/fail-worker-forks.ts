// Preloaded (node --import) into a `server --workers N` and so into each worker it forks: in
// the primary, the third and fourth cluster forks fail for real inside libuv's spawn. The third
// is given an executable that does not exist: ENOENT, which node reports as EAGAIN, EMFILE,
// ENFILE and EACCES, by an 'error' on the next tick and no 'exit'. The fourth is given an
// environment string longer than execve takes: E2BIG, which node throws from cluster.fork
// itself, as it does ENOMEM. With `--workers 2` they are the first replacements of a worker
// that died; with `--workers 3` the third fails while the server starts. In a worker: says
// on stderr when it tells the primary it listens, for a test waiting for a replacement.
import cluster from 'node:cluster';
import { announceListening, changeClusterForks } from './fork-hooks.js';

/** The forks (1-based, counted in the primary) made to fail, and how. */
const FAIL_ON_NEXT_TICK = 3;
const FAIL_AT_ONCE = 4;

if (cluster.isPrimary) {
  changeClusterForks((fork, options) => {
    if (fork === FAIL_ON_NEXT_TICK) {
      process.stderr.write(`cipherlake test: fork ${fork} spawns an executable that does not exist\n`);
      return { ...options, file: '/nonexistent/cipherlake-test-node' };
    }
    if (fork === FAIL_AT_ONCE) {
      process.stderr.write(`cipherlake test: fork ${fork} spawns with an environment string too long for execve\n`);
      return { ...options, envPairs: [...(options.envPairs ?? []), `CIPHERLAKE_TEST_E2BIG=${'x'.repeat(200_000)}`] };
    }
    return undefined;
  });
} else {
  announceListening();
}
