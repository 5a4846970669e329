import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';
import { HealthConnection } from './health-connection.js';

describe('maxConnections: connection N+1 is closed at once, the first N are served, and a freed slot is reused', () => {
  const CAP = 3;
  let t: TestServer;
  let ca: string;
  const open: HealthConnection[] = [];
  before(async () => {
    t = await startTestServer({ maxConnections: CAP, https: { enabled: true, host: '127.0.0.1', port: 0 } });
    ca = readFileSync(join(t.dataDir, 'tls', 'ca', 'ca.crt'), 'utf8');
  });
  after(async () => {
    for (const c of open) c.destroy();
    await t.close();
  });

  for (const scheme of ['http', 'https'] as const) {
    it(`over ${scheme}`, async () => {
      const url = scheme === 'http' ? t.endpoint : (t.httpsEndpoint ?? '');
      const connect = (): HealthConnection => {
        const c = new HealthConnection(url, ca);
        open.push(c);
        return c;
      };
      // An answered request proves the server accepted (and counts) each of the first N.
      const first = Array.from({ length: CAP }, connect);
      for (const c of first) assert.equal(await c.ask(), 200);
      const extra = connect();
      await until(() => extra.closed, 'the connection over the cap closed');
      await assert.rejects(extra.ask(), /closed without an answer/);
      for (const c of first) assert.equal(await c.ask(), 200, 'the first N are still served');
      // One of them leaves: once the server saw it go, a new connection is served again.
      first[0]!.destroy();
      let status: number | undefined;
      for (let attempt = 1; status === undefined; attempt++) {
        assert.ok(attempt <= 200, 'a new connection served after one of the first N left');
        status = await connect().ask().catch(() => undefined);
        if (status === undefined) await delay(20);
      }
      assert.equal(status, 200);
      for (const c of first.slice(1)) assert.equal(await c.ask(), 200);
    });
  }
});
