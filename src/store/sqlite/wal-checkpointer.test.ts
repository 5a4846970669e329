import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closeSqlite, openSqlite, type SqliteDatabase } from './database.js';
import { SqliteGroupCommit } from './group-commit.js';
import { walCheckpointerOf, type WalCheckpointer, type WalCheckpointerOptions } from './wal-checkpointer.js';

const ROW = 4000; // about one 4 KiB page (one WAL frame) per row
const FRAME = 4096 + 24;

interface Fixture {
  readonly db: SqliteDatabase;
  readonly path: string;
  readonly group: SqliteGroupCommit;
  readonly checkpointer: WalCheckpointer;
  readonly warnings: string[];
  /** Commits `n` rows through the group commit, all queued at once (one or a few groups). */
  write(n: number): Promise<void>;
  walBytes(): number;
}

function open(t: { after: (fn: () => Promise<void>) => void }, options: WalCheckpointerOptions): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'wal-checkpointer-'));
  const path = join(dir, 'm.db');
  const warnings: string[] = [];
  const db = openSqlite(path, { checkpoints: { ...options, warn: (_fields, message) => warnings.push(message) } });
  db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)');
  t.after(async () => {
    if (db.open) await closeSqlite(db);
    rmSync(dir, { recursive: true, force: true });
  });
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const body = Buffer.alloc(ROW, 7);
  const checkpointer = walCheckpointerOf(db);
  assert.ok(checkpointer !== undefined);
  return {
    db,
    path,
    group,
    checkpointer,
    warnings,
    write: async (n) => void (await Promise.all(Array.from({ length: n }, () => group.run(() => insert.run(body))))),
    walBytes: () => statSync(`${path}-wal`).size,
  };
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000; // a deadline against hanging, not a timing assertion
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function rows(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    return (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

test('the worker checkpoints the WAL, which restarts in place; every row reads back', async (t) => {
  const f = open(t, { thresholdFrames: 50, hardLimitFrames: 100_000 });
  assert.equal(f.db.pragma('wal_autocheckpoint', { simple: true }), 1000); // no worker before the first group
  for (let batch = 0; batch < 20; batch += 1) {
    const before = f.checkpointer.stats().checkpoints;
    await f.write(100);
    // The connection's own auto-checkpoint is out of the way: only the worker can do this.
    assert.equal(f.db.pragma('wal_autocheckpoint', { simple: true }), 100_000);
    await until('a worker checkpoint', () => f.checkpointer.stats().checkpoints > before);
  }
  // 2000 frames were written; checkpointed after every 100, the WAL restarted from its start.
  assert.ok(f.walBytes() < 400 * FRAME, `WAL of ${f.walBytes()} bytes`);
  assert.equal(f.checkpointer.stats().workerRunning, true);
  await closeSqlite(f.db);
  assert.equal(f.checkpointer.stats().workerRunning, false);
  assert.equal(rows(f.path), 2000);
  assert.deepEqual(f.warnings, []);
});

test('under steady writes a group waits for a catch-up checkpoint, and the WAL restarts', async (t) => {
  const f = open(t, { thresholdFrames: 50, hardLimitFrames: 100_000 });
  let written = 0;
  // Groups back to back: each checkpoint ends behind the newest commit.
  while (f.checkpointer.stats().catchUps < 2) {
    await f.write(20);
    written += 20;
    if (written > 20_000) assert.fail('no catch-up checkpoint');
  }
  await f.write(200);
  written += 200;
  assert.ok(f.walBytes() < written * FRAME, `WAL of ${f.walBytes()} bytes after ${written} rows`);
  await closeSqlite(f.db);
  assert.equal(rows(f.path), written);
});

test('a worker that cannot keep up: the connection checkpoints itself past the hard limit', async (t) => {
  // This worker never answers a checkpoint request (it does stop when asked).
  const silent = "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => m.op === 'close' && parentPort.close());";
  const f = open(t, { thresholdFrames: 50, hardLimitFrames: 200, workerSource: silent });
  for (let batch = 0; batch < 30; batch += 1) await f.write(100);
  assert.equal(f.checkpointer.stats().checkpoints, 0);
  assert.ok(f.walBytes() < 600 * FRAME, `WAL of ${f.walBytes()} bytes`);
  await closeSqlite(f.db);
  assert.equal(rows(f.path), 3000);
});

test('a worker that crashes is logged, restarted, and then checkpoints stay on the connection', async (t) => {
  const f = open(t, { thresholdFrames: 50, hardLimitFrames: 100_000, maxRestarts: 1, workerSource: "throw new Error('boom');" });
  let written = 0;
  while (f.checkpointer.stats().crashes < 2) {
    await f.write(10);
    written += 10;
    await new Promise((r) => setTimeout(r, 5));
    if (written > 100_000) assert.fail('the worker never crashed twice');
  }
  assert.equal(f.checkpointer.stats().workerRunning, false);
  assert.equal(f.db.pragma('wal_autocheckpoint', { simple: true }), 1000); // SQLite's own, on the connection
  for (let batch = 0; batch < 30; batch += 1) await f.write(100);
  written += 3000;
  assert.equal(f.checkpointer.stats().crashes, 2); // no third start
  assert.ok(f.walBytes() < 1500 * FRAME, `WAL of ${f.walBytes()} bytes`);
  assert.ok(f.warnings.some((w) => w.includes('restarts')));
  assert.ok(f.warnings.some((w) => w.includes('stay on the connection')));
  await closeSqlite(f.db);
  assert.equal(rows(f.path), written);
});

test('a database closed without closeSqlite stops its worker at the next tick', async (t) => {
  const f = open(t, { thresholdFrames: 50 });
  await f.write(10);
  assert.equal(f.checkpointer.stats().workerRunning, true);
  f.db.close();
  await until('the worker stopped', () => !f.checkpointer.stats().workerRunning);
});
