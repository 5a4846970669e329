import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { DATA_DIR_LOCK_FILE, DataDirInUseError, lockDataDir } from './data-dir-lock.js';

const MODULE = new URL('./data-dir-lock.ts', import.meta.url).href;

describe('lockDataDir', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const fresh = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'cl-lock-'));
    dirs.push(d);
    return d;
  };

  it('refuses a second holder in the same process until the first releases', () => {
    const dir = fresh();
    const first = lockDataDir(dir);
    assert.deepEqual(readdirSync(dir), [DATA_DIR_LOCK_FILE], 'the lock file alone (no -journal beside it)');
    assert.throws(() => lockDataDir(dir), (e: unknown) => e instanceof DataDirInUseError && e.dataDir === dir && /in use by another Cipherlake server/.test(e.message));
    first.release();
    first.release(); // idempotent
    const again = lockDataDir(dir);
    again.release();
  });

  it('refuses while another process holds it, and is free once that process is killed (-9)', async () => {
    const dir = fresh();
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `const m = await import(${JSON.stringify(MODULE)}); m.lockDataDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [line] = (await once(holder.stdout, 'data')) as [Buffer];
      assert.equal(line.toString().trim(), 'locked');
      assert.throws(() => lockDataDir(dir), DataDirInUseError);
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    const mine = lockDataDir(dir);
    mine.release();
  });

  it('waits out a brief reader of server.lock (the offline commands probe) instead of saying "in use"', async () => {
    const dir = fresh();
    lockDataDir(dir).release();
    // A reader holding SQLite's shared lock for ~200 ms, as dataDirInUse does for microseconds.
    const reader = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import Database from 'better-sqlite3';
         const db = new Database(${JSON.stringify(join(dir, DATA_DIR_LOCK_FILE))}, { readonly: true });
         db.exec('BEGIN'); db.prepare('SELECT count(*) FROM sqlite_master').get();
         console.log('reading');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
         db.exec('COMMIT'); db.close();`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() },
    );
    try {
      const [line] = (await once(reader.stdout, 'data')) as [Buffer];
      assert.equal(line.toString().trim(), 'reading');
      const mine = lockDataDir(dir);
      mine.release();
    } finally {
      reader.kill('SIGKILL');
      await once(reader, 'exit').catch(() => undefined);
    }
  });

  it('does not hide other errors as "in use"', () => {
    assert.throws(
      () => lockDataDir(join(fresh(), 'missing', 'dir')),
      (e: unknown) => !(e instanceof DataDirInUseError) && e instanceof Error,
    );
  });
});
