import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, run, runOk, scratch, type Scratch } from '../helpers/client-run.js';

/**
 * The AWS CLI (v1, Debian package) against the server: high-level `aws s3` commands, and
 * `aws s3api` with SSE-KMS and SSE-C. SSE-C runs over the HTTPS listener with the
 * built-in CA as AWS_CA_BUNDLE — the CLI cannot add the trusted-proxy header.
 */
describe('AWS CLI', () => {
  let t: TestServer;
  let s: Scratch;
  let env: Record<string, string>;
  let tlsEnv: Record<string, string>;
  let keyArn: string;
  const aws = (...args: string[]): Promise<string> => runOk('aws', ['--endpoint-url', t.endpoint, ...args], env, s.dir);
  const awsTls = (...args: string[]): Promise<string> => runOk('aws', ['--endpoint-url', t.httpsEndpoint!, ...args], tlsEnv, s.dir);

  before(async () => {
    t = await startTestServer({ https: { enabled: true, host: '127.0.0.1', port: 0 } });
    s = scratch('cipherlake-awscli-');
    env = awsEnv(s);
    tlsEnv = awsEnv(s, { AWS_CA_BUNDLE: join(t.dataDir, 'tls', 'ca', 'ca.crt') });
    const kms = t.kms();
    keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/cli-data', TargetKeyId: keyArn }));
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('s3 mb, cp up and down, ls --recursive, rm', async () => {
    await aws('s3', 'mb', 's3://cli-bucket');
    const body = randomBytes(300_000);
    writeFileSync(join(s.dir, 'up.bin'), body);
    await aws('s3', 'cp', 'up.bin', 's3://cli-bucket/dir/sub/up.bin');
    await aws('s3', 'cp', 'up.bin', 's3://cli-bucket/top.bin');
    await aws('s3', 'cp', 's3://cli-bucket/dir/sub/up.bin', 'down.bin');
    assert.deepEqual(readFileSync(join(s.dir, 'down.bin')), body);

    const listing = await aws('s3', 'ls', '--recursive', 's3://cli-bucket');
    const keys = listing.trim().split('\n').map((l) => l.trim().split(/\s+/).slice(2));
    assert.deepEqual(keys, [['300000', 'dir/sub/up.bin'], ['300000', 'top.bin']]);
    const shallow = await aws('s3', 'ls', 's3://cli-bucket/');
    assert.match(shallow, /PRE dir\//);

    // aws s3 presign: AWS CLI v1 presigns with SigV2 unless told otherwise, which S3 refuses for
    // buckets made since 2020 (and so do we, 400 InvalidRequest "...use AWS4-HMAC-SHA256"); with
    // `s3.signature_version = s3v4`, as AWS documents, plain fetch reads the URL without
    // credentials, and a URL pointed at another key is refused.
    const v2 = (await aws('s3', 'presign', 's3://cli-bucket/top.bin', '--expires-in', '300')).trim();
    assert.equal((await fetch(v2)).status, 400);
    writeFileSync(join(s.dir, 'aws-s3v4.cfg'), '[default]\ns3 =\n    signature_version = s3v4\n');
    const url = (await runOk('aws', ['--endpoint-url', t.endpoint, 's3', 'presign', 's3://cli-bucket/top.bin', '--expires-in', '300'], { ...env, AWS_CONFIG_FILE: join(s.dir, 'aws-s3v4.cfg') }, s.dir)).trim();
    assert.match(url, /X-Amz-Algorithm=AWS4-HMAC-SHA256/);
    const fetched = await fetch(url);
    assert.equal(fetched.status, 200);
    assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), body);
    assert.equal((await fetch(url.replace('top.bin', 'dir/sub/up.bin'))).status, 403);

    await aws('s3', 'rm', 's3://cli-bucket/top.bin');
    assert.doesNotMatch(await aws('s3', 'ls', '--recursive', 's3://cli-bucket'), /top\.bin/);
  });

  it('s3 sync a directory tree up and back down; a second sync transfers nothing', async () => {
    const tree = join(s.dir, 'tree');
    mkdirSync(join(tree, 'a', 'b'), { recursive: true });
    const files: Record<string, Buffer> = { 'one.txt': Buffer.from('one\n'), 'a/two.bin': randomBytes(70_000), 'a/b/three.bin': randomBytes(1_000_000), 'a/b/empty': Buffer.alloc(0) };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(tree, name), data);
    // Objects must look newer than the local files, or sync re-uploads them (it compares mtimes).
    t.advance(120_000);
    const up = await aws('s3', 'sync', 'tree', 's3://cli-bucket/tree');
    assert.equal(up.match(/upload:/g)?.length, 4, up);
    const again = await aws('s3', 'sync', 'tree', 's3://cli-bucket/tree');
    assert.doesNotMatch(again, /upload:/);

    await aws('s3', 'sync', 's3://cli-bucket/tree', 'back');
    for (const [name, data] of Object.entries(files)) assert.deepEqual(readFileSync(join(s.dir, 'back', name)), data, name);
  });

  it('s3api put-object with SSE-KMS by alias; head-object and get-object return the SSE headers', async () => {
    writeFileSync(join(s.dir, 'kms.txt'), 'kms body\n');
    const put = JSON.parse(await aws('s3api', 'put-object', '--bucket', 'cli-bucket', '--key', 'kms.txt', '--body', 'kms.txt', '--server-side-encryption', 'aws:kms', '--ssekms-key-id', 'alias/cli-data')) as Record<string, string>;
    assert.equal(put.ServerSideEncryption, 'aws:kms');
    assert.equal(put.SSEKMSKeyId, keyArn);

    const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'kms.txt')) as Record<string, unknown>;
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.equal(head.SSEKMSKeyId, keyArn);
    assert.equal(head.ContentLength, 9);

    const got = JSON.parse(await aws('s3api', 'get-object', '--bucket', 'cli-bucket', '--key', 'kms.txt', 'kms-out.txt')) as Record<string, unknown>;
    assert.equal(got.ServerSideEncryption, 'aws:kms');
    assert.equal(readFileSync(join(s.dir, 'kms-out.txt'), 'utf8'), 'kms body\n');

    const s3Put = JSON.parse(await aws('s3api', 'put-object', '--bucket', 'cli-bucket', '--key', 'aes.txt', '--body', 'kms.txt', '--server-side-encryption', 'AES256')) as Record<string, string>;
    assert.equal(s3Put.ServerSideEncryption, 'AES256');
    assert.equal(s3Put.ETag, `"${createHash('md5').update('kms body\n').digest('hex')}"`);
  });

  it('--sse-c over HTTPS: cp up and down, head-object with the key; without it the read is refused', async () => {
    writeFileSync(join(s.dir, 'customer.key'), randomBytes(32));
    const body = randomBytes(200_000);
    writeFileSync(join(s.dir, 'ssec.bin'), body);
    await awsTls('s3', 'cp', 'ssec.bin', 's3://cli-bucket/ssec.bin', '--sse-c', 'AES256', '--sse-c-key', 'fileb://customer.key');
    await awsTls('s3', 'cp', 's3://cli-bucket/ssec.bin', 'ssec-out.bin', '--sse-c', 'AES256', '--sse-c-key', 'fileb://customer.key');
    assert.deepEqual(readFileSync(join(s.dir, 'ssec-out.bin')), body);

    const head = JSON.parse(await awsTls('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'ssec.bin', '--sse-customer-algorithm', 'AES256', '--sse-customer-key', 'fileb://customer.key')) as Record<string, unknown>;
    assert.equal(head.SSECustomerAlgorithm, 'AES256');
    assert.equal(head.SSECustomerKeyMD5, createHash('md5').update(readFileSync(join(s.dir, 'customer.key'))).digest('base64'));

    const noKey = await run('aws', ['--endpoint-url', t.httpsEndpoint!, 's3api', 'get-object', '--bucket', 'cli-bucket', '--key', 'ssec.bin', 'nokey.bin'], tlsEnv, s.dir);
    assert.notEqual(noKey.code, 0);
    assert.match(noKey.stderr, /InvalidRequest|Bad Request|400/);
  });

  it('--sse-c over plain HTTP is refused, as S3 does', async () => {
    const r = await run('aws', ['--endpoint-url', t.endpoint, 's3api', 'put-object', '--bucket', 'cli-bucket', '--key', 'plain-ssec', '--body', 'kms.txt', '--sse-customer-algorithm', 'AES256', '--sse-customer-key', 'fileb://customer.key'], env, s.dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InvalidRequest|InvalidArgument/);
    const listing = await aws('s3', 'ls', '--recursive', 's3://cli-bucket');
    assert.doesNotMatch(listing, /plain-ssec/);
  });
});
