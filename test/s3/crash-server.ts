import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { killServer, spawnServer as spawnServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { signedFetch } from './raw-sign.js';

/** A `cipherlake server` child process and where it listens. */
export type Server = ServerProcess;

/** Spawns `cipherlake server -c configFile` on `dataDir` with the test credentials (see test/helpers/server-process.ts). */
export function spawnServer(dataDir: string, configFile: string): Promise<Server> {
  return spawnServerProcess({ dataDir, args: ['-c', configFile] });
}

export { killServer };

/**
 * A crash test's directory and servers, with hooks registered in the calling suite: before()
 * makes a temporary directory (named from `prefix`) holding config.json with no NBD listener
 * (its fixed default port would collide with parallel test servers); after() kills the server
 * spawn() started last and removes the directory. spawn() starts `cipherlake server` on the
 * same data directory every time, so a second call is a restart after a crash.
 */
export function crashFixture(prefix: string): { spawn(): Promise<Server> } {
  let dir = '';
  let server: Server | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ nbd: { enabled: false } }));
  });
  after(async () => {
    await killServer(server);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    async spawn() {
      server = await spawnServer(join(dir, 'data'), join(dir, 'config.json'));
      return server;
    },
  };
}

/** SHA-256 hex of the bytes. */
export const sha = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every key ListObjectsV2 lists in `bucket` (following continuation tokens), with its listed size. */
export async function listAll(endpoint: string, bucket: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let token: string | undefined;
  do {
    const query: Record<string, string> = { 'list-type': '2', ...(token !== undefined ? { 'continuation-token': token } : {}) };
    const xml = await (await signedFetch(endpoint, { method: 'GET', path: `/${bucket}`, query })).text();
    for (const m of xml.matchAll(/<Contents>.*?<Key>([^<]*)<\/Key>.*?<Size>(\d+)<\/Size>.*?<\/Contents>/gs)) found.set(m[1]!, Number(m[2]));
    token = /<NextContinuationToken>([^<]*)</.exec(xml)?.[1];
  } while (token !== undefined);
  return found;
}

/** What the load generator knows about one key: the hash last acknowledged, and one still in flight. */
export interface KeyState {
  acked?: string;
  inFlight?: string;
}

/** A running PUT load against one server (see startPutLoad). */
export interface PutLoad {
  /** Every key written so far, with what was acknowledged and what is still in flight. */
  readonly keys: Map<string, KeyState>;
  /** How many PUTs were answered 200 so far. */
  acked(): number;
  /** Asks the workers to stop after their current request. */
  stop(): void;
  /** Settles once every worker stopped (asked to, or its server is gone); rejects on a non-200 answer. */
  readonly done: Promise<void>;
}

/**
 * Starts `workers` PUT loops on `bucket` (SSE-S3 and SSE-KMS alternately, bodies 1 KiB–200 KiB,
 * every fourth write overwriting one of the worker's earlier keys). A request that fails at the
 * transport ends its worker and keeps its hash as in flight: that write's fate is unknown.
 */
export function startPutLoad(endpoint: string, bucket: string, workers: number): PutLoad {
  const keys = new Map<string, KeyState>();
  let stop = false;
  let acked = 0;
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; !stop; n++) {
      const key = n % 4 === 3 ? `w${w}/k${n - 3}` : `w${w}/k${n}`;
      const body = randomBytes(1024 + ((n * 7919 + w * 104_729) % 200_000));
      const state = keys.get(key) ?? {};
      keys.set(key, state);
      state.inFlight = sha(body);
      let res: Response;
      try {
        res = await signedFetch(endpoint, { method: 'PUT', path: `/${bucket}/${key}`, headers: { 'x-amz-content-sha256': sha(body), 'x-amz-server-side-encryption': n % 2 === 0 ? 'AES256' : 'aws:kms' }, body });
        await res.arrayBuffer();
      } catch {
        return; // the server is gone; this write's fate is unknown (inFlight keeps it)
      }
      assert.equal(res.status, 200);
      state.acked = state.inFlight;
      delete state.inFlight;
      acked++;
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w))).then(() => undefined);
  return { keys, acked: () => acked, stop: () => { stop = true; }, done };
}

/**
 * Asserts, after a restart, that every key of the load reads back as written: an acknowledged
 * key holds the acknowledged or the later in-flight bytes; a never-acknowledged key is absent
 * or holds exactly the bytes sent. Throws an AssertionError naming the first key that does not.
 */
export async function assertPutsSurvived(endpoint: string, bucket: string, keys: ReadonlyMap<string, KeyState>): Promise<void> {
  assert.ok(keys.size > 0, 'the load wrote something to check');
  for (const [key, state] of keys) {
    const res = await signedFetch(endpoint, { method: 'GET', path: `/${bucket}/${key}` });
    const got = sha(Buffer.from(await res.arrayBuffer()));
    if (state.acked === undefined) {
      assert.ok(res.status === 404 || (res.status === 200 && got === state.inFlight), `${key}: ${res.status}`);
      continue;
    }
    assert.equal(res.status, 200, key);
    assert.ok(got === state.acked || got === state.inFlight, `${key} reads back what was written`);
  }
}
