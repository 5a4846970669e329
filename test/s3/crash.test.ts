import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertPutsSurvived, crashFixture, listAll, startPutLoad } from './crash-server.js';
import { signedFetch } from './raw-sign.js';

/**
 * kill -9 during concurrent PUTs (SSE-S3 and SSE-KMS, new keys and overwrites), restart on
 * the same data directory: every acknowledged object reads back identical, and everything
 * listed is a complete object that some request wrote.
 */
describe('S3 crash safety (kill -9 under load)', () => {
  const fx = crashFixture('cipherlake-crash-');

  it('every acknowledged PUT survives; nothing partial is listed or read', async () => {
    const first = await fx.spawn();
    assert.equal((await signedFetch(first.endpoint, { method: 'PUT', path: '/crash' })).status, 200);

    const load = startPutLoad(first.endpoint, 'crash', 8);
    while (load.acked() < 150) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    load.stop();
    await first.exited;
    await load.done;

    const second = await fx.spawn();
    const keys = load.keys;
    await assertPutsSurvived(second.endpoint, 'crash', keys);

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
