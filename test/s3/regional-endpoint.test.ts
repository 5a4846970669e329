import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetBucketLocationCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { signedFetch } from './raw-sign.js';

// A server configured for a region other than us-east-1 is a regional S3 endpoint: it
// creates buckets only in its own region, as S3's regional endpoints do.
describe('S3 CreateBucket at a regional endpoint (region eu-west-1)', () => {
  let t: TestServer;
  let s3: S3Client;
  before(async () => {
    t = await startTestServer({ region: 'eu-west-1' });
    s3 = t.s3({ region: 'eu-west-1' });
  });
  after(() => t.close());

  it('its own region (or EU, its legacy name) is accepted and reported by GetBucketLocation', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'in-region', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    assert.equal((await s3.send(new GetBucketLocationCommand({ Bucket: 'in-region' }))).LocationConstraint, 'eu-west-1');
    await s3.send(new CreateBucketCommand({ Bucket: 'legacy-eu', CreateBucketConfiguration: { LocationConstraint: 'EU' } }));
    assert.equal((await s3.send(new GetBucketLocationCommand({ Bucket: 'legacy-eu' }))).LocationConstraint, 'EU');
  });

  it('another region is IllegalLocationConstraintException (400) naming it; no bucket is made', async () => {
    const create = s3.send(new CreateBucketCommand({ Bucket: 'other-region', CreateBucketConfiguration: { LocationConstraint: 'us-west-2' } }));
    const err = await create.then(() => assert.fail('the bucket was created'), (e: unknown) => e);
    assert.equal(await errorCode(Promise.reject(err)), '400 IllegalLocationConstraintException');
    assert.match((err as Error).message, /^The us-west-2 location constraint is incompatible for the region specific endpoint/);
    assert.equal(await errorCode(s3.send(new HeadBucketCommand({ Bucket: 'other-region' }))), '404 NotFound');
  });

  it('no constraint at all (the SDK adds its region; raw clients may not) is IllegalLocationConstraintException too', async () => {
    const put = (body?: string): Promise<Response> => signedFetch(t.endpoint, { method: 'PUT', path: '/no-constraint', ...(body !== undefined ? { body: Buffer.from(body) } : {}) }, { region: 'eu-west-1' });
    for (const body of [undefined, '<CreateBucketConfiguration></CreateBucketConfiguration>']) {
      const res = await put(body);
      const text = await res.text();
      assert.equal(res.status, 400, text);
      assert.match(text, /<Code>IllegalLocationConstraintException<\/Code><Message>The unspecified location constraint is incompatible/);
    }
    assert.equal(await errorCode(s3.send(new HeadBucketCommand({ Bucket: 'no-constraint' }))), '404 NotFound');
  });
});
