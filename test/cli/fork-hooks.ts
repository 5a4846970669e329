// Shared by the cluster preloads (fail-worker-forks.ts, fail-forks-from.ts), each preloaded with
// node --import into a `server --workers N` and so into every worker it forks.
import { ChildProcess } from 'node:child_process';

/** What a spawn is given: ChildProcess.prototype.spawn's options, as far as these hooks read or change them. */
export interface SpawnOptions {
  readonly file: string;
  readonly envPairs?: readonly string[];
}

/** ChildProcess.prototype.spawn, node's internal step under child_process.spawn and fork (untyped). */
interface Spawning {
  spawn(this: ChildProcess, options: SpawnOptions): unknown;
}

/** A ChildProcess's libuv process handle, whose spawn returns 0 or a negative errno (node internals, untyped). */
interface ProcessHandleHolder {
  _handle: { spawn(options: SpawnOptions): number } | null;
}

/**
 * In the primary: every cluster fork's spawn goes through `change` with its number (1-based,
 * counted here) and its ChildProcess, which returns the options to spawn with (changed to
 * make it fail for real inside libuv) or undefined to leave it alone. Other spawns pass untouched.
 */
export function changeClusterForks(change: (fork: number, options: SpawnOptions, child: ChildProcess) => SpawnOptions | undefined): void {
  const proto = ChildProcess.prototype as unknown as Spawning;
  const spawn = proto.spawn;
  let forks = 0;
  // node:cluster forks through child_process.fork, which ends here with NODE_UNIQUE_ID in the environment.
  proto.spawn = function (options) {
    if (!(options.envPairs ?? []).some((p) => p.startsWith('NODE_UNIQUE_ID='))) return spawn.call(this, options);
    forks++;
    return spawn.call(this, change(forks, options, this) ?? options);
  };
}

/**
 * Makes `child`'s spawn fail with `errno` as libuv's would (EMFILE: no descriptor left for its
 * pipes), without exhausting the process's descriptors, which would fail whatever else opens
 * a file meanwhile: its handle's spawn returns the negative errno, and node's own code takes it
 * from there exactly as from libuv (for EMFILE and ENFILE: an 'error' on the next tick, no
 * stdio or IPC channel set up, no 'exit', no 'disconnect').
 */
export function failSpawnWith(child: ChildProcess, errno: number): void {
  const handle = (child as unknown as ProcessHandleHolder)._handle;
  if (handle === null) throw new Error('the ChildProcess has no process handle');
  handle.spawn = () => -errno;
}

/** In a worker: says on stderr (`cipherlake test: worker PID listens`) when it tells the primary it listens. */
export function announceListening(): void {
  if (process.send === undefined) return;
  const send = process.send.bind(process);
  process.send = ((message: unknown, ...rest: never[]) => {
    if ((message as { type?: unknown } | null)?.type === 'cipherlake-listening') process.stderr.write(`cipherlake test: worker ${process.pid} listens\n`);
    return send(message as never, ...rest);
  }) as typeof process.send;
}
