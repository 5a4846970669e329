import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FsObjectBackend } from './fs-object-backend.js';

type Hooks = { after: (fn: () => void) => void };
type SyncCallback = (err: NodeJS.ErrnoException | null) => void;
const require = createRequire(import.meta.url);
const fs = require('node:fs') as typeof import('node:fs');

/**
 * Replaces functions of a node builtin (from `require`) for the test; `patch` gets the real ones.
 * syncBuiltinESMExports carries the wrappers into the ESM imports. Restored after the test.
 */
function patchBuiltin<M extends object>(t: Hooks, module: M, patch: (original: M) => Partial<M>): void {
  const replacements = patch({ ...module });
  const original = Object.fromEntries(Object.keys(replacements).map((k) => [k, module[k as keyof M]])) as Partial<M>;
  Object.assign(module, replacements);
  syncBuiltinESMExports();
  t.after(() => {
    Object.assign(module, original);
    syncBuiltinESMExports();
  });
}

/**
 * Watches node:fs for the test: kill -9 keeps the page cache, so the crash tests cannot see a
 * missing fsync. Returns the events: `mkdir <path>`, `fsync <path> started<note(path)>`,
 * `fsync <path> done` (the path the fd was opened on), `fdatasync started`, `fdatasync done`,
 * and `durable write done` for a write on a descriptor opened with O_DSYNC (durable on return).
 */
function watchFs(t: Hooks, note: (path: string) => string = () => ''): string[] {
  const events: string[] = [];
  const paths = new Map<number, string>();
  const dsync = new Set<number>();
  patchBuiltin(t, fs, (original) => ({
    mkdirSync: ((path: string, options?: unknown) => {
      const made = (original.mkdirSync as (p: string, o?: unknown) => string | undefined)(path, options);
      events.push(`mkdir ${path}`);
      return made;
    }) as never,
    open: ((...args: unknown[]) => {
      const cb = args.pop() as (err: unknown, fd: number) => void;
      const path = String(args[0]);
      const flags = args[1];
      (original.open as (...a: unknown[]) => void)(...args, (err: unknown, fd: number) => {
        if (err === null) paths.set(fd, path);
        if (err === null && typeof flags === 'number' && (flags & fs.constants.O_DSYNC) !== 0) dsync.add(fd);
        else dsync.delete(fd);
        cb(err, fd);
      });
    }) as never,
    writev: ((fd: number, buffers: Buffer[], position: number, cb: (err: NodeJS.ErrnoException | null, n: number) => void) => {
      original.writev(fd, buffers, position, (err, n) => {
        if (err === null && dsync.has(fd)) events.push('durable write done');
        cb(err, n);
      });
    }) as never,
    fsync: ((fd: number, cb: SyncCallback) => {
      const path = paths.get(fd) ?? '?';
      events.push(`fsync ${path} started${note(path)}`);
      original.fsync(fd, (err) => {
        events.push(`fsync ${path} done`);
        cb(err);
      });
    }) as never,
    fdatasync: ((fd: number, cb: SyncCallback) => {
      events.push('fdatasync started');
      original.fdatasync(fd, (err) => {
        events.push('fdatasync done');
        cb(err);
      });
    }) as never,
  }));
  return events;
}

/** The paths this process has descriptors open on that lie under `dir` (from /proc/self/fd). */
function openUnder(dir: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target === dir || target.startsWith(`${dir}/`) ? [target] : [];
    } catch {
      return []; // closed since the listing (the listing's own descriptor among them)
    }
  });
}

describe('FsObjectBackend', () => {
  const root = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('close() closes the directory descriptors it kept for fsyncs; a later write opens them again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-close-'));
    try {
      const backend = new FsObjectBackend(dir);
      const commitOne = async (): Promise<string> => {
        const pending = await backend.create();
        await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
        await pending.commit();
        return join(dir, 'data', pending.storageId.slice(0, 2));
      };
      const fanOut = await commitOne();
      // Kept open after its fsync (the next PUT's fsync saves an open and a close), as is data/'s.
      assert.deepEqual(openUnder(dir).sort(), [join(dir, 'data'), fanOut].sort());
      await backend.close();
      assert.deepEqual(openUnder(dir), []);
      await commitOne();
      assert.ok(openUnder(dir).length > 0, 'a write after close opens its directory again');
      await backend.close();
      assert.deepEqual(openUnder(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('close() waits for a directory fsync in flight before closing its descriptor', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-close-busy-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const held: Array<() => void> = [];
    patchBuiltin(t, fs, (original) => ({
      fsync: ((fd: number, cb: SyncCallback) => void held.push(() => original.fsync(fd, cb))) as typeof fs.fsync,
    }));
    const backend = new FsObjectBackend(dir);
    const pending = await backend.create();
    await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    const committing = pending.commit();
    while (held.length < 2) await new Promise((resolve) => setImmediate(resolve)); // data/ and the fan-out directory
    let closed = false;
    const closing = backend.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(closed, false, 'close waits for the fsyncs in flight');
    assert.equal(openUnder(dir).length, 2, 'their descriptors stay open meanwhile');
    for (const release of held.splice(0)) release();
    await committing;
    await closing;
    assert.deepEqual(openUnder(dir), []);
  });

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

  it('a second backend on the same root (a cluster worker) does not disturb a body being written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-tmp-'));
    try {
      const first = new FsObjectBackend(dir);
      const pending = await first.create();
      await new Promise<void>((resolve, reject) => pending.stream.write(Buffer.from('sealed'), (err) => (err ? reject(err) : resolve())));
      // A cluster worker opens the same root without clearing tmp/ (only the primary clears
      // it, before forking: clearing it with a write in flight would remove that write).
      new FsObjectBackend(dir, { clearTmp: false });
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
      // Written and synced, but only under tmp/ until commit renames it into place.
      assert.deepEqual(readdirSync(join(dir, 'tmp')), [pending.storageId]);
      assert.deepEqual(backend.listStorageIds(), []);
      await pending.abort();
      assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
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

  it("the body is durable (fdatasync'd, or written on an O_DSYNC descriptor) before its stream finishes; commit renames it into place and resolves only after an fsync of its directory that started after the rename", async (t) => {
    let finalPath = '';
    const events = watchFs(t, (dir) => (finalPath !== '' && dir === dirname(finalPath) && existsSync(finalPath) ? ' (body in place)' : ''));
    const backend = new FsObjectBackend(root);
    const pending = await backend.create();
    finalPath = join(root, 'data', pending.storageId.slice(0, 2), pending.storageId);
    await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    events.push('finished');
    assert.equal(existsSync(finalPath), false, 'not in place before commit');
    await pending.commit();
    events.push('committed');
    assert.equal(readFileSync(finalPath, 'utf8'), 'sealed');
    // A body this small goes out in one write on the O_DSYNC descriptor, with no fdatasync.
    const synced = events.indexOf('durable write done');
    const finished = events.indexOf('finished');
    assert.ok(synced >= 0 && synced < finished, `the body's durable write completed before it finished: ${events.join(', ')}`);
    const started = events.indexOf(`fsync ${dirname(finalPath)} started (body in place)`, finished);
    assert.ok(started > finished, `an fsync of the directory after the rename: ${events.join(', ')}`);
    const done = events.indexOf(`fsync ${dirname(finalPath)} done`, started);
    assert.ok(done > started && done < events.indexOf('committed'), `that fsync completed before commit resolved: ${events.join(', ')}`);
  });

  it("a body committed into a new fan-out directory resolves only after an fsync of data/ (the directory's own name) that started after the directory existed", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-fanout-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const events = watchFs(t);
    const backend = new FsObjectBackend(dir);
    const data = join(dir, 'data');
    assert.deepEqual(readdirSync(data), []);
    const pending = await backend.create();
    await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    assert.deepEqual(readdirSync(data), [], 'the fan-out directory is made at commit');
    await pending.commit();
    events.push('committed');
    assert.deepEqual(readdirSync(data), [pending.storageId.slice(0, 2)]);
    const made = events.indexOf(`mkdir ${join(data, pending.storageId.slice(0, 2))}`);
    assert.ok(made >= 0, events.join(', '));
    const started = events.indexOf(`fsync ${data} started`, made);
    assert.ok(started > made, `an fsync of data/ after the fan-out directory was made: ${events.join(', ')}`);
    const done = events.indexOf(`fsync ${data} done`);
    assert.ok(done > started && done < events.indexOf('committed'), `data/'s fsync completed before commit resolved: ${events.join(', ')}`);
  });

  it('abort after a commit that failed past its rename (the directory fsync failed) removes the body from data/', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-dirsync-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    patchBuiltin(t, fs, (original) => ({
      fsync: ((fd: number, cb: SyncCallback) => {
        original.fsync(fd, () => cb(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })));
      }) as typeof fs.fsync,
    }));
    const backend = new FsObjectBackend(dir);
    const pending = await backend.create();
    await new Promise<void>((resolve, reject) => pending.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    await assert.rejects(pending.commit(), { code: 'EIO' });
    assert.deepEqual(backend.listStorageIds(), [pending.storageId], 'renamed into place before the fsync failed');
    await pending.abort();
    assert.deepEqual(backend.listStorageIds(), []);
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  });

  it('abort of a body whose file could not be created (its id already taken by a write in flight) leaves that write alone', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-taken-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const crypto = require('node:crypto') as typeof import('node:crypto');
    const fixed = crypto.randomUUID();
    patchBuiltin(t, crypto, () => ({ randomUUID: (() => fixed) as typeof crypto.randomUUID }));
    const backend = new FsObjectBackend(dir);
    const first = await backend.create();
    await new Promise<void>((resolve, reject) => first.stream.write(Buffer.from('fir'), (err) => (err ? reject(err) : resolve())));
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
    await new Promise<void>((resolve, reject) => first.stream.end(Buffer.from('st'), () => resolve()).once('error', reject));
    await first.commit();
    assert.equal(readFileSync(join(dir, 'data', first.storageId.slice(0, 2), first.storageId), 'utf8'), 'first');
  });
});
