import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, summary, table, type Row, type Totals } from '../../bench/audit-bench-tables.js';

// audit-bench's tables (bench/audit-bench-tables.ts) read the right servers' totals: each run's
// on/off ratio from that run's audited and unaudited servers, --against's from the third.

/** Totals of `rate` requests a second for 10 s, `mainUs` of main-thread CPU per request. */
function totals(rate: number, mainUs = 200): Totals {
  const requests = rate * 10;
  return { requests, seconds: 10, errors: 0, cpuMs: (requests * mainUs * 1.25) / 1000, mainMs: (requests * mainUs) / 1000, clientMs: 0, machineBusyMs: 0, machineIdleMs: 0 };
}

function row(on: number, off: number, against?: number): Row {
  return { workload: 's3', concurrency: 32, totals: against === undefined ? [totals(on), totals(off)] : [totals(on), totals(off), totals(against)] };
}

/** The cells of the table line that starts with `start`. */
function cells(text: string, start: string): string[] {
  const line = text.split('\n').find((l) => l.startsWith(start));
  assert.ok(line !== undefined, `a line starting ${start} in:\n${text}`);
  return line.split('|').slice(1, -1).map((c) => c.trim());
}

describe('audit-bench tables', () => {
  it('a run: the on/off ratio, and the --against server against both', () => {
    const text = table([row(800, 1000, 900)], 0);
    assert.equal(cells(text, '| S3 PUT 4 KiB SSE-KMS | 32 | 800 |')[4], '0.80');
    const against = cells(text, '| S3 PUT 4 KiB SSE-KMS | 32 | 900 |');
    assert.deepEqual(against.slice(3, 5), ['0.90', '1.13']);
  });

  it('runs: each run its own ratio, their median and range', () => {
    const text = summary([[row(800, 1000)], [row(900, 1000)], [row(700, 1000)]], 0);
    const c = cells(text, '| S3 PUT 4 KiB SSE-KMS |');
    assert.deepEqual(c.slice(2, 7), ['0.80', '0.90', '0.70', '0.800', '0.70–0.90']);
  });

  it('runs with --against: its ratios and its pairs with the audited server', () => {
    const text = summary([[row(800, 1000, 880)], [row(900, 1000, 900)], [row(700, 1000, 840)]], 0);
    assert.deepEqual(cells(text, '| S3 PUT 4 KiB SSE-KMS |').slice(2, 7), ['0.80', '0.90', '0.70', '0.800', '0.70–0.90']);
    const against = cells(text, '| against: S3 PUT 4 KiB SSE-KMS |');
    assert.deepEqual(against.slice(2, 5), ['0.88', '0.90', '0.84']);
    assert.equal(against[5], '0.880 (against/on 1.100, 1.00–1.20)');
  });

  it('the median: the middle value, or the mean of the middle two, whatever the order given', () => {
    assert.equal(median([0.9, 0.7, 0.8]), 0.8);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});
