import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { testServerFixture } from '../helpers/server.js';
import { errorCode } from './helpers.js';

const B = 'root-lockout';
const denyAll = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'DenyAll', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${B}`, `arn:aws:s3:::${B}/*`] }],
});

// S3's lockout guard (PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy pages): "the root
// user of the AWS account that owns a bucket can always use this operation, even if the policy
// explicitly denies the root user". The test server's credentials are the account root.
describe('S3 bucket policy: the owner account root can always manage the policy', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'v' }));
  });

  it('a policy denying s3:* to everyone still denies the root its objects, but not Get/Put/DeleteBucketPolicy', async () => {
    await fx.s3.send(new PutBucketPolicyCommand({ Bucket: B, Policy: denyAll }));
    // The deny applies to the root elsewhere: the guard is for the three policy actions only.
    assert.equal(await errorCode(fx.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k' }))), '403 AccessDenied');
    assert.equal(await errorCode(fx.s3.send(new PutObjectCommand({ Bucket: B, Key: 'k2', Body: 'x' }))), '403 AccessDenied');
    const got = await fx.s3.send(new GetBucketPolicyCommand({ Bucket: B }));
    assert.deepEqual(JSON.parse(got.Policy ?? '{}'), JSON.parse(denyAll));
    // Rewriting it (the deny still in force while the request is decided) and removing it both work.
    await fx.s3.send(new PutBucketPolicyCommand({ Bucket: B, Policy: denyAll }));
    await fx.s3.send(new DeleteBucketPolicyCommand({ Bucket: B }));
    assert.equal(await errorCode(fx.s3.send(new GetBucketPolicyCommand({ Bucket: B }))), '404 NoSuchBucketPolicy');
    const obj = await fx.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k' }));
    assert.equal(await obj.Body!.transformToString(), 'v');
  });
});
