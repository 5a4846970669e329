import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateBucketCommand, PutBucketOwnershipControlsCommand } from '@aws-sdk/client-s3';
import { testServerFixture } from '../helpers/server.js';
import { signedFetch, signedXmlCode } from './raw-sign.js';

const B = 'owned-digest';
const DOC = Buffer.from('<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>');

// S3's model marks PutBucketOwnershipControls as requiring a request checksum (botocore's and
// @aws-sdk/client-s3's requestChecksumRequired, as for PutBucketTagging and PutBucketCors):
// without Content-MD5 or an x-amz-checksum-* it is InvalidRequest, as those two are.
describe('PutBucketOwnershipControls and its body digest', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  it('without Content-MD5 or a checksum is InvalidRequest naming Content-MD5', async () => {
    const res = await signedFetch(fx.server.endpoint, { method: 'PUT', path: `/${B}`, query: { ownershipControls: '' }, body: DOC });
    const text = await res.text();
    assert.equal(res.status, 400);
    assert.match(text, /<Code>InvalidRequest<\/Code>/);
    assert.match(text, /<Message>Missing required header for this request: Content-MD5<\/Message>/);
  });

  it('with Content-MD5 (a raw request) or the SDK v3 checksum it is taken', async () => {
    assert.equal(await signedXmlCode(fx.server.endpoint, 'PUT', `/${B}`, { ownershipControls: '' }, DOC), '200 ');
    const r = await fx.s3.send(new PutBucketOwnershipControlsCommand({ Bucket: B, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }));
    assert.equal(r.$metadata.httpStatusCode, 200);
  });
});
