import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BatchingFileSink } from './batching-file-sink.js';

// The sink's node:fs calls, watched through the CommonJS fs object (syncBuiltinESMExports
// carries the wrappers into the ESM bindings the sink imported): which descriptor has I/O
// outstanding when it is closed. A descriptor closed under a pending write may be reused by
// the next open, and the write then lands in another file.
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
type Callback = (...args: unknown[]) => void;

describe('BatchingFileSink: never closes its descriptor under pending I/O', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-sink-io-'));
  const outstanding = new Map<number, number>();
  const closedUnderIo: string[] = [];
  const ioAfterClose: string[] = [];
  const closed = new Set<number>();
  // Calls the watch saw: without them the checks below would pass with nothing watched.
  const seen = { writev: 0, writesDone: 0, close: 0, syncsDone: 0 };
  /** The opens the sink made, and whether each asked for O_DSYNC. */
  const opened: Array<{ path: string; dsync: boolean }> = [];
  const original = { writev: fs.writev, fdatasync: fs.fdatasync, close: fs.close, closeSync: fs.closeSync, open: fs.open };

  const track = (name: string, fn: (...args: never[]) => void) =>
    ((fd: number, ...rest: unknown[]) => {
      if (closed.has(fd)) ioAfterClose.push(`${name} on ${fd}`);
      if (name === 'writev') seen.writev += 1;
      outstanding.set(fd, (outstanding.get(fd) ?? 0) + 1);
      const cb = rest.pop() as Callback;
      (fn as (...a: unknown[]) => void)(fd, ...rest, (...res: unknown[]) => {
        outstanding.set(fd, outstanding.get(fd)! - 1);
        if (name === 'fdatasync') seen.syncsDone += 1;
        if (name === 'writev') seen.writesDone += 1;
        cb(...res);
      });
    }) as never;

  before(() => {
    fs.writev = track('writev', original.writev);
    fs.fdatasync = track('fdatasync', original.fdatasync);
    fs.close = ((fd: number, cb: Callback) => {
      if ((outstanding.get(fd) ?? 0) > 0) closedUnderIo.push(`close of ${fd}`);
      seen.close += 1;
      closed.add(fd);
      original.close(fd, cb as never);
    }) as never;
    // The sink closes synchronously; watched the same way.
    fs.closeSync = ((fd: number) => {
      if ((outstanding.get(fd) ?? 0) > 0) closedUnderIo.push(`close of ${fd}`);
      seen.close += 1;
      closed.add(fd);
      original.closeSync(fd);
    }) as never;
    fs.open = ((...args: unknown[]) => {
      const cb = args.pop() as Callback;
      const flags = args[1];
      opened.push({ path: String(args[0]), dsync: typeof flags === 'number' && (flags & fs.constants.O_DSYNC) !== 0 });
      (original.open as (...a: unknown[]) => void)(...args, (err: unknown, fd: number) => {
        closed.delete(fd);
        cb(err, fd);
      });
    }) as never;
    syncBuiltinESMExports();
  });
  after(() => {
    Object.assign(fs, original);
    syncBuiltinESMExports();
    rmSync(dir, { recursive: true, force: true });
  });

  const reset = (): void => {
    closedUnderIo.length = 0;
    ioAfterClose.length = 0;
    seen.writev = 0;
    seen.close = 0;
    seen.syncsDone = 0;
    seen.writesDone = 0;
  };
  const assertWatched = (): void => {
    assert.ok(seen.writev > 0 && seen.close >= 5, `the watch saw the sink's I/O (${JSON.stringify(seen)})`);
  };

  it('destroyed while a full batch waits for the write in flight: that batch is never written and the close waits for the write', async () => {
    reset();
    for (let round = 0; round < 5; round++) {
      const sink = new BatchingFileSink(join(dir, `destroyed-${round}`), 0o600);
      // 1.5 MiB each (a batch holds a little over 1 MiB): the first fills a batch, which starts
      // its write, and begins the next; the second fills that one, which waits for the write.
      await new Promise<void>((resolve, reject) => sink.write(Buffer.alloc(1536 * 1024, 1), (err) => (err ? reject(err) : resolve())));
      sink.write(Buffer.alloc(1536 * 1024, 2), () => undefined);
      sink.destroy(new Error('client went away'));
      sink.on('error', () => undefined);
      await new Promise((resolve) => sink.once('close', resolve));
    }
    assert.deepEqual(closedUnderIo, []);
    assert.deepEqual(ioAfterClose, []);
    assertWatched();
  });

  it('destroyed while finishing: no sync or write after the close, none outstanding at it', async () => {
    reset();
    opened.length = 0;
    for (let round = 0; round < 6; round++) {
      const sink = new BatchingFileSink(join(dir, `finishing-${round}`), 0o600);
      // Even rounds fit one write (the O_DSYNC write at the end); odd ones batch, then fdatasync at the end.
      const first = round % 2 === 0 ? 1024 * 1024 : 2 * 1024 * 1024;
      await new Promise<void>((resolve, reject) => sink.write(Buffer.alloc(first, 1), (err) => (err ? reject(err) : resolve())));
      sink.end(Buffer.alloc(1000, 3));
      sink.on('error', () => undefined);
      // _final runs on a later tick: let it start, then pull the plug.
      await new Promise((resolve) => setImmediate(resolve));
      sink.destroy(new Error('aborted'));
      await new Promise((resolve) => sink.once('close', resolve));
    }
    assert.deepEqual(closedUnderIo, []);
    assert.deepEqual(ioAfterClose, []);
    assertWatched();
    // Both ways of finishing were exercised: the odd rounds' batches went to a descriptor reopened without O_DSYNC.
    const batched = opened.filter((o) => !o.dsync).map((o) => o.path);
    assert.deepEqual(batched, [1, 3, 5].map((round) => join(dir, `finishing-${round}`)));
  });

  it('finishes only once an fdatasync of the file has completed (kill -9 keeps the page cache: the crash tests cannot see a missing sync)', async () => {
    reset();
    const sink = new BatchingFileSink(join(dir, 'synced'), 0o600);
    let syncedAtFinish = -1;
    sink.once('finish', () => (syncedAtFinish = seen.syncsDone));
    await new Promise<void>((resolve, reject) => {
      sink.once('error', reject);
      sink.once('close', resolve);
      sink.end(Buffer.alloc(3 * 1024 * 1024, 4));
    });
    assert.ok(syncedAtFinish >= 1, `fdatasyncs completed at finish: ${syncedAtFinish}`);
    // Two closes: the O_DSYNC descriptor, closed unused once the body outgrew one write, and the one its batches went to.
    assert.ok(seen.writev > 0 && seen.close === 2, `the watch saw the sink's I/O (${JSON.stringify(seen)})`);
  });

  it('a body that fits one write goes out in one write on an O_DSYNC descriptor, with no fdatasync, and finishes only once that write returned', async () => {
    reset();
    opened.length = 0;
    const path = join(dir, 'one-write');
    const sink = new BatchingFileSink(path, 0o600);
    let writesAtFinish = -1;
    sink.once('finish', () => (writesAtFinish = seen.writesDone));
    // A 1 MiB object's sealed bytes: a header, then 16 segments and their 16-byte tags.
    const pieces = [Buffer.alloc(33, 1), ...Array.from({ length: 16 }, (_, i) => [Buffer.alloc(65_536, i), Buffer.alloc(16, 0xee)]).flat()];
    await new Promise<void>((resolve, reject) => {
      sink.once('error', reject);
      sink.once('close', resolve);
      for (const p of pieces) sink.write(p);
      sink.end();
    });
    assert.deepEqual(opened, [{ path, dsync: true }]);
    assert.equal(seen.writev, 1);
    assert.equal(seen.syncsDone, 0);
    assert.equal(writesAtFinish, 1, 'finished only once the write had returned');
    assert.ok(readFileSync(path).equals(Buffer.concat(pieces)));
  });
});
