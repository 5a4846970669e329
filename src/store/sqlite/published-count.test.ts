import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import fs, { mkdtempSync, type PathLike, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from './database.js';
import { PublishedCount } from './published-count.js';

const COUNT_SQL = 'SELECT n FROM counted WHERE id = 1';

describe('PublishedCount', () => {
  const dir = mkdtempSync(join(tmpdir(), 'published-count-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;

  /** Two connections to a fresh database (two processes' stand-ins), each with its PublishedCount. */
  function twoProcesses(): { a: PublishedCount; b: PublishedCount; dbA: SqliteDatabase; file: string } {
    const path = join(dir, `db${++n}.sqlite`);
    const dbA = openSqlite(path);
    dbA.exec('CREATE TABLE counted (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counted VALUES (1, 0);');
    const dbB = openSqlite(path);
    const file = `${path}-changes`;
    return { a: new PublishedCount(dbA, COUNT_SQL, file), b: new PublishedCount(dbB, COUNT_SQL, file), dbA, file };
  }
  const bump = (db: SqliteDatabase) => () => db.prepare('UPDATE counted SET n = n + 1 WHERE id = 1').run();
  const published = (file: string): number => readFileSync(file).readDoubleLE(0);

  it('shows another connection the count each write reached', () => {
    const { a, b, dbA, file } = twoProcesses();
    assert.equal(b.current(), 0);
    a.write(bump(dbA));
    assert.equal(published(file), 1);
    assert.equal(b.current(), 1);
    a.write(bump(dbA));
    a.write(bump(dbA));
    assert.equal(b.current(), 3);
    // A write that changes nothing counted publishes nothing new.
    a.write(() => undefined);
    assert.equal(b.current(), 3);
  });

  it('answers NaN for a published count the table has not reached (a writer that died before its commit), until a write reaches it', () => {
    const { a, b, dbA, file } = twoProcesses();
    a.write(bump(dbA));
    assert.equal(b.current(), 1);
    const ahead = Buffer.alloc(8);
    ahead.writeDoubleLE(2, 0);
    writeFileSync(file, ahead);
    assert.ok(Number.isNaN(b.current()));
    assert.ok(Number.isNaN(b.current()), 'and again: nothing is kept meanwhile');
    a.write(bump(dbA));
    assert.equal(b.current(), 2);
  });

  it('puts the table count back after a write that rolled back, and at open', () => {
    const { a, b, dbA, file } = twoProcesses();
    a.write(bump(dbA));
    assert.throws(() =>
      a.write(() => {
        bump(dbA)();
        throw new Error('refused');
      }),
    /refused/);
    assert.equal(published(file), 1);
    assert.equal(b.current(), 1);
    const ahead = Buffer.alloc(8);
    ahead.writeDoubleLE(7, 0);
    writeFileSync(file, ahead);
    const reopened = new PublishedCount(dbA, COUNT_SQL, file);
    assert.equal(published(file), 1);
    assert.equal(reopened.current(), 1);
  });

  it('puts the table count back after a write that published and then failed at COMMIT', () => {
    const { a, b, dbA, file } = twoProcesses();
    dbA.exec('PRAGMA foreign_keys = ON; CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);');
    a.write(bump(dbA));
    // A deferred foreign key is checked at COMMIT: after the write published its count.
    assert.throws(() =>
      a.write(() => {
        bump(dbA)();
        dbA.prepare('INSERT INTO child VALUES (42)').run();
      }),
    /FOREIGN KEY/);
    assert.equal(published(file), 1, 'the file is put back to what the table holds');
    assert.equal(b.current(), 1);
  });

  it('publishes a write nested in a transaction that is not its own (before that COMMIT), so other connections see it once committed', () => {
    const { a, b, dbA, file } = twoProcesses();
    dbA.transaction(() => {
      a.write(bump(dbA));
      assert.equal(published(file), 1, 'published under the outer transaction\'s lock');
      assert.ok(Number.isNaN(b.current()), 'not committed yet: nothing may be kept meanwhile');
    }).immediate();
    assert.equal(b.current(), 1);
    // The same through a DEFERRED outer transaction that reads first.
    dbA.transaction(() => {
      dbA.prepare(COUNT_SQL).get();
      a.write(bump(dbA));
    })();
    assert.equal(b.current(), 2);
  });

  /** A further connection (a process started later) with its PublishedCount on the same file. */
  function another(dbA: SqliteDatabase, file: string, lookEveryMs?: number): { c: PublishedCount; db: SqliteDatabase } {
    const db = openSqlite(dbA.name);
    return { c: new PublishedCount(db, COUNT_SQL, file, lookEveryMs === undefined ? {} : { lookEveryMs }), db };
  }
  /** Descriptors of this process still open on a deleted `file`. */
  const deletedOpen = (file: string): number =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === `${file} (deleted)`;
      } catch {
        return false;
      }
    }).length;
  const HOUR = 3_600_000;

  it('a file deleted, then created anew by a later process: a write through one on the old file lands in the new one, and the rest follow at their next read', () => {
    const { a, b: idle, dbA, file } = twoProcesses();
    const { c: b } = another(dbA, file, HOUR);
    a.write(bump(dbA));
    assert.equal(b.current(), 1);
    unlinkSync(file);
    // Started after the deletion: it creates the file again (the table's count in it).
    const { c, db: dbC } = another(dbA, file, HOUR);
    assert.equal(c.current(), 1);
    // No reader looks at the path (an hour between looks): only the write's own look moves anyone.
    a.write(bump(dbA));
    assert.equal(published(file), 2, 'the write published in the file the path names');
    assert.equal(c.current(), 2, 'the later process sees a write through the old file');
    assert.equal(b.current(), 2, 'a reader of the old file follows the writer (MOVED)');
    c.write(bump(dbC));
    assert.equal(a.current(), 3);
    assert.equal(b.current(), 3);
    assert.equal(idle.current(), 3, 'one that read nothing meanwhile too');
    assert.equal(deletedOpen(file), 0, 'the deleted file is closed by everyone who left it');
  });

  it('a file deleted, then created anew by a later process that writes: the others move to it at their next look', async () => {
    const { a, dbA, file } = twoProcesses();
    const { c: everyRead } = another(dbA, file, 0);
    const { c: every50ms } = another(dbA, file, 50);
    assert.equal(everyRead.current(), 0);
    assert.equal(every50ms.current(), 0);
    unlinkSync(file);
    const { c, db: dbC } = another(dbA, file, HOUR);
    c.write(bump(dbC));
    assert.equal(everyRead.current(), 1, 'a reader that looks at every read sees it at once');
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(every50ms.current(), 1, 'one that looks every 50 ms, 50 ms later');
    // A write through one still on the old file (it has not looked since) lands in the path's.
    a.write(bump(dbA));
    assert.equal(c.current(), 2);
  });

  it('a file replaced by a rename (an old copy): a write lands in the new file and readers of the old one follow', () => {
    const { a, b, dbA, file } = twoProcesses();
    for (let i = 0; i < 3; i++) a.write(bump(dbA));
    assert.equal(b.current(), 3);
    const copy = Buffer.alloc(8);
    copy.writeDoubleLE(1, 0);
    writeFileSync(`${file}.tmp`, copy);
    renameSync(`${file}.tmp`, file);
    a.write(bump(dbA));
    assert.equal(published(file), 4);
    assert.equal(b.current(), 4);
    assert.equal(another(dbA, file, HOUR).c.current(), 4);
  });

  it('a reader that must move answers NaN inside a transaction (no write lock to move under), the count once outside', () => {
    const { a, dbA, file } = twoProcesses();
    const { c: b, db: dbB } = another(dbA, file, 0);
    a.write(bump(dbA));
    unlinkSync(file);
    const later = another(dbA, file, HOUR);
    later.c.write(bump(later.db));
    dbB.transaction(() => assert.ok(Number.isNaN(b.current())))();
    assert.equal(b.current(), 2);
  });

  it('a write that cannot open the file the path names now (EMFILE) fails, rather than commit a change published only where no later process looks', () => {
    const { a, b, dbA, file } = twoProcesses();
    a.write(bump(dbA));
    unlinkSync(file);
    // A worker started since (its predecessor killed) created the file anew; the others still hold the deleted one.
    const { c } = another(dbA, file, HOUR);
    assert.equal(c.current(), 1);
    const realOpen = fs.openSync;
    fs.openSync = ((path: PathLike, ...rest: never[]) => {
      if (String(path) === file) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      return (realOpen as (...args: unknown[]) => number)(path, ...rest);
    }) as typeof fs.openSync;
    syncBuiltinESMExports();
    try {
      assert.throws(() => a.write(bump(dbA)), /EMFILE/);
    } finally {
      fs.openSync = realOpen;
      syncBuiltinESMExports();
    }
    const table = dbA.prepare(COUNT_SQL).pluck().get() as number;
    assert.equal(table, 1, 'the refused write changed nothing');
    assert.equal(c.current(), table, 'the process on the new file is not behind the table');
    a.write(bump(dbA));
    assert.equal(c.current(), 2);
    assert.equal(b.current(), 2);
  });

  it('a reader that follows a move and finds MOVED again (a second move in between) answers NaN, never the marker as a count', () => {
    const { a, b, dbA, file } = twoProcesses();
    a.write(bump(dbA));
    assert.equal(b.current(), 1);
    // The side file replaced, and a write moves everyone: b's file now holds MOVED.
    unlinkSync(file);
    a.write(bump(dbA));
    // The second move, made certain: the read that follows b's own move finds MOVED once more.
    const realRead = fs.readSync;
    let movedSeen = false;
    let armed = true;
    fs.readSync = ((fd: number, buffer: Buffer, ...rest: unknown[]) => {
      const got = (realRead as (...args: unknown[]) => number)(fd, buffer, ...rest);
      if (armed && got === 8) {
        if (movedSeen) {
          buffer.writeDoubleLE(-1, 0);
          armed = false;
        } else if (buffer.readDoubleLE(0) === -1) movedSeen = true;
      }
      return got;
    }) as typeof fs.readSync;
    syncBuiltinESMExports();
    let during: number;
    try {
      during = b.current();
    } finally {
      fs.readSync = realRead;
      syncBuiltinESMExports();
    }
    assert.ok(movedSeen && !armed, 'b followed a move and read again');
    assert.ok(Number.isNaN(during), `answered ${during}`);
    assert.equal(b.current(), 2);
  });

  it('reads NaN and publishes nothing once closed', () => {
    const { a, dbA, file } = twoProcesses();
    a.close();
    assert.ok(Number.isNaN(a.current()));
    a.write(bump(dbA));
    assert.equal(published(file), 0);
  });
  describe('on a connection opened as the sole writer (a server serving alone)', () => {
    function sole(): { count: PublishedCount; db: SqliteDatabase; file: string } {
      const path = join(dir, `db${++n}.sqlite`);
      const db = openSqlite(path, { soleWriter: true });
      db.exec('CREATE TABLE counted (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counted VALUES (1, 0);');
      const file = `${path}-changes`;
      return { count: new PublishedCount(db, COUNT_SQL, file), db, file };
    }
    /** Runs `fn` with fs.readSync counting its calls (on any descriptor: nothing else reads meanwhile). */
    function countingReads<T>(fn: () => T): { value: T; reads: number } {
      const realRead = fs.readSync;
      let reads = 0;
      fs.readSync = ((...args: unknown[]) => {
        reads += 1;
        return (realRead as (...a: unknown[]) => number)(...args);
      }) as typeof fs.readSync;
      syncBuiltinESMExports();
      try {
        return { value: fn(), reads };
      } finally {
        fs.readSync = realRead;
        syncBuiltinESMExports();
      }
    }

    it('follows its own writes without reading the file back, and still publishes them', () => {
      const { count, db, file } = sole();
      const { value, reads } = countingReads(() => {
        const seen = [count.current()];
        count.write(bump(db));
        seen.push(count.current(), count.current());
        count.write(bump(db));
        count.write(bump(db));
        seen.push(count.current());
        count.write(() => undefined);
        seen.push(count.current());
        return seen;
      });
      assert.deepEqual(value, [0, 1, 1, 3, 3]);
      assert.equal(reads, 0, 'no read of the published file');
      assert.equal(published(file), 3, 'the file is written as for other processes');
    });

    it('answers from what it wrote, not from bytes someone else put in the file', () => {
      const { count, db, file } = sole();
      count.write(bump(db));
      const stranger = Buffer.alloc(8);
      stranger.writeDoubleLE(99, 0);
      writeFileSync(file, stranger);
      assert.equal(count.current(), 1);
      count.write(bump(db));
      assert.equal(count.current(), 2);
    });

    it('keeps the rules of the file: a write that rolled back or failed at COMMIT leaves the table count, a nested one is seen in its transaction', () => {
      const { count, db } = sole();
      count.write(bump(db));
      assert.throws(() =>
        count.write(() => {
          bump(db)();
          throw new Error('refused');
        }),
      /refused/);
      assert.equal(count.current(), 1);
      db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);');
      assert.throws(() =>
        count.write(() => {
          bump(db)();
          db.prepare('INSERT INTO child VALUES (42)').run();
        }),
      /FOREIGN KEY/);
      assert.equal(count.current(), 1, 'back to what the table holds');
      db.transaction(() => {
        count.write(bump(db));
        assert.equal(count.current(), 2);
      }).immediate();
      assert.equal(count.current(), 2);
    });

    it('is not the default: a connection opened without it reads the file', () => {
      const { dbA, a } = twoProcesses();
      a.write(bump(dbA));
      const { value, reads } = countingReads(() => a.current());
      assert.equal(value, 1);
      assert.ok(reads >= 1);
    });

    it('reads NaN once closed', () => {
      const { count } = sole();
      count.close();
      assert.ok(Number.isNaN(count.current()));
    });
  });
});
