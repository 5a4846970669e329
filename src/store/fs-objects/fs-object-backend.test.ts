import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FsObjectBackend } from './fs-object-backend.js';

describe('FsObjectBackend', () => {
  const root = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('abort right after create (the file still being opened) leaves no file', async () => {
    const backend = new FsObjectBackend(root);
    for (let i = 0; i < 200; i++) {
      const pending = await backend.create();
      pending.stream.on('error', () => undefined);
      await pending.abort();
      assert.deepEqual(backend.listStorageIds(), [], `round ${i}`);
      assert.deepEqual(readdirSync(join(root, 'tmp')), [], `round ${i}`);
    }
  });

  it('abort after some bytes were written leaves no file; commit of another body still works', async () => {
    const backend = new FsObjectBackend(root);
    const pending = await backend.create();
    pending.stream.write(Buffer.alloc(3 * 1024 * 1024, 7));
    await pending.abort();
    assert.deepEqual(backend.listStorageIds(), []);
    const ok = await backend.create();
    await new Promise<void>((resolve, reject) => ok.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    await ok.commit();
    assert.deepEqual(backend.listStorageIds(), [ok.storageId]);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  });

  it('a second backend on the same root (a cluster worker, or a restart clearing tmp/) does not disturb a body being written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-tmp-'));
    try {
      const first = new FsObjectBackend(dir);
      const pending = await first.create();
      await new Promise<void>((resolve, reject) => pending.stream.write(Buffer.from('sealed'), (err) => (err ? reject(err) : resolve())));
      new FsObjectBackend(dir, { clearTmp: false });
      new FsObjectBackend(dir);
      await new Promise<void>((resolve, reject) => pending.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
      await pending.commit();
      assert.deepEqual(first.listStorageIds(), [pending.storageId]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a body refused after its stream finished is removed by abort, and commit of a destroyed one rejects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-abort-'));
    try {
      const backend = new FsObjectBackend(dir);
      const pending = await backend.create();
      await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
      assert.deepEqual(backend.listStorageIds(), [pending.storageId]);
      await pending.abort();
      assert.deepEqual(backend.listStorageIds(), []);
      const broken = await backend.create();
      broken.stream.on('error', () => undefined);
      broken.stream.destroy(new Error('client went away'));
      await assert.rejects(broken.commit(), /client went away/);
      await broken.abort();
      assert.deepEqual(backend.listStorageIds(), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the stream finishes only after an fsync of the directory that started after the file was created, and after the file\'s fdatasync', async (t) => {
    // kill -9 keeps the page cache, so the crash tests cannot see a missing directory fsync;
    // node:fs is watched instead (syncBuiltinESMExports carries the wrappers into the ESM imports).
    const require = createRequire(import.meta.url);
    const fs = require('node:fs') as typeof import('node:fs');
    const original = { fsync: fs.fsync, fdatasync: fs.fdatasync, open: fs.open };
    const events: string[] = [];
    const watch = (name: string, fn: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void) =>
      ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
        events.push(`${name} started`);
        fn(fd, (err) => {
          events.push(`${name} done`);
          cb(err);
        });
      }) as never;
    fs.fsync = watch('fsync', original.fsync);
    fs.fdatasync = watch('fdatasync', original.fdatasync);
    fs.open = ((...args: unknown[]) => {
      const cb = args.pop() as (err: unknown, fd: number) => void;
      const isBody = typeof args[1] === 'string' && args[1] === 'wx';
      (original.open as (...a: unknown[]) => void)(...args, (err: unknown, fd: number) => {
        if (isBody) events.push('created');
        cb(err, fd);
      });
    }) as never;
    syncBuiltinESMExports();
    t.after(() => {
      Object.assign(fs, original);
      syncBuiltinESMExports();
    });
    const backend = new FsObjectBackend(root);
    const pending = await backend.create();
    await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    events.push('finished');
    await pending.commit();
    events.push('committed');
    const created = events.indexOf('created');
    assert.ok(created >= 0, events.join(', '));
    const started = events.indexOf('fsync started', created);
    assert.ok(started > created, `a directory fsync after the creation: ${events.join(', ')}`);
    const done = events.indexOf('fsync done', started);
    const finished = events.indexOf('finished');
    assert.ok(done > started && done < finished, `that fsync completed before the stream finished: ${events.join(', ')}`);
    const synced = events.indexOf('fdatasync done');
    assert.ok(synced > 0 && synced < finished, `the body's fdatasync completed before it finished: ${events.join(', ')}`);
    assert.ok(finished < events.indexOf('committed'));
  });

  it("a body in a new fan-out directory finishes only after an fsync of data/ (the directory's own name) that started after the directory existed", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-fanout-'));
    const require = createRequire(import.meta.url);
    const fs = require('node:fs') as typeof import('node:fs');
    const original = { fsync: fs.fsync, open: fs.open, mkdirSync: fs.mkdirSync };
    const events: string[] = [];
    const paths = new Map<number, string>();
    fs.mkdirSync = ((path: string, options?: unknown) => {
      const made = (original.mkdirSync as (p: string, o?: unknown) => string | undefined)(path, options);
      events.push(`mkdir ${path}`);
      return made;
    }) as never;
    fs.open = ((...args: unknown[]) => {
      const cb = args.pop() as (err: unknown, fd: number) => void;
      const path = String(args[0]);
      (original.open as (...a: unknown[]) => void)(...args, (err: unknown, fd: number) => {
        if (err === null) paths.set(fd, path);
        cb(err, fd);
      });
    }) as never;
    fs.fsync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      const path = paths.get(fd) ?? '?';
      events.push(`fsync ${path} started`);
      original.fsync(fd, (err) => {
        events.push(`fsync ${path} done`);
        cb(err);
      });
    }) as never;
    syncBuiltinESMExports();
    t.after(() => {
      Object.assign(fs, original);
      syncBuiltinESMExports();
      rmSync(dir, { recursive: true, force: true });
    });
    const backend = new FsObjectBackend(dir);
    const data = join(dir, 'data');
    assert.deepEqual(readdirSync(data), []);
    const pending = await backend.create();
    assert.deepEqual(readdirSync(data), [pending.storageId.slice(0, 2)]);
    await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    events.push('finished');
    await pending.commit();
    const made = events.indexOf(`mkdir ${join(data, pending.storageId.slice(0, 2))}`);
    assert.ok(made >= 0, events.join(', '));
    const started = events.indexOf(`fsync ${data} started`, made);
    assert.ok(started > made, `an fsync of data/ after the fan-out directory was made: ${events.join(', ')}`);
    const done = events.indexOf(`fsync ${data} done`);
    assert.ok(done > started && done < events.indexOf('finished'), `data/'s fsync completed before the body finished: ${events.join(', ')}`);
  });

  it('abort of a body whose file could not be created (its id already taken) leaves the existing file alone', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-taken-'));
    const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    const original = crypto.randomUUID;
    const fixed = original();
    crypto.randomUUID = (() => fixed) as typeof crypto.randomUUID;
    syncBuiltinESMExports();
    t.after(() => {
      crypto.randomUUID = original;
      syncBuiltinESMExports();
      rmSync(dir, { recursive: true, force: true });
    });
    const backend = new FsObjectBackend(dir);
    const first = await backend.create();
    await new Promise<void>((resolve, reject) => first.stream.end(Buffer.from('first'), () => resolve()).once('error', reject));
    await first.commit();
    // The same second and the same random part: the same storage id (ids never collide in practice).
    let second = await backend.create();
    for (let i = 0; i < 5 && second.storageId !== first.storageId; i++) {
      await second.abort(); // a second boundary passed: another fan-out directory
      second = await backend.create();
    }
    assert.equal(second.storageId, first.storageId);
    second.stream.on('error', () => undefined);
    await assert.rejects(second.commit(), { code: 'EEXIST' });
    await second.abort();
    assert.equal(readFileSync(join(dir, 'data', first.storageId.slice(0, 2), first.storageId), 'utf8'), 'first');
  });
});
