import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, runOk, scratch, type Scratch } from '../helpers/client-run.js';

const MiB = 1024 * 1024;

/**
 * The AWS CLI (v1, Debian package) beyond single-part put/get: `aws s3 cp` multipart uploads
 * and copies with the part size set through its own config file, ranged `s3api get-object`,
 * server-side `s3 cp`, and bucket default encryption set with `s3api put-bucket-encryption`.
 */
describe('AWS CLI, multipart, copies and bucket default encryption', () => {
  let t: TestServer;
  let s: Scratch;
  let env: Record<string, string>;
  let keyArn: string;
  const body = randomBytes(20 * MiB);
  const aws = (...args: string[]): Promise<string> => runOk('aws', ['--endpoint-url', t.endpoint, ...args], env, s.dir);
  const head = async (bucket: string, key: string): Promise<Record<string, unknown>> =>
    JSON.parse(await aws('s3api', 'head-object', '--bucket', bucket, '--key', key)) as Record<string, unknown>;

  before(async () => {
    t = await startTestServer();
    s = scratch('cipherlake-awscli-more-');
    env = awsEnv(s, { AWS_CONFIG_FILE: join(s.dir, 'aws-config') });
    // What a user types: the part size (and threshold) go to the CLI's own config file.
    await runOk('aws', ['configure', 'set', 'default.s3.multipart_chunksize', '5MB'], env, s.dir);
    await runOk('aws', ['configure', 'set', 'default.s3.multipart_threshold', '5MB'], env, s.dir);
    assert.match(readFileSync(join(s.dir, 'aws-config'), 'utf8'), /multipart_chunksize = 5MB/);
    const kms = t.kms();
    keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/cli-more', TargetKeyId: keyArn }));
    writeFileSync(join(s.dir, 'big.bin'), body);
    await aws('s3', 'mb', 's3://cli-more');
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('s3 cp --sse aws:kms of 20 MiB is a 4-part upload; cp down and s3api get-object --range read it back', async () => {
    await aws('s3', 'cp', 'big.bin', 's3://cli-more/big.bin', '--sse', 'aws:kms', '--sse-kms-key-id', 'alias/cli-more');
    const h = await head('cli-more', 'big.bin');
    assert.equal(h.ServerSideEncryption, 'aws:kms');
    assert.equal(h.SSEKMSKeyId, keyArn);
    assert.equal(h.ContentLength, body.length);
    assert.match(String(h.ETag), /-4"$/);

    await aws('s3', 'cp', 's3://cli-more/big.bin', 'big.out');
    assert.ok(readFileSync(join(s.dir, 'big.out')).equals(body));
    const got = JSON.parse(await aws('s3api', 'get-object', '--bucket', 'cli-more', '--key', 'big.bin', '--range', 'bytes=5242000-5243999', 'range.out')) as Record<string, unknown>;
    assert.equal(got.ContentRange, `bytes 5242000-5243999/${body.length}`);
    assert.equal(got.ContentLength, 2000);
    assert.ok(readFileSync(join(s.dir, 'range.out')).equals(body.subarray(5242000, 5244000)));
  });

  it('s3 cp s3://…/a s3://…/c copies server side: CopyObject for a small object, UploadPartCopy for a large one', async () => {
    writeFileSync(join(s.dir, 'small.txt'), 'small body\n');
    await aws('s3', 'cp', 'small.txt', 's3://cli-more/a.txt');
    await aws('s3', 'cp', 's3://cli-more/a.txt', 's3://cli-more/c.txt');
    await aws('s3', 'cp', 's3://cli-more/c.txt', 'c.out');
    assert.equal(readFileSync(join(s.dir, 'c.out'), 'utf8'), 'small body\n');

    await aws('s3', 'cp', 's3://cli-more/big.bin', 's3://cli-more/big-copy.bin', '--sse', 'aws:kms', '--sse-kms-key-id', keyArn);
    const h = await head('cli-more', 'big-copy.bin');
    assert.match(String(h.ETag), /-4"$/);
    assert.equal(h.ServerSideEncryption, 'aws:kms');
    assert.equal(h.SSEKMSKeyId, keyArn);
    await aws('s3', 'cp', 's3://cli-more/big-copy.bin', 'big-copy.out');
    assert.ok(readFileSync(join(s.dir, 'big-copy.out')).equals(body));
  });

  it('s3api put-bucket-encryption SSE-KMS with BucketKeyEnabled: plain uploads come back SSE-KMS with the bucket key', async () => {
    await aws('s3', 'mb', 's3://cli-default');
    const rule = { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/cli-more' }, BucketKeyEnabled: true }] };
    await aws('s3api', 'put-bucket-encryption', '--bucket', 'cli-default', '--server-side-encryption-configuration', JSON.stringify(rule));
    const got = JSON.parse(await aws('s3api', 'get-bucket-encryption', '--bucket', 'cli-default')) as { ServerSideEncryptionConfiguration: { Rules: unknown[] } };
    assert.deepEqual(got.ServerSideEncryptionConfiguration.Rules, rule.Rules);

    await aws('s3', 'cp', 'small.txt', 's3://cli-default/small.txt');
    await aws('s3', 'cp', 'big.bin', 's3://cli-default/big.bin');
    for (const key of ['small.txt', 'big.bin']) {
      const h = await head('cli-default', key);
      assert.equal(h.ServerSideEncryption, 'aws:kms', key);
      assert.equal(h.SSEKMSKeyId, keyArn, key);
      assert.equal(h.BucketKeyEnabled, true, key);
    }
    await aws('s3', 'cp', 's3://cli-default/big.bin', 'default.out');
    assert.ok(readFileSync(join(s.dir, 'default.out')).equals(body));
  });
});
