/**
 * A server's CPU time from /proc (Linux), for benchmarks that report CPU per request: the
 * process and its live descendants (node:cluster workers), all threads or only each
 * process's main thread (the request thread; the others are the libuv pool, V8's GC helpers
 * and worker threads such as the audit writer).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU milliseconds (user + system) used so far; NaN where /proc cannot be read. */
export interface ProcessCpu {
  /** Every thread of the process and of its descendants. */
  readonly allMs: number;
  /** The main thread of the process and of each descendant. */
  readonly mainMs: number;
}

/** utime + stime of a /proc stat line, in ms (USER_HZ 100); undefined when unreadable. */
function statMs(path: string): { ms: number; parent: number } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces: the fields that matter follow its last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ms: (Number(f[11]) + Number(f[12])) * 10, parent: Number(f[1]) };
}

/** `pid` and its live descendants, found by scanning /proc (no `children` file on every kernel). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [pid];
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    const parent = statMs(`/proc/${d}/stat`)?.parent;
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), Number(d)]);
  }
  const out: number[] = [];
  for (const todo = [pid]; todo.length > 0; ) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * The CPU `pid` and its live descendants have used so far. A process that exits between two
 * reads drops out of the second (its CPU is then undercounted, never double-counted); both
 * fields are NaN when `pid` itself is gone or /proc is missing. Never throws.
 */
export function processCpu(pid: number): ProcessCpu {
  let allMs = 0;
  let mainMs = 0;
  for (const p of processTree(pid)) {
    const all = statMs(`/proc/${p}/stat`);
    const main = statMs(`/proc/${p}/task/${p}/stat`);
    if (all === undefined || main === undefined) {
      if (p === pid) return { allMs: NaN, mainMs: NaN };
      continue;
    }
    allMs += all.ms;
    mainMs += main.ms;
  }
  return { allMs, mainMs };
}

/** The whole machine's CPU time so far, every CPU summed, in ms. */
export interface MachineCpu {
  /** user, nice, system, irq and softirq: work, of any process or of the kernel. */
  readonly busyMs: number;
  /** idle and iowait: nothing to run. */
  readonly idleMs: number;
}

/**
 * The machine's CPU time from /proc/stat's first line (USER_HZ 100); NaN fields where it
 * cannot be read. Steal (time the hypervisor gave to others) counts as neither. Never throws.
 */
export function machineCpu(): MachineCpu {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  } catch {
    return { busyMs: NaN, idleMs: NaN };
  }
  const f = line.trim().split(/\s+/);
  if (f[0] !== 'cpu') return { busyMs: NaN, idleMs: NaN };
  const [user, nice, system, idle, iowait, irq, softirq] = f.slice(1, 8).map(Number) as [number, number, number, number, number, number, number];
  return { busyMs: (user + nice + system + irq + softirq) * 10, idleMs: (idle + iowait) * 10 };
}
