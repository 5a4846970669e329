import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closeSqlite, MMAP_BYTES, openSqlite } from './database.js';

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
