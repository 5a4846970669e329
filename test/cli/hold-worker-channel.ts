// Preloaded (node --import) into a `server --workers N` and so into each worker it forks
// (node:cluster passes the primary's execArgv on): a worker that gets SIGTERM hands a copy of
// its IPC channel (fd 3, as node:cluster forks) to a `sleep` that outlives it, so the primary
// sees the worker exit a second or so before its channel ends. node:cluster leaves the order
// of a worker's 'exit' and the end of its channel undetermined (its docs say so); this makes
// the order the primary must survive happen every time.
import { spawn } from 'node:child_process';
import cluster from 'node:cluster';

/** How long the channel outlives the worker. */
const CHANNEL_HELD_MS = 1500;

if (cluster.isWorker) {
  process.once('SIGTERM', () => {
    spawn('sleep', [String(CHANNEL_HELD_MS / 1000)], { stdio: ['ignore', 'ignore', 'ignore', 3] }).unref();
    process.stderr.write(`cipherlake test: worker ${process.pid} channel held ${CHANNEL_HELD_MS} ms past its exit\n`);
  });
}
