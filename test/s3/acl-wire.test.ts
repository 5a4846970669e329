import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand, GetBucketAclCommand, PutBucketAclCommand, PutObjectAclCommand, PutObjectCommand, type AccessControlPolicy, type S3Client,
} from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, run, runOk, scratch } from '../helpers/client-run.js';
import { errorCode } from './helpers.js';

/**
 * The ACL answers of a bucket with ACLs disabled (Bucket owner enforced) that the ACL tests of
 * test/s3/clients-aws-cli-acl do not cover: x-amz-grant-full-control naming the owner alone is
 * an owner-only ACL (taken); a Put*Acl with both an ACL header and a body is UnexpectedContent,
 * with neither MissingSecurityHeader, as S3 answers them.
 */
describe('S3 ACL wire answers', () => {
  let t: TestServer;
  let s3: S3Client;
  let ownerId: string;
  const B = 'aclwire';
  const ownerOnly = (): AccessControlPolicy => ({
    Owner: { ID: ownerId },
    Grants: [{ Grantee: { Type: 'CanonicalUser', ID: ownerId }, Permission: 'FULL_CONTROL' }],
  });

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    ownerId = (await s3.send(new GetBucketAclCommand({ Bucket: B }))).Owner?.ID ?? '';
    assert.notEqual(ownerId, '');
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'x' }));
  });
  after(() => t.close());

  it('x-amz-grant-full-control naming the owner alone is taken (PutObject, CreateBucket, Put*Acl); naming anyone else is AccessControlListNotSupported', async () => {
    for (const GrantFullControl of [`id="${ownerId}"`, `id=${ownerId}`, ` id = "${ownerId}" `]) {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'granted', Body: 'y', GrantFullControl }));
      await s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'granted', GrantFullControl }));
      await s3.send(new PutBucketAclCommand({ Bucket: B, GrantFullControl }));
    }
    await s3.send(new CreateBucketCommand({ Bucket: 'aclwire-granted', GrantFullControl: `id="${ownerId}"` }));
    for (const GrantFullControl of ['id="111122223333"', `id="${ownerId}", id="111122223333"`, `id="${ownerId}", uri="http://acs.amazonaws.com/groups/global/AllUsers"`, `emailAddress="a@example.com"`, '']) {
      assert.equal(await errorCode(s3.send(new PutObjectCommand({ Bucket: B, Key: 'refused', Body: 'z', GrantFullControl }))), '400 AccessControlListNotSupported', GrantFullControl);
      assert.equal(await errorCode(s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'k', GrantFullControl }))), '400 AccessControlListNotSupported', GrantFullControl);
    }
    assert.equal(await errorCode(s3.send(new PutObjectCommand({ Bucket: B, Key: 'refused', Body: 'z', GrantRead: `id="${ownerId}"` }))), '400 AccessControlListNotSupported', 'a READ grant is not full control');
    assert.equal(await errorCode(s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'refused', ACL: 'private' }))), '404 NoSuchKey', 'refused writes stored nothing');
  });

  it('Put*Acl with a canned ACL (or grant header) and a body is UnexpectedContent; with neither MissingSecurityHeader', async () => {
    assert.equal(await errorCode(s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'k', ACL: 'private', AccessControlPolicy: ownerOnly() }))), '400 UnexpectedContent');
    assert.equal(await errorCode(s3.send(new PutBucketAclCommand({ Bucket: B, ACL: 'private', AccessControlPolicy: ownerOnly() }))), '400 UnexpectedContent');
    assert.equal(await errorCode(s3.send(new PutBucketAclCommand({ Bucket: B, GrantFullControl: `id="${ownerId}"`, AccessControlPolicy: ownerOnly() }))), '400 UnexpectedContent');
    assert.equal(await errorCode(s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'k' }))), '400 MissingSecurityHeader');
    assert.equal(await errorCode(s3.send(new PutBucketAclCommand({ Bucket: B }))), '400 MissingSecurityHeader');
    // Each alone is still taken.
    await s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'k', ACL: 'private' }));
    await s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'k', AccessControlPolicy: ownerOnly() }));
    await s3.send(new PutBucketAclCommand({ Bucket: B, AccessControlPolicy: ownerOnly() }));
  });

  it('the AWS CLI: --grant-full-control id=<owner> is taken, id=<another account> refused', async () => {
    const s = scratch('cipherlake-aclwire-');
    try {
      const env = awsEnv(s);
      await runOk('aws', ['--endpoint-url', t.endpoint, 's3api', 'put-object-acl', '--bucket', B, '--key', 'k', '--grant-full-control', `id=${ownerId}`], env, s.dir);
      const other = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'put-object-acl', '--bucket', B, '--key', 'k', '--grant-full-control', 'id=111122223333'], env, s.dir);
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /AccessControlListNotSupported/);
    } finally {
      s.remove();
    }
  });
});
