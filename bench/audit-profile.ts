// audit-bench --perf (bench/audit-bench.ts): where each server's main thread spends its time
// per request, from `perf record -g` of the servers and `perf script -F tid,ip,sym,dso`, the
// servers running with --perf-basic-prof so that V8's compiled JavaScript has names. Pure: the
// benchmark records, this reads the samples and formats; test/bench/audit-profile.test.ts
// checks the reading and the arithmetic.
//
// A sample's weight is the server's main-thread CPU per request (measured by audit-bench from
// /proc over its measured rounds) divided by that thread's samples: so the tables are in µs per
// request, and their rows add up to the thread's CPU per request.

/** One frame of a sampled stack: the function (as perf names it) and the object it lives in. */
export interface Frame {
  readonly sym: string;
  readonly dso: string;
}

/** A sampled stack, the running function first. */
export type Stack = readonly Frame[];

/**
 * Reads `perf script -F tid,ip,sym,dso` line by line and keeps the stacks of the threads in
 * `tids` (a sample starts with a line holding its tid alone, right-aligned; each frame line
 * starts with a tab: address, symbol, then the object in parentheses; a blank line ends the
 * sample).
 */
export class PerfScriptReader {
  readonly #tids: ReadonlySet<number>;
  readonly stacks = new Map<number, Stack[]>();
  #tid: number | undefined;
  #frames: Frame[] = [];

  constructor(tids: Iterable<number>) {
    this.#tids = new Set(tids);
    for (const tid of this.#tids) this.stacks.set(tid, []);
  }

  line(text: string): void {
    if (text.trim() === '') return this.#endSample();
    // Frame lines start with a tab; a sample's first line does not, though perf pads a short
    // tid on the left with spaces.
    if (!text.startsWith('\t')) {
      this.#endSample();
      const tid = Number(text.trim().split(/\s+/)[0]);
      this.#tid = this.#tids.has(tid) ? tid : undefined;
      return;
    }
    if (this.#tid === undefined) return;
    // `    7f5e… JS:*handle file:///…/handler.js:44:17 (/tmp/perf-1.map)`: the object is the
    // last parenthesised part; the symbol is what lies between the address and it.
    const m = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)\s*$/.exec(text);
    if (m !== null) this.#frames.push({ sym: m[1] as string, dso: m[2] as string });
  }

  /** Call after the last line. */
  end(): void {
    this.#endSample();
  }

  #endSample(): void {
    if (this.#tid !== undefined && this.#frames.length > 0) this.stacks.get(this.#tid)?.push(this.#frames);
    this.#tid = undefined;
    this.#frames = [];
  }
}

/**
 * The trail's code on the request thread: the audit module, the edge's record builders
 * (edge-audit, the S3 record's parameters), the journal writer, and the S3 answer hold
 * (AnswerHold's overrides in s3/wire/handler). Read from a JavaScript frame's name and file.
 */
const AUDIT_CODE = /\/src\/audit\/|\/src\/net\/edge-audit\.|\/src\/net\/edge-s3-params\.|\/src\/store\/sqlite\/audit-|#(writeHead|held|release|fail) \S*\/src\/s3\/wire\/handler\./;

/** Whether a frame is compiled JavaScript (a perf map of --perf-basic-prof). */
function isJit(f: Frame): boolean {
  return /\/perf-\d+\.map$/.test(f.dso) || f.sym.startsWith('JS:');
}

export function isAuditFrame(f: Frame): boolean {
  return isJit(f) && AUDIT_CODE.test(f.sym);
}

/** Where the running function lives: what the first table groups by. */
export function placeOf(f: Frame): string {
  if (isJit(f)) return isAuditFrame(f) ? 'JavaScript: the audit trail' : 'JavaScript: the rest';
  if (f.dso === '[kernel.kallsyms]' || f.dso.startsWith('[kernel')) return 'kernel (system calls, interrupts)';
  if (/better_sqlite3\.node$/.test(f.dso)) return 'SQLite (better-sqlite3)';
  if (/cipherlake_aes_gcm\.node$/.test(f.dso)) return 'AES-GCM addon';
  if (/\/libc\.so/.test(f.dso)) return 'libc (malloc, memcpy, ...)';
  if (/\/node$/.test(f.dso) || /\/bin\/node/.test(f.dso)) return 'node: V8 runtime, builtins, GC, libuv';
  return 'other';
}

/**
 * A frame's name as the tables show it. For JavaScript: the function and its file from src/
 * (or node:), without the tier V8 ran it in (`*` optimised, `^` baseline, `~` interpreted,
 * `+` Maglev), so one function's samples add up whichever tier took them.
 */
export function frameName(f: Frame): string {
  return f.sym.replace(/^JS:[*^~+]/, 'JS:').replace(/file:\/\/\S*?\/(src|bench|node_modules)\//, '$1/');
}

/** A server's samples and its main thread's CPU per request. */
export interface ProfiledServer {
  readonly name: string;
  readonly stacks: readonly Stack[];
  /** Main-thread CPU µs per request over the measured rounds. */
  readonly mainUsPerRequest: number;
}

function weightOf(s: ProfiledServer): number {
  return s.stacks.length > 0 ? s.mainUsPerRequest / s.stacks.length : 0;
}

/** µs per request of each key, summing each stack's weight under the key `keyOf` gives it (none: not counted). */
function tally(s: ProfiledServer, keyOf: (stack: Stack) => string | undefined): Map<string, number> {
  const w = weightOf(s);
  const out = new Map<string, number>();
  for (const stack of s.stacks) {
    const k = keyOf(stack);
    if (k !== undefined) out.set(k, (out.get(k) ?? 0) + w);
  }
  return out;
}

const us = (n: number | undefined): string => (n ?? 0).toFixed(1);
const signed = (n: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;

/**
 * The tables for an audited server and its unaudited twin (and any others, e.g. --against's,
 * as more columns): main-thread µs per request by where the running code lives; the audited
 * server's time under the trail's code (inclusive: everything it called), by the outermost
 * frame of that code and, under each, by the running function; and the functions whose own
 * time differs most between the first two servers.
 */
export function profileTables(servers: readonly [ProfiledServer, ProfiledServer, ...ProfiledServer[]], top = 15): string {
  const [on, off] = servers;
  const lines: string[] = [];
  const names = servers.map((s) => s.name);

  const places = servers.map((s) => tally(s, (stack) => (stack[0] !== undefined ? placeOf(stack[0]) : undefined)));
  const allPlaces = [...new Set(places.flatMap((p) => [...p.keys()]))].sort((a, b) => (places[0]?.get(b) ?? 0) - (places[0]?.get(a) ?? 0));
  lines.push(
    `Main thread µs per request, by where the running function lives (its own time; perf samples: ${servers.map((s) => `${s.name} ${s.stacks.length}`).join(', ')})`,
    '',
    `| code | ${names.join(' | ')} | ${on.name} − ${off.name} |`,
    `| :--- | ${names.map(() => '---:').join(' | ')} | ---: |`,
  );
  for (const p of allPlaces) lines.push(`| ${p} | ${places.map((t) => us(t.get(p))).join(' | ')} | ${signed((places[0]?.get(p) ?? 0) - (places[1]?.get(p) ?? 0))} |`);
  lines.push(`| all | ${servers.map((s) => us(s.mainUsPerRequest)).join(' | ')} | ${signed(on.mainUsPerRequest - off.mainUsPerRequest)} |`);

  // Inclusive: a sample counts for the outermost trail frame on its stack (the caller of the rest).
  const outermost = (stack: Stack): Frame | undefined => {
    for (let i = stack.length - 1; i >= 0; i--) if (isAuditFrame(stack[i] as Frame)) return stack[i];
    return undefined;
  };
  const byEntry = tally(on, (stack) => {
    const f = outermost(stack);
    return f !== undefined ? frameName(f) : undefined;
  });
  const inclusive = [...byEntry.values()].reduce((a, b) => a + b, 0);
  const w = weightOf(on);
  lines.push(
    '',
    `${on.name}: main-thread time under the audit trail's code, ${us(inclusive)} µs per request of the ${signed(on.mainUsPerRequest - off.mainUsPerRequest)} against ${off.name} (the rest of the difference runs outside it: the writes it adds, caches, GC, smaller groups)`,
    '',
    '| entered at (outermost trail frame) | µs / request | of which, running (top 4) |',
    '| :--- | ---: | :--- |',
  );
  for (const [entry, t] of [...byEntry].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const leaves = new Map<string, number>();
    for (const stack of on.stacks) {
      const f = outermost(stack);
      if (f === undefined || frameName(f) !== entry || stack[0] === undefined) continue;
      const leaf = frameName(stack[0]);
      leaves.set(leaf, (leaves.get(leaf) ?? 0) + w);
    }
    const running = [...leaves].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([name, v]) => `${name} ${us(v)}`).join('; ');
    lines.push(`| ${entry} | ${us(t)} | ${running.replaceAll('|', '\\|')} |`);
  }

  const self = (s: ProfiledServer): Map<string, number> => tally(s, (stack) => (stack[0] !== undefined ? frameName(stack[0]) : undefined));
  const a = self(on);
  const b = self(off);
  const diffs = [...new Set([...a.keys(), ...b.keys()])].map((k) => [k, (a.get(k) ?? 0) - (b.get(k) ?? 0)] as const).sort((x, y) => y[1] - x[1]);
  lines.push('', `Functions whose own time differs most, µs per request, ${on.name} − ${off.name}`, '', `| function | ${on.name} | ${off.name} | difference |`, '| :--- | ---: | ---: | ---: |');
  for (const [k, d] of diffs.slice(0, top)) lines.push(`| ${k.replaceAll('|', '\\|')} | ${us(a.get(k))} | ${us(b.get(k))} | ${signed(d)} |`);
  return `${lines.join('\n')}\n`;
}
