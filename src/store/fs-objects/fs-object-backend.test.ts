import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FsObjectBackend } from './fs-object-backend.js';

describe('FsObjectBackend', () => {
  const root = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('abort right after create (the temporary file still being opened) leaves no temporary file', async () => {
    const backend = new FsObjectBackend(root);
    for (let i = 0; i < 200; i++) {
      const pending = await backend.create();
      pending.stream.on('error', () => undefined);
      await pending.abort();
      assert.deepEqual(readdirSync(join(root, 'tmp')), [], `round ${i}`);
    }
  });

  it('abort after some bytes were written leaves no temporary file; commit of another body still works', async () => {
    const backend = new FsObjectBackend(root);
    const pending = await backend.create();
    pending.stream.write(Buffer.alloc(3 * 1024 * 1024, 7));
    await pending.abort();
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    const ok = await backend.create();
    await new Promise<void>((resolve, reject) => ok.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    await ok.commit();
    assert.deepEqual(backend.listStorageIds(), [ok.storageId]);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  });

  it('a second backend on the same root clears tmp/ by default but not with clearTmp: false (a cluster worker beside a writing sibling)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-tmp-'));
    try {
      const first = new FsObjectBackend(dir);
      const pending = await first.create();
      await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
      new FsObjectBackend(dir, { clearTmp: false });
      await pending.commit();
      assert.deepEqual(first.listStorageIds(), [pending.storageId]);
      const lost = await first.create();
      await new Promise<void>((resolve, reject) => lost.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
      new FsObjectBackend(dir);
      await assert.rejects(lost.commit(), { code: 'ENOENT' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('commit resolves only after an fsync of the directory that started after the rename completed', async (t) => {
    // kill -9 keeps the page cache, so the crash tests cannot see a missing directory fsync;
    // node:fs is watched instead (syncBuiltinESMExports carries the wrappers into the ESM imports).
    const require = createRequire(import.meta.url);
    const fs = require('node:fs') as typeof import('node:fs');
    const fsp = require('node:fs/promises') as typeof import('node:fs/promises');
    const original = { fsync: fs.fsync, rename: fsp.rename };
    const events: string[] = [];
    fs.fsync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      events.push('fsync started');
      original.fsync(fd, (err) => {
        events.push('fsync done');
        cb(err);
      });
    }) as typeof fs.fsync;
    fsp.rename = (async (from: string, to: string) => {
      await original.rename(from, to);
      events.push('renamed');
    }) as typeof fsp.rename;
    syncBuiltinESMExports();
    t.after(() => {
      fs.fsync = original.fsync;
      fsp.rename = original.rename;
      syncBuiltinESMExports();
    });
    const backend = new FsObjectBackend(root);
    const pending = await backend.create();
    await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    await pending.commit();
    events.push('committed');
    const renamed = events.indexOf('renamed');
    assert.ok(renamed >= 0, events.join(', '));
    const started = events.indexOf('fsync started', renamed);
    assert.ok(started > renamed, `a directory fsync after the rename: ${events.join(', ')}`);
    const done = events.indexOf('fsync done', started);
    assert.ok(done > started && done < events.indexOf('committed'), `that fsync completed before commit resolved: ${events.join(', ')}`);
  });
});
