import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { ConfigError, loadConfig, type CipherlakeConfig } from '../../src/config/config.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PLAIN = 'vpce-0a1b2c3d4e5f60718';
const SECURE = 'vpce-0f1e2d3c4b5a69788';

const ENDPOINT_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' }],
});

const ENDPOINTS: Partial<CipherlakeConfig> = {
  endpoints: [
    { id: PLAIN, host: '127.0.0.2', port: 0, tls: false, policy: ENDPOINT_POLICY },
    { id: SECURE, host: '127.0.0.3', port: 0, tls: true },
  ],
};

/** The newest audit record of `eventName`. */
async function lastEvent(t: TestServer, eventName: string): Promise<{ vpcEndpointId?: string; tlsDetails?: { tlsVersion: string } }> {
  const { records } = await t.server.auditStore.lookup({ eventName, limit: 1 });
  assert.ok(records[0] !== undefined, `an audit record for ${eventName}`);
  return records[0].event;
}

describe('private endpoints', () => {
  let t: TestServer;
  let caPem: string;

  before(async () => {
    t = await startTestServer(ENDPOINTS);
    caPem = readFileSync(join(t.dataDir, 'tls', 'ca', 'ca.crt'), 'utf8');
  });
  after(async () => {
    await t.close();
  });

  it('listens on each endpoint’s own address', () => {
    assert.match(t.endpoints[PLAIN] ?? '', /^http:\/\/127\.0\.0\.2:\d+$/);
    assert.match(t.endpoints[SECURE] ?? '', /^https:\/\/127\.0\.0\.3:\d+$/);
    assert.match(t.endpoint, /^http:\/\/127\.0\.0\.1:/);
  });

  it('answers KMS through an endpoint, and its requests carry the vpce id', async () => {
    const key = await t.kmsAt(t.endpoints[PLAIN]!).send(new CreateKeyCommand({ Description: 'via endpoint' }));
    assert.ok(key.KeyMetadata?.KeyId);
    const event = await lastEvent(t, 'CreateKey');
    assert.equal(event.vpcEndpointId, PLAIN);
    assert.equal(event.tlsDetails, undefined);
  });

  it('carries both the vpce id and the TLS details through a TLS endpoint', async () => {
    const key = await t.kms().send(new CreateKeyCommand({}));
    await t.kmsAt(t.endpoints[SECURE]!, caPem).send(new DescribeKeyCommand({ KeyId: key.KeyMetadata!.KeyId! }));
    const event = await lastEvent(t, 'DescribeKey');
    assert.equal(event.vpcEndpointId, SECURE);
    assert.match(event.tlsDetails?.tlsVersion ?? '', /^TLSv1\.[23]$/);
  });

  it('gives requests through the ordinary listener no vpce id', async () => {
    await t.kms().send(new CreateKeyCommand({ Description: 'not via endpoint' }));
    const event = await lastEvent(t, 'CreateKey');
    assert.equal(event.vpcEndpointId, undefined);
  });
});

describe('private endpoint configuration', () => {
  const load = (endpoints: unknown): CipherlakeConfig => {
    const file = join(tmpdir(), `cipherlake-endpoints-${process.pid}.json`);
    return withFile(file, JSON.stringify({ endpoints }), () => loadConfig({ config: file }, {}));
  };

  it('reads endpoints with an inline policy object', () => {
    const c = load([{ id: PLAIN, host: '127.0.0.2', port: 9080, policy: JSON.parse(ENDPOINT_POLICY) }]);
    assert.deepEqual(c.endpoints[0] && { ...c.endpoints[0], policy: JSON.parse(c.endpoints[0].policy!) }, {
      id: PLAIN, host: '127.0.0.2', port: 9080, tls: false, policy: JSON.parse(ENDPOINT_POLICY),
    });
  });

  it('refuses a malformed id, host, duplicate id and a policy that does not parse', () => {
    assert.throws(() => load([{ id: 'endpoint-1', host: '127.0.0.2', port: 1 }]), ConfigError);
    assert.throws(() => load([{ id: PLAIN, host: 'localhost', port: 1 }]), ConfigError);
    assert.throws(() => load([{ id: PLAIN, host: '127.0.0.2', port: 1 }, { id: PLAIN, host: '127.0.0.3', port: 2 }]), ConfigError);
    assert.throws(() => load([{ id: PLAIN, host: '127.0.0.2', port: 1, policy: { Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] } }]), /endpoints\[0\]\.policy/);
  });
});

function withFile<T>(path: string, content: string, f: () => T): T {
  writeFileSync(path, content);
  try {
    return f();
  } finally {
    rmSync(path, { force: true });
  }
}
