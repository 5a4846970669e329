import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';
import { awsCli, run, runOk, scratch, type Scratch } from '../helpers/client-run.js';

/** s3cmd (Debian package, SigV4, plain HTTP, path style) against the server. */
describe('s3cmd', () => {
  let t: TestServer;
  let s: Scratch;
  let keyArn: string;
  const s3cmd = (...args: string[]): Promise<string> => runOk('s3cmd', ['-c', 's3cfg', ...args], { HOME: s.dir }, s.dir);
  const big = randomBytes(12 * 1024 * 1024 + 333);
  const head = (bucket: string, key: string) => t.s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));

  before(async () => {
    t = await startTestServer();
    s = scratch('cipherlake-s3cmd-');
    const host = new URL(t.endpoint).host;
    const config = ['[default]', `access_key = ${TEST_ACCESS_KEY_ID}`, `secret_key = ${TEST_SECRET_ACCESS_KEY}`, `host_base = ${host}`, `host_bucket = ${host}`, 'use_https = False', 'signature_v2 = False', `bucket_location = ${TEST_REGION}`, ''];
    writeFileSync(join(s.dir, 's3cfg'), config.join('\n'));
    const kms = t.kms();
    keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/s3cmd-data', TargetKeyId: keyArn }));
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('mb, put, ls, get, del', async () => {
    await s3cmd('mb', 's3://s3cmd-bucket');
    const body = randomBytes(150_000);
    writeFileSync(join(s.dir, 'up.bin'), body);
    await s3cmd('put', 'up.bin', 's3://s3cmd-bucket/p/up.bin');
    await s3cmd('put', 'up.bin', 's3://s3cmd-bucket/q.bin');
    const ls = await s3cmd('ls', '-r', 's3://s3cmd-bucket');
    assert.deepEqual(ls.trim().split('\n').map((l) => l.trim().split(/\s+/).slice(2)), [['150000', 's3://s3cmd-bucket/p/up.bin'], ['150000', 's3://s3cmd-bucket/q.bin']]);
    assert.match(await s3cmd('ls'), /s3:\/\/s3cmd-bucket/);
    await s3cmd('get', '--force', 's3://s3cmd-bucket/p/up.bin', 'down.bin');
    assert.deepEqual(readFileSync(join(s.dir, 'down.bin')), body);
    await s3cmd('del', 's3://s3cmd-bucket/q.bin');
    assert.doesNotMatch(await s3cmd('ls', '-r', 's3://s3cmd-bucket'), /q\.bin/);
    const missing = await run('s3cmd', ['-c', 's3cfg', 'get', 's3://s3cmd-bucket/nope', 'nope'], { HOME: s.dir }, s.dir);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /404|NoSuchKey|does not exist/);
  });

  it('put --server-side-encryption-kms-id: stored under that KMS key, info shows aws:kms, get returns the bytes', async () => {
    const body = randomBytes(90_000);
    writeFileSync(join(s.dir, 'kms.bin'), body);
    await s3cmd('put', '--server-side-encryption', '--server-side-encryption-kms-id', 'alias/s3cmd-data', 'kms.bin', 's3://s3cmd-bucket/kms.bin');
    const head = await t.s3().send(new HeadObjectCommand({ Bucket: 's3cmd-bucket', Key: 'kms.bin' }));
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.equal(head.SSEKMSKeyId, keyArn);
    assert.match(await s3cmd('info', 's3://s3cmd-bucket/kms.bin'), /SSE:\s+aws:kms/);
    await s3cmd('get', '--force', 's3://s3cmd-bucket/kms.bin', 'kms-out.bin');
    assert.deepEqual(readFileSync(join(s.dir, 'kms-out.bin')), body);
    await s3cmd('del', 's3://s3cmd-bucket/kms.bin');
  });

  it('put --multipart-chunk-size-mb=5: a 12 MiB file goes up in 3 parts, get and cp (server side) return the bytes', async () => {
    writeFileSync(join(s.dir, 'big.bin'), big);
    await s3cmd('put', '--multipart-chunk-size-mb=5', 'big.bin', 's3://s3cmd-bucket/big.bin');
    const h = await head('s3cmd-bucket', 'big.bin');
    assert.equal(h.ContentLength, big.length);
    assert.match(h.ETag ?? '', /-3"$/);
    await s3cmd('get', '--force', 's3://s3cmd-bucket/big.bin', 'big.out');
    assert.ok(readFileSync(join(s.dir, 'big.out')).equals(big));
    await s3cmd('cp', 's3://s3cmd-bucket/big.bin', 's3://s3cmd-bucket/big-copy.bin');
    await s3cmd('get', '--force', 's3://s3cmd-bucket/big-copy.bin', 'big-copy.out');
    assert.ok(readFileSync(join(s.dir, 'big-copy.out')).equals(big));
  });

  it('bucket default SSE-KMS with a bucket key (aws s3api put-bucket-encryption): plain s3cmd puts come back SSE-KMS with the bucket key', async () => {
    await s3cmd('mb', 's3://s3cmd-default');
    const rule = { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn }, BucketKeyEnabled: true }] };
    const put = await awsCli(t.endpoint, s.dir, ['s3api', 'put-bucket-encryption', '--bucket', 's3cmd-default', '--server-side-encryption-configuration', JSON.stringify(rule)]);
    assert.equal(put.code, 0, put.stderr);
    writeFileSync(join(s.dir, 'small.bin'), randomBytes(40_000));
    await s3cmd('put', 'small.bin', 's3://s3cmd-default/small.bin');
    await s3cmd('put', '--multipart-chunk-size-mb=5', 'big.bin', 's3://s3cmd-default/big.bin');
    for (const key of ['small.bin', 'big.bin']) {
      const h = await head('s3cmd-default', key);
      assert.equal(h.ServerSideEncryption, 'aws:kms', key);
      assert.equal(h.SSEKMSKeyId, keyArn, key);
      assert.equal(h.BucketKeyEnabled, true, key);
    }
    await s3cmd('get', '--force', 's3://s3cmd-default/small.bin', 'small.out');
    assert.ok(readFileSync(join(s.dir, 'small.out')).equals(readFileSync(join(s.dir, 'small.bin'))));
    await s3cmd('get', '--force', 's3://s3cmd-default/big.bin', 'default.out');
    assert.ok(readFileSync(join(s.dir, 'default.out')).equals(big));
  });

  it('put -P (public ACL) is refused as S3 refuses it on a bucket with ACLs disabled, not stored private behind a "Public URL"', async () => {
    writeFileSync(join(s.dir, 'pub.txt'), 'public?\n');
    const r = await run('s3cmd', ['-c', 's3cfg', 'put', '-P', 'pub.txt', 's3://s3cmd-bucket/pub.txt'], { HOME: s.dir }, s.dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /AccessControlListNotSupported/);
    assert.doesNotMatch(r.stdout, /Public URL/);
    assert.doesNotMatch(await s3cmd('ls', '-r', 's3://s3cmd-bucket'), /pub\.txt/);
  });

  it("info shows the owner's FULL_CONTROL; setacl --acl-private is taken, --acl-public and --acl-grant refused", async () => {
    assert.match(await s3cmd('info', 's3://s3cmd-bucket/big.bin'), /ACL:\s+cipherlake: FULL_CONTROL/);
    assert.match(await s3cmd('info', 's3://s3cmd-bucket'), /ACL:\s+cipherlake: FULL_CONTROL/);
    await s3cmd('setacl', '--acl-private', 's3://s3cmd-bucket/big.bin');
    await s3cmd('setacl', '--acl-private', 's3://s3cmd-bucket');
    for (const flag of ['--acl-public', '--acl-grant=read:someone@example.com']) {
      const r = await run('s3cmd', ['-c', 's3cfg', 'setacl', flag, 's3://s3cmd-bucket/big.bin'], { HOME: s.dir }, s.dir);
      assert.notEqual(r.code, 0, flag);
      assert.match(r.stderr, /AccessControlListNotSupported/, flag);
    }
  });
});
