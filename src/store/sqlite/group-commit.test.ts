import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closeSqlite, openSqlite, type SqliteDatabase } from './database.js';
import { SqliteGroupCommit, StoreSyncFailedError } from './group-commit.js';

function fileDb(t: { after: (fn: () => void | Promise<void>) => void }): SqliteDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
  const db = openSqlite(join(dir, 'm.db'));
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  t.after(async () => {
    // closeSqlite, not db.close(): the WAL checkpoint worker's connection must be closed too,
    // or its -wal/-shm files race the removal (ENOTEMPTY under load).
    await closeSqlite(db);
    rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

/** A group commit on `db` while another connection holds its write lock (BEGIN IMMEDIATE); `other` commits it. */
function lockedByOther(t: { after: (fn: () => void) => void }, db: SqliteDatabase) {
  const other = new Database(db.name);
  t.after(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  return { other, group: new SqliteGroupCommit(db), insert: db.prepare('INSERT INTO t (k, v) VALUES (?, ?)') };
}

/** Counts groups: each group on a WAL database switches the connection to NORMAL once (through db.exec). */
function countGroups(db: SqliteDatabase): { readonly groups: number } {
  const counter = { groups: 0 };
  const exec = db.exec.bind(db);
  db.exec = ((source: string) => {
    if (source.includes('PRAGMA synchronous = NORMAL')) counter.groups += 1;
    return exec(source);
  }) as typeof db.exec;
  return counter;
}

type SyncCallback = (err: NodeJS.ErrnoException | null) => void;
type Fdatasync = (fd: number, cb: SyncCallback) => void;

/**
 * Replaces node:fs fdatasync for the test with `wrapper` (given the real one); restored after.
 * kill -9 keeps the page cache, so the crash tests cannot see a missing fsync; this watches
 * node:fs (syncBuiltinESMExports carries the wrapper into group-commit's ESM import).
 */
function wrapFdatasync(t: { after: (fn: () => void) => void }, wrapper: (original: Fdatasync, fd: number, cb: SyncCallback) => void): void {
  const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
  const original = fs.fdatasync;
  fs.fdatasync = ((fd: number, cb: SyncCallback) => wrapper(original, fd, cb)) as typeof fs.fdatasync;
  syncBuiltinESMExports();
  t.after(() => {
    fs.fdatasync = original;
    syncBuiltinESMExports();
  });
}

const tick = (ms = 1): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * fdatasync held until the test releases it: `held[n](fail)` runs the nth sync, failing it with
 * EIO if `fail` (Linux: the writeback error goes to the one sync that checks first; the other
 * succeeds). `events`, if given, records `sync n started` / `sync n done`. With `holding` set
 * to false, later syncs run at once. `until(n)` waits for n syncs to have started (the first
 * sync also opens the WAL, a thread-pool trip: wait for it, not a number of turns).
 */
function holdSyncs(t: { after: (fn: () => void) => void }, events?: string[]) {
  const held: Array<(fail?: boolean) => void> = [];
  const syncs = {
    held,
    holding: true,
    until: async (n: number): Promise<void> => {
      for (let i = 0; i < 2000 && held.length < n; i++) await tick();
      assert.equal(held.length, n, `${n} syncs started`);
    },
  };
  wrapFdatasync(t, (original, fd, cb) => {
    const n = held.length;
    const run = (fail = false): void =>
      original(fd, (err) => {
        events?.push(`sync ${n} done`);
        cb(fail ? Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }) : err);
      });
    events?.push(`sync ${n} started`);
    if (syncs.holding) held.push(run);
    else run();
  });
  return syncs;
}

/** How `p` settled: 'resolved', or 'rejected <code or message>', with ' (committed)' if the error says committedUnsynced. */
const settled = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (err: { code?: string; message?: string; committedUnsynced?: boolean }) => `rejected ${err.code ?? err.message}${err.committedUnsynced === true ? ' (committed)' : ''}`,
  );

test('every write resolves with its own result once committed, and the rows are there', async (t) => {
  const db = fileDb(t);
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => group.run(() => insert.run(`k${i}`, i).changes + i)));
  assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => 1 + i));
  assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 20);
});

test('writes queued while a group is being made durable commit together as the next group', async (t) => {
  const db = fileDb(t);
  const counter = countGroups(db);
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const first = group.run(() => insert.run('first', 0));
  await new Promise((r) => setImmediate(r)); // the first group has committed; its fsync runs
  assert.equal(counter.groups, 1);
  const rest = Array.from({ length: 10 }, (_, i) => group.run(() => insert.run(`k${i}`, i)));
  await Promise.all([first, ...rest]);
  assert.equal(counter.groups, 2);
  // The connection's own durability setting is back for everything else (FULL = 2).
  assert.equal(db.pragma('synchronous', { simple: true }), 2);
});

test('a write that raises rolls back alone; the rest of its group commits', async (t) => {
  const db = fileDb(t);
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const ok1 = group.run(() => insert.run('a', 1));
  const bad = group.run(() => {
    insert.run('half', 2); // written, then rolled back with its savepoint
    throw new Error('refused');
  });
  const ok2 = group.run(() => insert.run('b', 3));
  await assert.rejects(bad, /refused/);
  await Promise.all([ok1, ok2]);
  const keys = (db.prepare('SELECT k FROM t ORDER BY k').all() as Array<{ k: string }>).map((r) => r.k);
  assert.deepEqual(keys, ['a', 'b']);
});

test("a group's writes run with busy_timeout and synchronous as the class says; the connection keeps its own after", async (t) => {
  const db = fileDb(t);
  const level = db.pragma('synchronous', { simple: true });
  const group = new SqliteGroupCommit(db);
  const seen = await group.run(() => ({ synchronous: db.pragma('synchronous', { simple: true }), busy: db.pragma('busy_timeout', { simple: true }) }));
  // NORMAL (1) inside the group: its commit does not sync the WAL, the group's fdatasync does.
  assert.deepEqual(seen, { synchronous: 1, busy: 5000 });
  assert.equal(db.pragma('synchronous', { simple: true }), level);
  assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
});

test('a memory database commits groups without the WAL fsync', async () => {
  const db = openSqlite(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  await Promise.all([group.run(() => insert.run('x', 1)), group.run(() => insert.run('y', 2))]);
  assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 2);
  db.close();
});

test('no write of a group resolves before an fdatasync of the WAL that started after its commit has completed', async (t) => {
  const events: string[] = [];
  wrapFdatasync(t, (original, fd, cb) => {
    events.push('fdatasync started');
    original(fd, (err) => {
      events.push('fdatasync done');
      cb(err);
    });
  });
  const db = fileDb(t);
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  await Promise.all(
    Array.from({ length: 3 }, (_, i) =>
      group.run(() => (events.push(`write ${i}`), insert.run(`k${i}`, i))).then(() => events.push(`resolved ${i}`)),
    ),
  );
  const done = events.indexOf('fdatasync done');
  const started = events.indexOf('fdatasync started');
  assert.ok(started > events.lastIndexOf('write 2'), `the fsync starts after the group's writes: ${events.join(', ')}`);
  assert.ok(done > started, events.join(', '));
  for (let i = 0; i < 3; i++) assert.ok(events.indexOf(`resolved ${i}`) > done, `write ${i} resolved after the fsync: ${events.join(', ')}`);
});

test("the next group commits while the previous group's fdatasync is in flight, and waits for its own; at most two syncs run at once", async (t) => {
  // fdatasync held until released: the test decides when each group's sync completes.
  const events: string[] = [];
  const { held, until } = holdSyncs(t, events);
  const db = fileDb(t);
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const write = (i: number): Promise<number> => group.run(() => (events.push(`write ${i}`), insert.run(`k${i}`, i))).then(() => events.push(`resolved ${i}`));
  const first = write(0);
  await until(1);
  const second = write(1);
  await until(2);
  assert.deepEqual(events, ['write 0', 'sync 0 started', 'write 1', 'sync 1 started'], 'the second group committed and synced without waiting for the first sync');
  const third = write(2);
  for (let i = 0; i < 20; i++) await tick();
  assert.equal(events.includes('write 2'), false, 'a third group waits while two syncs are in flight');
  held[0]!();
  await first;
  assert.equal(events.includes('resolved 1'), false, "the second group waits for its own sync, not the first one's");
  await until(3);
  assert.ok(events.indexOf('write 2') > events.indexOf('sync 0 done'), events.join(', '));
  held[1]!();
  held[2]!();
  await Promise.all([second, third]);
  for (let i = 0; i < 3; i++) assert.ok(events.indexOf(`resolved ${i}`) > events.indexOf(`sync ${i} done`), events.join(', '));
  assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 3);
});

test('a WAL fdatasync that fails rejects its own group and every other group whose sync was in flight beside it (the error is reported to one sync only); later writes are refused without running (fail-stop)', async (t) => {
  const { held, until } = holdSyncs(t);
  const db = fileDb(t);
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const first = settled(group.run(() => insert.run('k0', 0)));
  // In the same group, a write that raises: rolled back, it keeps its own error.
  const raising = settled(group.run(() => {
    throw new Error('refused');
  }));
  await until(1);
  const second = settled(group.run(() => insert.run('k1', 1)));
  await until(2);
  held[0]!(true);
  assert.equal(await first, 'rejected EIO (committed)', 'the error says the row committed (it is visible) though it may not survive a crash');
  assert.equal(await raising, 'rejected refused');
  held[1]!(false);
  assert.equal(await second, 'rejected EIO (committed)', "the second group's sync was in flight when the first one failed: its success proves nothing");
  // A frame lost to the writeback error would end SQLite's WAL recovery there, taking every
  // later commit with it: no later write may be acknowledged, so none runs.
  let ran = false;
  const third = group.run(() => {
    ran = true;
    return insert.run('k2', 2);
  });
  await assert.rejects(third, (err: unknown) => err instanceof StoreSyncFailedError && (err.cause as { code?: string }).code === 'EIO');
  assert.equal(ran, false, 'the refused write never ran');
  assert.equal((db.prepare("SELECT count(*) AS n FROM t WHERE k = 'k2'").get() as { n: number }).n, 0);
  assert.equal(held.length, 2, 'no sync started after the failure');
});

test('after a failed WAL fdatasync, writes queued behind the failing group are refused too, and a new store on the file (a restart) takes writes again', async (t) => {
  const syncs = holdSyncs(t);
  const { held, until } = syncs;
  const db = fileDb(t);
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const first = group.run(() => insert.run('a', 1));
  first.catch(() => undefined);
  await until(1);
  const second = group.run(() => insert.run('b', 2));
  second.catch(() => undefined);
  await until(2);
  // Two syncs in flight (MAX_SYNCS_IN_FLIGHT): these wait in the queue behind them.
  const ran: string[] = [];
  const queued = Array.from({ length: 5 }, (_, i) =>
    group.run(() => {
      ran.push(`q${i}`);
      return insert.run(`q${i}`, i);
    }),
  );
  await tick(10);
  assert.deepEqual(ran, [], 'the queued writes wait for a sync slot');
  held[0]!(true);
  await assert.rejects(first, { code: 'EIO' });
  const outcomes = await Promise.allSettled(queued);
  // None is acknowledged, and none ran: each is refused with StoreSyncFailedError.
  for (const [i, o] of outcomes.entries()) {
    assert.equal(o.status, 'rejected', `q${i} rejected`);
    assert.ok((o as PromiseRejectedResult).reason instanceof StoreSyncFailedError, `q${i} refused with StoreSyncFailedError`);
  }
  assert.deepEqual(ran, [], 'no queued write ran');
  held[1]!(false);
  await assert.rejects(second, (err: { code?: string; committedUnsynced?: boolean }) => err.code === 'EIO' && err.committedUnsynced === true);
  await assert.rejects(group.run(() => insert.run('late', 0)), StoreSyncFailedError);
  assert.equal(held.length, 2, 'no sync started after the failure');
  assert.equal((db.prepare("SELECT count(*) AS n FROM t WHERE k LIKE 'q%' OR k = 'late'").get() as { n: number }).n, 0);
  // A restart: a new group commit on the connection takes writes again.
  syncs.holding = false;
  const reopened = new SqliteGroupCommit(db);
  await reopened.run(() => insert.run('after', 2));
  assert.equal((db.prepare("SELECT count(*) AS n FROM t WHERE k = 'after'").get() as { n: number }).n, 1);
});

test('a group that finds the write lock taken by another connection waits off the event loop and commits once it is free', async (t) => {
  const db = fileDb(t);
  const { other, group, insert } = lockedByOther(t, db);
  let runs = 0;
  const started = Date.now();
  let releasedAfter = Number.POSITIVE_INFINITY;
  const write = group.run(() => (runs++, insert.run('a', 1)));
  // Released from a timer: a BEGIN that slept in SQLite's busy handler would hold the loop
  // (and this timer) until its 5 s timeout, and then fail with SQLITE_BUSY.
  setTimeout(() => {
    releasedAfter = Date.now() - started;
    other.exec('COMMIT');
  }, 30);
  await write;
  assert.ok(releasedAfter < 2000, `the loop ran the 30 ms timer after ${releasedAfter} ms: BEGIN slept in the busy handler`);
  assert.equal(runs, 1);
  assert.deepEqual(db.prepare('SELECT k, v FROM t').all(), [{ k: 'a', v: 1 }]);
  assert.equal(db.pragma('busy_timeout', { simple: true }), 5000, 'the connection keeps its busy timeout');
});

test('a group still waiting for the write lock when the busy timeout has passed fails with SQLITE_BUSY, without running its writes', async (t) => {
  const db = fileDb(t);
  db.pragma('busy_timeout = 100');
  const { other, group, insert } = lockedByOther(t, db);
  let runs = 0;
  await assert.rejects(group.run(() => (runs++, insert.run('a', 1))), (err: { code?: string }) => err.code === 'SQLITE_BUSY');
  assert.equal(runs, 0);
  other.exec('COMMIT');
  await group.run(() => insert.run('b', 2));
  assert.deepEqual(db.prepare('SELECT k FROM t').pluck().all(), ['b']);
  assert.equal(db.pragma('busy_timeout', { simple: true }), 100);
});

test('a group waiting for the write lock (retried on a timer) when a WAL fdatasync fails is refused with StoreSyncFailedError once the lock is free, without running', async (t) => {
  const { held, until } = holdSyncs(t);
  const db = fileDb(t);
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const first = group.run(() => insert.run('a', 1));
  first.catch(() => undefined);
  await until(1); // the first sync started
  // Another connection takes the write lock: the next group's BEGIN is retried on a timer.
  const other = new Database(db.name);
  t.after(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  let ran = false;
  const waiting = group.run(() => {
    ran = true;
    return insert.run('b', 2);
  });
  waiting.catch(() => undefined);
  await tick(20);
  assert.equal(ran, false, 'still waiting for the lock');
  held[0]!(true);
  await assert.rejects(first, { code: 'EIO' });
  other.exec('COMMIT');
  await assert.rejects(waiting, StoreSyncFailedError);
  assert.equal(ran, false, 'the refused write never ran');
  assert.equal(held.length, 1, 'no sync started after the failure');
  assert.equal((db.prepare("SELECT count(*) AS n FROM t WHERE k = 'b'").get() as { n: number }).n, 0);
});

test('a single-statement write runs without a savepoint of its own; one whose statement fails, or that raises before it, rolls back alone', async () => {
  const statements: string[] = [];
  const db = new Database(':memory:', { verbose: (sql) => void statements.push(String(sql)) });
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const group = new SqliteGroupCommit(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const savepoints = (): number => statements.filter((s) => /^SAVEPOINT/i.test(s)).length;
  const settled = await Promise.allSettled([
    group.run(() => insert.run('a', 1).changes, true),
    group.run(() => insert.run('a', 2).changes, true), // the same key: its INSERT fails
    group.run(() => {
      throw new Error('refused before writing');
    }, true),
    group.run(() => insert.run('b', 3).changes, true),
  ]);
  assert.deepEqual(settled.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  assert.deepEqual(db.prepare('SELECT k, v FROM t ORDER BY k').all(), [{ k: 'a', v: 1 }, { k: 'b', v: 3 }]);
  assert.equal(savepoints(), 0);
  // Any other write still runs in its own savepoint.
  await group.run(() => insert.run('c', 4).changes);
  assert.equal(savepoints(), 1);
  db.close();
});
