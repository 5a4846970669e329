import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULT_MAX_CONNECTIONS, loadConfig } from '../../src/config/config.js';
import { serverFixture } from '../helpers/server-process.js';
import { until } from '../helpers/until.js';
import { HealthConnection } from '../net/health-connection.js';

describe('maxConnections setting: flag over environment over config file over the default', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cipherlake-maxconn-'));
    file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ maxConnections: 300 }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes each source in its order', () => {
    assert.equal(loadConfig({ dataDir: dir }, {}).maxConnections, DEFAULT_MAX_CONNECTIONS);
    assert.equal(DEFAULT_MAX_CONNECTIONS, 4096);
    assert.equal(loadConfig({ dataDir: dir, config: file }, {}).maxConnections, 300);
    assert.equal(loadConfig({ dataDir: dir, config: file }, { CIPHERLAKE_MAX_CONNECTIONS: '200' }).maxConnections, 200);
    assert.equal(loadConfig({ dataDir: dir, config: file, maxConnections: 100 }, { CIPHERLAKE_MAX_CONNECTIONS: '200' }).maxConnections, 100);
  });

  it('refuses what is not an integer from 1 to 1 000 000', () => {
    for (const bad of ['0', '-1', '1.5', 'many', '1000001']) {
      assert.throws(() => loadConfig({ dataDir: dir }, { CIPHERLAKE_MAX_CONNECTIONS: bad }), ConfigError, bad);
    }
    for (const bad of [0, 2.5, '10', 1_000_001]) {
      const path = join(dir, 'bad.json');
      writeFileSync(path, JSON.stringify({ maxConnections: bad }));
      assert.throws(() => loadConfig({ dataDir: dir, config: path }, {}), /maxConnections/, String(bad));
    }
    assert.throws(() => loadConfig({ dataDir: dir, maxConnections: 0 }, {}), ConfigError);
    assert.equal(loadConfig({ dataDir: dir, maxConnections: 1_000_000 }, {}).maxConnections, 1_000_000);
  });
});

describe('cipherlake server --max-connections', () => {
  const fixture = serverFixture('cipherlake-maxconn-server-');

  it('a server started with --max-connections 2 serves two held connections and closes a third at once', async () => {
    const running = await fixture.spawn({ dataDir: fixture.dir(), args: ['--max-connections', '2'] });
    const held = [new HealthConnection(running.endpoint), new HealthConnection(running.endpoint)];
    try {
      for (const c of held) assert.equal(await c.ask(), 200);
      const third = new HealthConnection(running.endpoint);
      await until(() => third.closed, 'the third connection closed');
      for (const c of held) assert.equal(await c.ask(), 200);
    } finally {
      for (const c of held) c.destroy();
    }
  });

  it('with --workers 2, a connection over a full worker is closed at once, not handed from worker to worker', { timeout: 60_000 }, async () => {
    // node:cluster's round-robin would pass a connection a worker refused to the other worker,
    // and back, while both are full: it would hang. Which worker gets which connection is
    // node's choice, so connections are opened until one is closed: with two workers of one
    // connection each, the third at the latest.
    const running = await fixture.spawn({ dataDir: join(fixture.dir(), 'cluster'), args: ['--workers', '2', '--max-connections', '1'], timeoutMs: 25_000 });
    const held: HealthConnection[] = [];
    try {
      let refused = false;
      while (!refused) {
        assert.ok(held.length < 3, 'a connection over the limit was closed');
        const c = new HealthConnection(running.endpoint);
        held.push(c);
        const answer = await c.ask().catch((err: Error) => err.message);
        refused = answer !== 200;
        if (refused) assert.ok(c.closed, `connection ${held.length} was closed, not left hanging: ${answer}`);
      }
      for (const c of held.slice(0, -1)) assert.equal(await c.ask(), 200, 'the connections within the limit are still served');
    } finally {
      for (const c of held) c.destroy();
    }
  });

  it('refuses to start with a value that is not a number', async () => {
    await assert.rejects(fixture.spawn({ dataDir: fixture.dir(), args: ['--max-connections', 'lots'], timeoutMs: 15_000 }), /--max-connections must be an integer/);
  });
});
