import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';
import { run, runOk, scratch, type Scratch } from '../helpers/client-run.js';

/** rclone (Debian package) against the server, configured only through RCLONE_CONFIG_CL_* variables. */
describe('rclone', () => {
  let t: TestServer;
  let s: Scratch;
  let env: Record<string, string>;
  const rclone = (...args: string[]): Promise<string> => runOk('rclone', args, env, s.dir);

  before(async () => {
    t = await startTestServer();
    s = scratch('cipherlake-rclone-');
    env = {
      HOME: s.dir,
      RCLONE_CONFIG: s.empty,
      RCLONE_CONFIG_CL_TYPE: 's3',
      RCLONE_CONFIG_CL_PROVIDER: 'Other',
      RCLONE_CONFIG_CL_ENDPOINT: t.endpoint,
      RCLONE_CONFIG_CL_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      RCLONE_CONFIG_CL_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
      RCLONE_CONFIG_CL_REGION: TEST_REGION,
    };
    mkdirSync(join(s.dir, 'tree', 'x', 'y'), { recursive: true });
    writeFileSync(join(s.dir, 'tree', 'one.txt'), 'one\n');
    writeFileSync(join(s.dir, 'tree', 'x', 'two.bin'), randomBytes(50_000));
    writeFileSync(join(s.dir, 'tree', 'x', 'y', 'three.bin'), randomBytes(2_000_000));
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('mkdir, copy, ls, cat, check (MD5 ETags of SSE-S3), delete', async () => {
    await rclone('mkdir', 'cl:rc-bucket');
    await rclone('copy', 'tree', 'cl:rc-bucket/plain');
    const ls = await rclone('ls', 'cl:rc-bucket');
    assert.deepEqual(ls.trim().split('\n').map((l) => l.trim()).sort(), ['2000000 plain/x/y/three.bin', '4 plain/one.txt', '50000 plain/x/two.bin']);
    assert.equal(await rclone('cat', 'cl:rc-bucket/plain/one.txt'), 'one\n');
    const check = await run('rclone', ['check', 'tree', 'cl:rc-bucket/plain'], env, s.dir);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /0 differences found/);
    assert.match(check.stderr, /3 matching files/);

    // A same-size local file with other bytes must be found: check really compares hashes.
    mkdirSync(join(s.dir, 'changed'));
    writeFileSync(join(s.dir, 'changed', 'one.txt'), 'owe\n');
    const differ = await run('rclone', ['check', '--include', 'one.txt', 'changed', 'cl:rc-bucket/plain'], env, s.dir);
    assert.notEqual(differ.code, 0);
    assert.match(differ.stderr, /1 differences found/);

    await rclone('delete', 'cl:rc-bucket/plain');
    assert.equal((await rclone('ls', 'cl:rc-bucket')).trim(), '');
  });

  it('--s3-server-side-encryption aws:kms: objects are SSE-KMS; check compares the MD5 rclone stores beside the opaque ETag', async () => {
    await rclone('copy', '--s3-server-side-encryption', 'aws:kms', 'tree', 'cl:rc-bucket/kms');
    const head = await t.s3().send(new HeadObjectCommand({ Bucket: 'rc-bucket', Key: 'kms/x/two.bin' }));
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.match(head.SSEKMSKeyId ?? '', /^arn:aws:kms:/);
    const check = await run('rclone', ['check', '--s3-server-side-encryption', 'aws:kms', 'tree', 'cl:rc-bucket/kms'], env, s.dir);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /3 matching files/);
    assert.equal((await rclone('cat', 'cl:rc-bucket/kms/one.txt')), 'one\n');
    await rclone('delete', 'cl:rc-bucket/kms');
    await rclone('rmdir', 'cl:rc-bucket');
  });
});
