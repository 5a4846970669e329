import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand, DeleteBucketOwnershipControlsCommand, GetBucketOwnershipControlsCommand, PutBucketOwnershipControlsCommand, type ObjectOwnership, type S3Client,
} from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newUserKey } from '../iam/query-client.js';
import { errorCode } from './helpers.js';
import { signedXmlCode } from './raw-sign.js';

/**
 * Ownership controls: every bucket here is Bucket owner enforced (ACLs disabled), S3's default.
 * Putting that setting is taken; settings that enable ACLs, and deleting the controls (which
 * on S3 leaves the bucket as ObjectWriter, ACLs enabled), are NotImplemented, never a success
 * the bucket does not honour.
 */
describe('S3 bucket ownership controls', () => {
  let t: TestServer;
  let s3: S3Client;
  const B = 'owned';
  const ownership = async (c = s3): Promise<string | undefined> =>
    (await c.send(new GetBucketOwnershipControlsCommand({ Bucket: B }))).OwnershipControls?.Rules?.map((r) => r.ObjectOwnership).join(',');
  const put = (ObjectOwnership: ObjectOwnership, c = s3, Bucket = B): Promise<unknown> =>
    c.send(new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: [{ ObjectOwnership }] } }));

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(() => t.close());

  it('BucketOwnerEnforced is taken (200); BucketOwnerPreferred and ObjectWriter are NotImplemented and change nothing', async () => {
    assert.equal(await ownership(), 'BucketOwnerEnforced');
    const r = (await put('BucketOwnerEnforced')) as { $metadata: { httpStatusCode?: number } };
    assert.equal(r.$metadata.httpStatusCode, 200);
    assert.equal(await ownership(), 'BucketOwnerEnforced');
    assert.equal(await errorCode(put('ObjectWriter')), '501 NotImplemented');
    assert.equal(await errorCode(put('BucketOwnerPreferred')), '501 NotImplemented');
    assert.equal(await ownership(), 'BucketOwnerEnforced');
  });

  it('DeleteBucketOwnershipControls is NotImplemented (it would enable ACLs); the bucket stays owner-enforced', async () => {
    assert.equal(await errorCode(s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: B }))), '501 NotImplemented');
    assert.equal(await ownership(), 'BucketOwnerEnforced');
  });

  it('a missing bucket is NoSuchBucket; a document S3 would not validate is MalformedXML', async () => {
    assert.equal(await errorCode(put('BucketOwnerEnforced', s3, 'no-such-bucket')), '404 NoSuchBucket');
    assert.equal(await errorCode(s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'no-such-bucket' }))), '404 NoSuchBucket');
    const doc = (inner: string): Buffer => Buffer.from(`<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</OwnershipControls>`);
    const rule = (v: string): string => `<Rule><ObjectOwnership>${v}</ObjectOwnership></Rule>`;
    assert.equal(await signedXmlCode(t.endpoint, 'PUT', `/${B}`, { ownershipControls: '' }, doc(rule('BucketOwnerEnforced'))), '200 ');
    for (const bad of [doc(rule('Everyone')), doc(''), doc(rule('BucketOwnerEnforced') + rule('BucketOwnerEnforced')), Buffer.from('<Foo/>')]) {
      assert.equal(await signedXmlCode(t.endpoint, 'PUT', `/${B}`, { ownershipControls: '' }, bad), '400 MalformedXML', bad.toString());
    }
  });

  it('Put and Delete are authorized as s3:PutBucketOwnershipControls, Get as s3:GetBucketOwnershipControls', async () => {
    const allow = (action: string): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: `arn:aws:s3:::${B}` }] });
    const reader = t.s3({ credentials: await newUserKey(t.endpoint, 'oc-reader', allow('s3:GetBucketOwnershipControls')) });
    const writer = t.s3({ credentials: await newUserKey(t.endpoint, 'oc-writer', allow('s3:PutBucketOwnershipControls')) });
    assert.equal(await ownership(reader), 'BucketOwnerEnforced');
    assert.equal(await errorCode(put('BucketOwnerEnforced', reader)), '403 AccessDenied');
    assert.equal(await errorCode(reader.send(new DeleteBucketOwnershipControlsCommand({ Bucket: B }))), '403 AccessDenied');
    await put('BucketOwnerEnforced', writer);
    assert.equal(await errorCode(writer.send(new DeleteBucketOwnershipControlsCommand({ Bucket: B }))), '501 NotImplemented', 'allowed, then refused as not implemented');
    assert.equal(await errorCode(ownership(writer)), '403 AccessDenied');

    await t.server.audit.flush();
    for (const eventName of ['PutBucketOwnershipControls', 'DeleteBucketOwnershipControls']) {
      const { records } = await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName, limit: 100 });
      assert.ok(records.some((x) => (x.event as { errorCode?: string }).errorCode === 'AccessDenied'), `${eventName}'s denial is audited`);
    }
  });
});
