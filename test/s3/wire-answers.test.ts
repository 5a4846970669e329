import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { signedFetch } from './raw-sign.js';

/** Small S3 wire answers: the bucket-key header's value case. */
describe('S3 small wire answers', () => {
  let t: TestServer;
  let s3: S3Client;
  const B = 'wireanswers';

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(() => t.close());

  const put = (key: string, headers: Record<string, string>) =>
    signedFetch(t.endpoint, { method: 'PUT', path: `/${B}/${key}`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers }, body: Buffer.from(`body of ${key}`) }, { date: t.clock.now() });

  it('x-amz-server-side-encryption-bucket-key-enabled is read without regard to case (TRUE, True enable it; FALSE does not)', async () => {
    for (const [key, value, enabled] of [['upper', 'TRUE', true], ['mixed', 'True', true], ['lower', 'true', true], ['off', 'FALSE', false]] as const) {
      const res = await put(key, { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-bucket-key-enabled': value });
      assert.equal(res.status, 200, await res.text());
      assert.equal(res.headers.get('x-amz-server-side-encryption-bucket-key-enabled'), enabled ? 'true' : null, `${value}: the PUT's answer`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: key }));
      assert.equal(head.BucketKeyEnabled, enabled ? true : undefined, `${value}: the stored object`);
      assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body?.transformToString(), `body of ${key}`);
    }
    assert.match(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'missing' }))), /^404 /);
  });
});
