import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closeSqlite, MMAP_BYTES, openSqlite } from './database.js';
import { SqliteGroupCommit } from './group-commit.js';
import { walCheckpointerOf } from './wal-checkpointer.js';

test('openSqlite reads a database file through a memory map of MMAP_BYTES, and still reads what it wrote once checkpointed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-open-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = openSqlite(join(dir, 'm.db'));
  try {
    assert.equal(db.pragma('mmap_size', { simple: true }), MMAP_BYTES);
    assert.equal(String(db.pragma('journal_mode', { simple: true })).toLowerCase(), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL');
    // Rows that overflow their page (as inline bodies do), read back from the file itself.
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
    const bodies = Array.from({ length: 20 }, (_, i) => Buffer.alloc(5000 + i, i + 1));
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    bodies.forEach((b, i) => insert.run(`k${i}`, b));
    db.pragma('wal_checkpoint(TRUNCATE)');
    const read = db.prepare('SELECT v FROM t WHERE k = ?').pluck();
    bodies.forEach((b, i) => assert.deepEqual(read.get(`k${i}`), b));
  } finally {
    await closeSqlite(db);
  }
});

/** Bytes of `path` this process has mapped (summed over its /proc/self/maps regions); 0 where /proc is missing. */
function mappedBytes(path: string): number {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return 0;
  }
  let total = 0;
  for (const line of maps.split('\n')) {
    if (!line.endsWith(` ${path}`)) continue;
    const [from, to] = (line.split(' ')[0] ?? '').split('-').map((h) => parseInt(h, 16));
    if (from !== undefined && to !== undefined) total += to - from;
  }
  return total;
}

test('the memory map keeps covering the database file as checkpoints grow it', { skip: !existsSync('/proc/self/maps') && 'no /proc/self/maps' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-open-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'm.db');
  const db = openSqlite(path);
  try {
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)');
    const group = new SqliteGroupCommit(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const read = db.prepare('SELECT v FROM t WHERE k = ?').pluck();
    const checkpointer = walCheckpointerOf(db);
    assert.ok(checkpointer !== undefined);
    const checkpointed = async (after: number): Promise<void> => {
      for (let i = 0; i < 500 && checkpointer.stats().checkpoints <= after; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(checkpointer.stats().checkpoints > after, 'the worker checkpointed');
    };
    // A small file, checkpointed and read: SQLite maps it at this size.
    await group.run(() => insert.run(Buffer.alloc(100, 1)));
    await checkpointed(0);
    assert.ok(read.get(1) !== undefined);
    // Grown by this connection's own commits, copied into the file by the worker.
    for (let g = 0; g < 20; g++) await Promise.all(Array.from({ length: 10 }, () => group.run(() => insert.run(Buffer.alloc(3000, 2)))));
    const before = checkpointer.stats().checkpoints;
    await checkpointed(before);
    // Pages the WAL no longer holds are read from the file, through the map once it covers them.
    for (let k = 1; k <= 201; k++) assert.ok(read.get(k) !== undefined);
    const size = statSync(path).size;
    assert.ok(size > 200 * 3000, `the file grew (${size} bytes)`);
    assert.ok(mappedBytes(path) >= size, `mapped ${mappedBytes(path)} of ${size} bytes`);
  } finally {
    await closeSqlite(db);
  }
});
