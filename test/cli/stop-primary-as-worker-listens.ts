// Preloaded (node --import) into a `server --workers N` and so into each worker it forks
// (node:cluster passes the primary's execArgv on): a worker about to tell the primary it
// listens first sends the primary SIGTERM and blocks long enough for the primary to begin its
// stop, so the primary hears "listening" from a worker it is already stopping. That is a stop
// (SIGTERM, Ctrl-C) arriving while the first worker starts, made to happen every time.
import cluster from 'node:cluster';

/** How long the worker blocks between the primary's SIGTERM and its "listening" message. */
const HOLD_MS = 500;

if (cluster.isWorker && process.send !== undefined) {
  const send = process.send.bind(process) as (message: unknown, ...rest: unknown[]) => boolean;
  process.send = ((message: unknown, ...rest: unknown[]): boolean => {
    if ((message as { type?: unknown } | null)?.type === 'cipherlake-listening') {
      process.kill(process.ppid, 'SIGTERM');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, HOLD_MS);
      process.stderr.write(`cipherlake test: worker ${process.pid} stopped the primary before saying it listens\n`);
    }
    return send(message, ...rest);
  }) as typeof process.send;
}
