import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, runPythonJson, scratch, type Scratch } from '../helpers/client-run.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/boto3-more.py', import.meta.url));

/**
 * boto3 (Debian python3-boto3) running fixtures/boto3-more.py: managed multipart uploads and
 * copies (s3transfer), CopyObject across SSE modes, pagination, batch delete, tagging.
 */
describe('boto3, everyday calls beyond put/get', () => {
  let t: TestServer;
  let s: Scratch;
  let keyArn: string;

  before(async () => {
    t = await startTestServer({ https: { enabled: true, host: '127.0.0.1', port: 0 } });
    s = scratch('cipherlake-boto3-more-');
    const kms = t.kms();
    keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/boto-more', TargetKeyId: keyArn }));
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('upload_file/download_file multipart under SSE-KMS and SSE-C, ranged reads, copies, pagination, delete_objects, tagging, 404, object versions', async () => {
    const env = awsEnv(s, {
      S3_ENDPOINT: t.endpoint,
      S3_HTTPS_ENDPOINT: t.httpsEndpoint!,
      S3_CA_BUNDLE: join(t.dataDir, 'tls', 'ca', 'ca.crt'),
      S3_KMS_ALIAS: 'alias/boto-more',
    });
    const out = await runPythonJson(SCRIPT, [], env, s.dir);
    const length = 12 * 1024 * 1024 + 12345;
    assert.deepEqual(out.kms, { sse: 'aws:kms', key: keyArn, length, etagParts: true, whole: true, range: true, suffix: true });
    assert.deepEqual(out.c, { alg: 'AES256', md5: true, length, whole: true, range: true, contentRange: `bytes 10485750-10485779/${length}`, noKey: ['400', 400] });
    assert.deepEqual(out.copyCtoKms, { sse: 'aws:kms', headSse: 'aws:kms', headKey: keyArn, body: true, noSourceKey: ['InvalidRequest', 400] });
    // A copy that names no encryption takes the bucket default (SSE-S3 here), not the source's, as on S3.
    assert.deepEqual(out.partCopy, { length, etagParts: true, sse: 'AES256', body: true });
    assert.deepEqual(out.pages, [[2, true, ['page/0.txt', 'page/1.txt']], [2, true, ['page/2.txt', 'page/3.txt']], [1, false, ['page/4.txt']]]);
    assert.deepEqual(out.paginator, [['page/0.txt', 'page/1.txt'], ['page/2.txt', 'page/3.txt'], ['page/4.txt']]);
    assert.deepEqual(out.deleted, ['page/0.txt', 'page/1.txt', 'page/2.txt', 'page/3.txt', 'page/none']);
    assert.deepEqual(out.deleteErrors, []);
    assert.deepEqual(out.left, ['page/4.txt']);
    assert.deepEqual(out.tags, [['stage', 'raw data'], ['team', 'ml']]);
    assert.deepEqual(out.putTags, [['a', '1'], ['b', 'two words']]);
    assert.equal(out.tagCount, 2);
    assert.deepEqual(out.tagsAfterDelete, []);
    // HEAD has no body, so botocore names the error by its status.
    assert.deepEqual(out.headMissing, ['404', 404]);
    // ListBuckets pages and filters as S3 does (prefix and max-buckets were ignored: every bucket, no token).
    assert.deepEqual(out.bucketPages, [['lb-1', 'lb-2'], ['lb-3']]);
    assert.deepEqual(out.bucketPrefix, ['lb-', null, ['us-east-1']]);
    assert.deepEqual(out.bucketFirst, [['boto-more'], true]);
    // boto3's default form for a custom endpoint is SigV2: InvalidRequest as for any SigV2 request (it was 501
    // NotImplemented before POST Object was served), nothing stored.
    assert.deepEqual(out.presignedPost, [400, true]);
    assert.deepEqual(out.postedStored, ['404', 404]);
    // Kept and returned on HEAD and GET (it was dropped); a self-copy naming a new one is allowed, a plain copy does
    // not carry the source's; not a path or an http(s) URL, or over 2 KB: InvalidArgument, nothing stored.
    assert.deepEqual(out.redirect, {
      putHead: '/elsewhere.html',
      putGet: '/elsewhere.html',
      head: 'https://example.com/x',
      copy: 'none',
      bad: ['InvalidArgument', 400],
      long: ['InvalidArgument', 400],
      badStored: ['404', 404],
    });
    // Each object is its one version, "null", as S3 lists an unversioned bucket (was 501 NotImplemented).
    assert.deepEqual(out.versions, [['a/1', 'null', true], ['a/2', 'null', true], ['b', 'null', true], ['c d', 'null', true], ['e', 'null', true]]);
    assert.deepEqual(out.versionPages, [['a/1', 'a/2'], ['b', 'c d'], ['e']]);
    assert.deepEqual(out.versionPrefixPages, [['a/'], ['b'], ['c d'], ['e']]);
    assert.equal(out.versionNullGet, true);
    assert.equal(out.afterVersionsDelete, 0);
  });
});
