import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killServer, listAll, sha, spawnServer, type Server } from './crash-server.js';
import { signedFetch } from './raw-sign.js';

/** What the load generator knows about one key: the hash last acknowledged, and one still in flight. */
interface KeyState {
  acked?: string;
  inFlight?: string;
}

/**
 * kill -9 during concurrent PUTs (SSE-S3 and SSE-KMS, new keys and overwrites), restart on
 * the same data directory: every acknowledged object reads back identical, and everything
 * listed is a complete object that some request wrote.
 */
describe('S3 crash safety (kill -9 under load)', () => {
  let dir: string;
  let server: Server | undefined;
  const keys = new Map<string, KeyState>();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cipherlake-crash-'));
    // No NBD listener: its fixed default port would collide with parallel test servers.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ nbd: { enabled: false } }));
  });
  after(async () => {
    await killServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('every acknowledged PUT survives; nothing partial is listed or read', async () => {
    const data = join(dir, 'data');
    const config = join(dir, 'config.json');
    server = await spawnServer(data, config);
    const first = server;
    assert.equal((await signedFetch(first.endpoint, { method: 'PUT', path: '/crash' })).status, 200);

    let stop = false;
    let acked = 0;
    const worker = async (w: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        // Every fourth write overwrites one of this worker's earlier keys.
        const key = n % 4 === 3 ? `w${w}/k${n - 3}` : `w${w}/k${n}`;
        const body = randomBytes(1024 + ((n * 7919 + w * 104_729) % 200_000));
        const state = keys.get(key) ?? {};
        keys.set(key, state);
        state.inFlight = sha(body);
        const sse = n % 2 === 0 ? 'AES256' : 'aws:kms';
        let res: Response;
        try {
          res = await signedFetch(first.endpoint, { method: 'PUT', path: `/crash/${key}`, headers: { 'x-amz-content-sha256': sha(body), 'x-amz-server-side-encryption': sse }, body });
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
    const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    while (acked < 150) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    stop = true;
    await first.exited;
    await load;

    server = await spawnServer(data, config);
    const second = server;
    for (const [key, state] of keys) {
      const res = await signedFetch(second.endpoint, { method: 'GET', path: `/crash/${key}` });
      const body = Buffer.from(await res.arrayBuffer());
      if (state.acked === undefined) {
        // Never acknowledged: absent, or complete with the bytes that were sent.
        assert.ok(res.status === 404 || (res.status === 200 && sha(body) === state.inFlight), `${key}: ${res.status}`);
        continue;
      }
      assert.equal(res.status, 200, key);
      const got = sha(body);
      assert.ok(got === state.acked || got === state.inFlight, `${key} reads back what was written`);
    }

    const listed = await listAll(second.endpoint, 'crash');
    for (const [key, size] of listed) {
      assert.ok(keys.has(key), `${key} listed but never written`);
      const res = await signedFetch(second.endpoint, { method: 'GET', path: `/crash/${key}` });
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200);
      assert.equal(body.length, size, `${key}: listed size is the full object`);
    }
    const ackedKeys = [...keys].filter(([, s]) => s.acked !== undefined).map(([k]) => k);
    assert.ok(ackedKeys.every((k) => listed.has(k)), 'every acknowledged key is listed');
    assert.ok(ackedKeys.length >= 100);
  });
});
