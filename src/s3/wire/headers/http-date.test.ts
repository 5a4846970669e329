import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpDate, httpDateNow } from './http-date.js';

describe('httpDate', () => {
  it('writes IMF-fixdate (RFC 9110 §5.6.7 example and edges of fields)', () => {
    assert.equal(httpDate(new Date(Date.UTC(1994, 10, 6, 8, 49, 37))), 'Sun, 06 Nov 1994 08:49:37 GMT');
    assert.equal(httpDate(new Date(Date.UTC(2026, 11, 31, 23, 59, 59, 999))), 'Thu, 31 Dec 2026 23:59:59 GMT');
    assert.equal(httpDate(new Date(Date.UTC(2000, 1, 29, 0, 0, 0))), 'Tue, 29 Feb 2000 00:00:00 GMT');
    assert.equal(httpDate(new Date(0)), 'Thu, 01 Jan 1970 00:00:00 GMT');
  });

  it('equals toUTCString over a sweep of times, years 1000-9999 and outside (fallback) and an invalid date', () => {
    const times: number[] = [];
    // Every hour of a leap year and around it, then years far apart and the fallback's ranges.
    for (let t = Date.UTC(2023, 11, 31); t < Date.UTC(2025, 0, 2); t += 3_600_000 + 1_001) times.push(t);
    for (let y = 900; y <= 10_100; y += 37) times.push(Date.UTC(y, y % 12, (y % 28) + 1, y % 24, y % 60, (y * 7) % 60));
    times.push(Date.UTC(999, 11, 31, 23, 59, 59), Date.UTC(1000, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59), Date.UTC(10_000, 0, 1), -62_198_755_200_000, 8.64e15, -8.64e15);
    for (const t of times) {
      const d = new Date(t);
      assert.equal(httpDate(d), d.toUTCString(), `at ${t}`);
    }
    assert.equal(httpDate(new Date(NaN)), 'Invalid Date');
  });
});

describe('httpDateNow', () => {
  it('answers the current second, not the one cached before it', () => {
    const a = new Date(Date.UTC(2026, 10, 28, 4, 0, 0, 10));
    assert.equal(httpDateNow(a), a.toUTCString());
    assert.equal(httpDateNow(new Date(a.getTime() + 989)), a.toUTCString());
    const b = new Date(a.getTime() + 990);
    assert.equal(httpDateNow(b), 'Sat, 28 Nov 2026 04:00:01 GMT');
    // Back in time (a manual clock set back): the earlier second again.
    assert.equal(httpDateNow(a), a.toUTCString());
    assert.equal(httpDateNow(new Date(NaN)), 'Invalid Date');
  });
});
