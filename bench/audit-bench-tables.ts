// audit-bench's tables (bench/audit-bench.ts): what one measurement and a series of runs
// print, from the totals the rounds gathered. Pure: the benchmark measures, this formats;
// test/bench/audit-bench-tables.test.ts checks the ratios each table reads.

export const WORKLOADS = ['kms', 's3', 's3-bucket-key', 's3-sse-s3'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface Totals {
  requests: number;
  seconds: number;
  errors: number;
  cpuMs: number;
  mainMs: number;
  /** This process's CPU (the client) over the measured windows. */
  clientMs: number;
  /** The machine's busy and idle CPU time over the same windows (every process, the kernel). */
  machineBusyMs: number;
  machineIdleMs: number;
}

export interface Row {
  readonly workload: Workload;
  readonly concurrency: number;
  /** [audit on, audit off], then with --against that checkout's audited server. */
  readonly totals: readonly [Totals, Totals, ...Totals[]];
}

/** The median of `xs` (the mean of the middle two for an even count); NaN for none. Also bench/audit-encode.ts's. */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function label(workload: Workload): string {
  switch (workload) {
    case 'kms':
      return 'KMS GenerateDataKey';
    case 's3':
      return 'S3 PUT 4 KiB SSE-KMS';
    case 's3-bucket-key':
      return 'S3 PUT 4 KiB SSE-KMS, bucket key';
    case 's3-sse-s3':
      return 'S3 PUT 4 KiB SSE-S3';
    default: {
      const never: never = workload;
      throw new Error(`unknown workload ${String(never)}`);
    }
  }
}

/** The markdown table: one row per workload × concurrency. */
export function table(rows: readonly Row[], workers: number): string {
  const rate = (t: Totals): number => t.requests / t.seconds;
  const us = (ms: number, t: Totals): string => (Number.isFinite(ms) && t.requests > 0 ? ((ms * 1000) / t.requests).toFixed(0) : '-');
  const cpu = (t: Totals): string => `${us(t.cpuMs, t)} / ${us(t.mainMs, t)}`;
  const lines = [
    `Audit on vs off, ${workers > 0 ? `${workers} workers (server --workers ${workers})` : 'one process'}; target ratio ≥ 0.85`,
    '',
    '| workload | concurrency | audit on req/s | audit off req/s | ratio on/off | server CPU µs/req on (all / main) | off (all / main) | errors on / off |',
    '| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { workload, concurrency, totals: [on, off] } of rows) {
    lines.push(`| ${label(workload)} | ${concurrency} | ${Math.round(rate(on))} | ${Math.round(rate(off))} | ${(rate(on) / rate(off)).toFixed(2)} | ${cpu(on)} | ${cpu(off)} | ${on.errors} / ${off.errors} |`);
  }
  if (rows.some((r) => r.totals[2] !== undefined)) {
    lines.push(
      '',
      `--against's audited server, measured in the same rounds (against the same unaudited server, and against this checkout's audited one)`,
      '',
      '| workload | concurrency | against on req/s | ratio against/off | ratio against/on | server CPU µs/req against (all / main) | errors |',
      '| :--- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const { workload, concurrency, totals: [on, off, against] } of rows) {
      if (against !== undefined) lines.push(`| ${label(workload)} | ${concurrency} | ${Math.round(rate(against))} | ${(rate(against) / rate(off)).toFixed(2)} | ${(rate(against) / rate(on)).toFixed(2)} | ${cpu(against)} | ${against.errors} |`);
    }
  }
  // Where the machine's CPU went while each server was measured: a server main thread near a
  // whole core with the machine idle besides means the main thread bounds the rate; idle time
  // with a main thread well below a core means something waits (the disk, a lock, a hold).
  const split = (t: Totals): string => {
    const of = (ms: number): string => us(ms, t);
    return `${of(t.mainMs)} | ${of(t.cpuMs - t.mainMs)} | ${of(t.clientMs)} | ${of(t.machineBusyMs - t.cpuMs - t.clientMs)} | ${of(t.machineIdleMs)} | ${Number.isFinite(t.mainMs) && t.seconds > 0 ? ((t.mainMs / 1000 / t.seconds) * 100).toFixed(0) : '-'}%`;
  };
  lines.push(
    '',
    'Where the machine\'s CPU went, µs per request (both cores; the rest: the kernel, other processes)',
    '',
    '| workload | concurrency | audit | server main thread(s) | server other threads | client (this process) | rest busy | idle | main thread(s) busy |',
    '| :--- | ---: | :--- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const { workload, concurrency, totals: [on, off, against] } of rows) {
    lines.push(`| ${label(workload)} | ${concurrency} | on | ${split(on)} |`, `| ${label(workload)} | ${concurrency} | off | ${split(off)} |`);
    if (against !== undefined) lines.push(`| ${label(workload)} | ${concurrency} | against on | ${split(against)} |`);
  }
  return lines.join('\n') + '\n';
}

/**
 * With --runs above 1: per row, each run's ratio, their median and range, and the median
 * server CPU per request. Runs of one build on this kind of shared VM differ more than the
 * changes worth measuring, so a single run's ratio says little on its own.
 */
export function summary(runs: readonly (readonly Row[])[], workers: number): string {
  const rate = (t: Totals): number => t.requests / t.seconds;
  // Side 0 is the audited server, 2 the --against one; always named, never defaulted: a
  // defaulted side passed to map() took the run's index for it.
  const ratio = (row: Row, side: 0 | 2): number => rate(row.totals[side] as Totals) / rate(row.totals[1]);
  const us = (ms: number, t: Totals): number => (ms * 1000) / t.requests;
  const first = runs[0] as readonly Row[];
  const lines = [
    `Medians of ${runs.length} runs, ${workers > 0 ? `${workers} workers` : 'one process'}; target ratio ≥ 0.85`,
    '',
    `| workload | concurrency | ${runs.map((_, i) => `run ${i + 1}`).join(' | ')} | median ratio | range | median server CPU µs/req on (all / main) | off (all / main) |`,
    `| :--- | ---: | ${runs.map(() => '---:').join(' | ')} | ---: | ---: | ---: | ---: |`,
  ];
  first.forEach((row, r) => {
    const same = runs.map((rows) => rows[r] as Row);
    const ratios = same.map((x) => ratio(x, 0));
    const cpu = (side: number): string => {
      const of = (x: Row): Totals => x.totals[side] as Totals;
      return `${median(same.map((x) => us(of(x).cpuMs, of(x)))).toFixed(0)} / ${median(same.map((x) => us(of(x).mainMs, of(x)))).toFixed(0)}`;
    };
    lines.push(
      `| ${label(row.workload)} | ${row.concurrency} | ${ratios.map((x) => x.toFixed(2)).join(' | ')} | ${median(ratios).toFixed(3)} | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} | ${cpu(0)} | ${cpu(1)} |`,
    );
    if (row.totals[2] !== undefined) {
      const against = same.map((x) => ratio(x, 2));
      const pairs = same.map((x) => ratio(x, 2) / ratio(x, 0));
      lines.push(
        `| against: ${label(row.workload)} | ${row.concurrency} | ${against.map((x) => x.toFixed(2)).join(' | ')} | ${median(against).toFixed(3)} (against/on ${median(pairs).toFixed(3)}, ${Math.min(...pairs).toFixed(2)}–${Math.max(...pairs).toFixed(2)}) | ${Math.min(...against).toFixed(2)}–${Math.max(...against).toFixed(2)} | ${cpu(2)} | ${cpu(1)} |`,
      );
    }
  });
  return lines.join('\n') + '\n';
}
