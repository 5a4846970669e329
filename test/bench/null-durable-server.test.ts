import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { encryptedSize } from '../../src/crypto/index.js';
import { spawnBenchServer, stopBenchServer } from './bench-child.js';

// The durable null endpoints of s3-bench's ceiling rows (bench/null-durable-server.ts), as the
// bench runs them: a process per mode over its own data dir, driven over HTTP.
const SERVER = fileURLToPath(new URL('../../bench/null-durable-server.ts', import.meta.url));

interface Running {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly url: string;
}

async function start(mode: 'fsync' | 'sealed'): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), `null-durable-test-${mode}-`));
  const { child, port } = await spawnBenchServer(SERVER, [mode, dir]);
  return { child, dir, url: `http://127.0.0.1:${port}` };
}

async function stop(r: Running): Promise<void> {
  await stopBenchServer(r.child);
  rmSync(r.dir, { recursive: true, force: true });
}

/** The stored file of `path` (the server names it by the path's SHA-256). */
const fileOf = (r: Running, path: string): string => join(r.dir, createHash('sha256').update(path).digest('hex'));

async function put(r: Running, path: string, body: Buffer): Promise<number> {
  const res = await fetch(r.url + path, { method: 'PUT', body });
  await res.arrayBuffer();
  return res.status;
}

/** The whole body of a 200 GET; rejects on any other status or a cut body. */
async function get(r: Running, path: string): Promise<Buffer> {
  const res = await fetch(r.url + path);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  return body;
}

/**
 * A GET refused by cutting the connection, as the server refuses a segment whose tag fails:
 * before the head went out (it is sent with the first verified bytes) or mid-body after a 200
 * head, never completed. An error status fails this, and so does a server that died (the next
 * request is refused): the callers GET a good object afterwards.
 */
async function assertGetCut(r: Running, path: string): Promise<void> {
  const res = await fetch(r.url + path).catch(() => undefined);
  if (res === undefined) return;
  assert.equal(res.status, 200);
  await assert.rejects(res.arrayBuffer());
}

/** The files under the data dir the server process holds open (Linux; empty where /proc is missing). */
function openDataFiles(r: Running): string[] {
  const fds = `/proc/${r.child.pid}/fd`;
  if (!existsSync(fds)) return [];
  const targets = readdirSync(fds).map((fd) => {
    try {
      return readlinkSync(join(fds, fd));
    } catch {
      return '';
    }
  });
  return targets.filter((t) => t.startsWith(`${r.dir}/`));
}

describe('null-durable-server sealed', () => {
  let r: Running;
  before(async () => {
    r = await start('sealed');
  });
  after(() => stop(r));

  it('stores only ciphertext of the format size and GETs the plaintext back', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 5);
    assert.equal(await put(r, '/bench/a', body), 200);
    const stored = readFileSync(fileOf(r, '/bench/a'));
    assert.equal(stored.length, encryptedSize(body.length));
    assert.equal(stored.indexOf(body.subarray(0, 32)), -1);
    assert.deepEqual(await get(r, '/bench/a'), body);
    // Renamed into place: no temporary file is left behind.
    assert.deepEqual(readdirSync(r.dir).filter((n) => n.startsWith('.tmp-')), []);
  });

  it('round-trips an empty object and answers 404 for a path never PUT', async () => {
    assert.equal(await put(r, '/bench/empty', Buffer.alloc(0)), 200);
    assert.equal((await get(r, '/bench/empty')).length, 0);
    const res = await fetch(`${r.url}/bench/never`);
    await res.arrayBuffer();
    assert.equal(res.status, 404);
  });

  it('refuses a tampered object, in the first segment or a later one', async () => {
    const body = randomBytes(512 * 1024);
    for (const at of [100, 300 * 1024]) {
      const path = `/bench/tamper-${at}`;
      assert.equal(await put(r, path, body), 200);
      const stored = readFileSync(fileOf(r, path));
      stored[at] = stored[at]! ^ 1;
      writeFileSync(fileOf(r, path), stored);
      await assertGetCut(r, path);
    }
    // Still serving, and no refused object's file left open.
    assert.equal(await put(r, '/bench/after-tamper', body), 200);
    assert.deepEqual(await get(r, '/bench/after-tamper'), body);
    assert.deepEqual(openDataFiles(r), []);
  });

  it('refuses an object moved to another path (the path is bound as additional data)', async () => {
    assert.equal(await put(r, '/bench/from', randomBytes(1000)), 200);
    assert.equal(await put(r, '/bench/to', randomBytes(1000)), 200);
    copyFileSync(fileOf(r, '/bench/from'), fileOf(r, '/bench/to'));
    await assertGetCut(r, '/bench/to');
    assert.equal((await get(r, '/bench/from')).length, 1000);
  });
});

describe('null-durable-server fsync', () => {
  let r: Running;
  before(async () => {
    r = await start('fsync');
  });
  after(() => stop(r));

  it('stores the body as it is, replaces it on a second PUT and GETs it back', async () => {
    const first = randomBytes(2 * 1024 * 1024);
    const second = randomBytes(4096);
    assert.equal(await put(r, '/bench/p', first), 200);
    assert.deepEqual(readFileSync(fileOf(r, '/bench/p')), first);
    assert.equal(await put(r, '/bench/p', second), 200);
    assert.deepEqual(await get(r, '/bench/p'), second);
    assert.deepEqual(readdirSync(r.dir).filter((n) => n.startsWith('.tmp-')), []);
  });
});
