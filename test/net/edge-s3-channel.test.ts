import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sdkOutcome as outcome } from '../helpers/sdk-outcome.js';

const VPCE = 'vpce-0a1b2c3d4e5f60718';

// The edge hands the S3 part the transport channel field by field (edge-router handleS3):
// an S3 request through a private endpoint must carry that endpoint's policy, which then
// limits even the account root, and a request through the ordinary listener must not.
describe('an S3 request through a private endpoint with an endpoint policy', () => {
  let t: TestServer;
  before(async () => {
    const endpointPolicy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::open/*' }],
    });
    t = await startTestServer({ endpoints: [{ id: VPCE, host: '127.0.0.2', port: 0, tls: false, policy: endpointPolicy }] });
    const root = t.s3();
    await root.send(new CreateBucketCommand({ Bucket: 'open' }));
    await root.send(new CreateBucketCommand({ Bucket: 'closed' }));
    await root.send(new PutObjectCommand({ Bucket: 'open', Key: 'k', Body: 'open body' }));
    await root.send(new PutObjectCommand({ Bucket: 'closed', Key: 'k', Body: 'closed body' }));
  });
  after(() => t.close());

  it('is limited by that policy; the ordinary listener is not', async () => {
    const viaEndpoint = t.s3({ endpoint: t.endpoints[VPCE]! });
    const got = await viaEndpoint.send(new GetObjectCommand({ Bucket: 'open', Key: 'k' }));
    assert.equal(await got.Body!.transformToString(), 'open body');
    assert.equal(await outcome(viaEndpoint.send(new GetObjectCommand({ Bucket: 'closed', Key: 'k' }))), '403 AccessDenied');
    assert.equal(await outcome(viaEndpoint.send(new PutObjectCommand({ Bucket: 'open', Key: 'k2', Body: 'x' }))), '403 AccessDenied');
    const direct = t.s3();
    assert.equal(await outcome(direct.send(new PutObjectCommand({ Bucket: 'open', Key: 'k2', Body: 'x' }))), 'ok');
    assert.equal(await (await direct.send(new GetObjectCommand({ Bucket: 'closed', Key: 'k' }))).Body!.transformToString(), 'closed body');
    // The refusal is recorded with the endpoint's id.
    const { records } = await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'PutObject', errorsOnly: true, limit: 5 });
    assert.ok(records.some((r) => r.event.errorCode === 'AccessDenied' && r.event.vpcEndpointId === VPCE), 'the denied PutObject through the endpoint is audited with its vpce id');
  });
});

// The TLS details of the channel reach the S3 request's audit record, as they do KMS's.
describe('an S3 request over HTTPS', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ https: { enabled: true, host: '127.0.0.1', port: 0 } });
  });
  after(() => t.close());

  it('is audited with its TLS version and cipher suite', async () => {
    const caPem = readFileSync(join(t.dataDir, 'tls', 'ca', 'ca.crt'), 'utf8');
    const secure = t.s3({ endpoint: t.httpsEndpoint!, requestHandler: { httpsAgent: new HttpsAgent({ ca: caPem }) } });
    await secure.send(new CreateBucketCommand({ Bucket: 'tls' }));
    const { records } = await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'CreateBucket', limit: 1 });
    const tls = records[0]?.event.tlsDetails;
    assert.ok(tls !== undefined, 'tlsDetails recorded');
    assert.equal(tls.tlsVersion, 'TLSv1.3');
    assert.match(tls.cipherSuite, /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
  });
});
