import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, run, runOk, scratch, type Scratch } from '../helpers/client-run.js';

/**
 * The AWS CLI (v1, Debian package) and ACLs. Every bucket here has ACLs disabled, as S3's
 * default "Bucket owner enforced" since 2023: ACL reads answer the owner's FULL_CONTROL, ACL
 * writes and x-amz-acl take only what leaves the owner alone in control, as on S3.
 */
describe('AWS CLI, ACLs disabled as on S3', () => {
  let t: TestServer;
  let s: Scratch;
  let env: Record<string, string>;
  const aws = (...args: string[]): Promise<string> => runOk('aws', ['--endpoint-url', t.endpoint, ...args], env, s.dir);

  before(async () => {
    t = await startTestServer();
    s = scratch('cipherlake-awscli-acl-');
    env = awsEnv(s);
    writeFileSync(join(s.dir, 'small.txt'), 'small body\n');
    // Over the CLI's default 8 MB threshold: a multipart upload.
    writeFileSync(join(s.dir, 'big.bin'), Buffer.alloc(9 * 1024 * 1024, 1));
    await aws('s3', 'mb', 's3://cli-acl');
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  // x-amz-acl was ignored: `--acl public-read` reported success and stored a private object.
  it('--acl: bucket-owner-full-control and private are taken; public-read is refused with AccessControlListNotSupported', async () => {
    await aws('s3', 'cp', 'small.txt', 's3://cli-acl/owner.txt', '--acl', 'bucket-owner-full-control');
    await aws('s3api', 'put-object', '--bucket', 'cli-acl', '--key', 'private.txt', '--body', 'small.txt', '--acl', 'private');
    const pub = await run('aws', ['--endpoint-url', t.endpoint, 's3', 'cp', 'small.txt', 's3://cli-acl/public.txt', '--acl', 'public-read'], env, s.dir);
    assert.notEqual(pub.code, 0);
    assert.match(pub.stderr, /AccessControlListNotSupported.*The bucket does not allow ACLs/);
    const big = await run('aws', ['--endpoint-url', t.endpoint, 's3', 'cp', 'big.bin', 's3://cli-acl/public-big.bin', '--acl', 'public-read'], env, s.dir);
    assert.notEqual(big.code, 0);
    assert.match(big.stderr, /AccessControlListNotSupported/);
    const listing = await aws('s3', 'ls', 's3://cli-acl/');
    assert.match(listing, /owner\.txt/);
    assert.doesNotMatch(listing, /public/);

    const bucket = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'create-bucket', '--bucket', 'cli-public', '--acl', 'public-read'], env, s.dir);
    assert.notEqual(bucket.code, 0);
    assert.match(bucket.stderr, /InvalidBucketAclWithObjectOwnership/);
    assert.doesNotMatch(await aws('s3', 'ls'), /cli-public/);
    // ACLs enabled at creation is refused, not an owner-enforced bucket made behind the client's back.
    const writer = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'create-bucket', '--bucket', 'cli-writer', '--object-ownership', 'ObjectWriter'], env, s.dir);
    assert.notEqual(writer.code, 0);
    assert.match(writer.stderr, /NotImplemented/);
    assert.doesNotMatch(await aws('s3', 'ls'), /cli-writer/);
    await aws('s3api', 'create-bucket', '--bucket', 'cli-enforced', '--object-ownership', 'BucketOwnerEnforced');
  });

  it('s3api get-object-acl / get-bucket-acl answer the owner\'s FULL_CONTROL, ownership controls BucketOwnerEnforced; put-object-acl takes only owner-only ACLs', async () => {
    const ownerOnly = { Owner: { DisplayName: 'cipherlake', ID: '000000000000' }, Grants: [{ Grantee: { DisplayName: 'cipherlake', ID: '000000000000', Type: 'CanonicalUser' }, Permission: 'FULL_CONTROL' }] };
    assert.deepEqual(JSON.parse(await aws('s3api', 'get-object-acl', '--bucket', 'cli-acl', '--key', 'owner.txt')), ownerOnly);
    assert.deepEqual(JSON.parse(await aws('s3api', 'get-bucket-acl', '--bucket', 'cli-acl')), ownerOnly);
    const controls = JSON.parse(await aws('s3api', 'get-bucket-ownership-controls', '--bucket', 'cli-acl')) as unknown;
    assert.deepEqual(controls, { OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } });

    await aws('s3api', 'put-object-acl', '--bucket', 'cli-acl', '--key', 'owner.txt', '--acl', 'bucket-owner-full-control');
    await aws('s3api', 'put-bucket-acl', '--bucket', 'cli-acl', '--acl', 'private');
    const pub = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'put-object-acl', '--bucket', 'cli-acl', '--key', 'owner.txt', '--acl', 'public-read'], env, s.dir);
    assert.notEqual(pub.code, 0);
    assert.match(pub.stderr, /AccessControlListNotSupported/);
    const grant = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'put-bucket-acl', '--bucket', 'cli-acl', '--grant-read', 'uri=http://acs.amazonaws.com/groups/global/AllUsers'], env, s.dir);
    assert.notEqual(grant.code, 0);
    assert.match(grant.stderr, /AccessControlListNotSupported/);
    const missing = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'get-object-acl', '--bucket', 'cli-acl', '--key', 'no-such-key'], env, s.dir);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NoSuchKey/);
  });
});
