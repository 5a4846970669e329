import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { testServerFixture } from '../helpers/server.js';
import { errorCode } from '../s3/helpers.js';
import { signedFetch } from '../s3/raw-sign.js';

// A request that reaches S3 (no KMS/CloudTrail target, no IAM/STS/EC2 scope) signed for another
// service is refused as S3 refuses it, before its signature counts: a credential scoped to
// 'foo' must not be accepted as an S3 credential.
describe('S3: a credential scope for another service', () => {
  const fx = testServerFixture(async (f) => {
    await f.s3.send(new CreateBucketCommand({ Bucket: 'scoped' }));
  });

  async function listSignedFor(service: string): Promise<{ status: number; body: string }> {
    const res = await signedFetch(fx.server.endpoint, { method: 'GET', path: '/scoped', query: { 'list-type': '2' }, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, { service });
    return { status: res.status, body: await res.text() };
  }

  it('is 400 AuthorizationHeaderMalformed naming the service; signed for s3 the same request is served', async () => {
    for (const service of ['foo', 'dynamodb']) {
      const r = await listSignedFor(service);
      assert.equal(r.status, 400, service);
      assert.match(r.body, /<Code>AuthorizationHeaderMalformed<\/Code>/);
      assert.match(r.body, new RegExp(`incorrect service &quot;${service}&quot;|incorrect service "${service}"`));
    }
    const ok = await listSignedFor('s3');
    assert.equal(ok.status, 200);
    assert.match(ok.body, /<ListBucketResult/);
  });

  it('a PUT signed for another service is refused and stores nothing', async () => {
    const put = await signedFetch(fx.server.endpoint, { method: 'PUT', path: '/scoped/foreign', body: Buffer.from('not for s3') }, { service: 'foo' });
    assert.equal(put.status, 400);
    assert.match(await put.text(), /<Code>AuthorizationHeaderMalformed<\/Code>/);
    assert.equal(await errorCode(fx.s3.send(new HeadObjectCommand({ Bucket: 'scoped', Key: 'foreign' }))), '404 NotFound');
  });
});
