import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';
import { run, runOk, scratch, type Scratch } from '../helpers/client-run.js';

/** s3cmd (Debian package, SigV4, plain HTTP, path style) against the server. */
describe('s3cmd', () => {
  let t: TestServer;
  let s: Scratch;
  let keyArn: string;
  const s3cmd = (...args: string[]): Promise<string> => runOk('s3cmd', ['-c', 's3cfg', ...args], { HOME: s.dir }, s.dir);

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
});
