import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../common/clock.js';
import type { KeyService } from '../kms/index.js';
import { createEdgeHandler, type EdgeDeps } from './edge-router.js';

const AUTH = `AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260102/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`;

describe('createEdgeHandler: a failure while routing, before any service answers', () => {
  const logged: Array<{ msg?: string }> = [];
  let mode: 'throw' | 'reject' = 'throw';
  let server: Server;
  let port: number;

  before(async () => {
    const log = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg?: string }) });
    const deps = {
      keys: {} as KeyService,
      // find throws synchronously (handle is not async: it must not escape into node:http);
      // prepare rejects (the asynchronous path).
      credentials: {
        find: () => {
          if (mode === 'throw') throw new Error('find failed');
          return undefined;
        },
        prepare: () => Promise.reject(new Error('prepare failed')),
      },
      region: 'us-east-1',
      clock: systemClock,
      log,
      authorizeKms: () => undefined,
      health: async () => ({ ok: true, detail: {} }),
    } as unknown as EdgeDeps;
    server = createServer(createEdgeHandler(deps));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  function post(authorization = AUTH): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { authorization, 'x-amz-date': '20260102T030405Z', 'x-amz-target': 'TrentService.Encrypt' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end('{}');
    });
  }

  for (const m of ['throw', 'reject'] as const) {
    it(`a ${m === 'throw' ? 'synchronous throw' : 'rejection'} is answered 500 InternalFailure and logged`, { timeout: 5000 }, async () => {
      mode = m;
      const before = logged.length;
      assert.deepEqual(await post(), { status: 500, body: '{"__type":"InternalFailure"}' });
      assert.deepEqual(logged.slice(before).map((l) => l.msg), ['unhandled edge error']);
    });
  }

  it('a scope for another region is refused without loading the credential (prepare, which rejects here, is not called)', { timeout: 5000 }, async () => {
    mode = 'reject';
    const before = logged.length;
    const got = await post(AUTH.replace('/us-east-1/', '/eu-west-1/'));
    assert.equal(got.status, 400);
    assert.equal((JSON.parse(got.body) as { __type?: string }).__type, 'InvalidSignatureException');
    assert.deepEqual(logged.slice(before), []);
  });
});
