import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { xmlCode } from './raw-sign.js';

// A presigned URL from @aws-sdk/s3-request-presigner carries the command's x-amz-* headers in
// its signed query string (all but the SSE ones, which stay signed headers). S3 takes them as
// the headers they stand for: the object gets its metadata, tags and storage-class check.
describe('S3 presigned requests: hoisted x-amz-* query parameters act as headers', () => {
  let t: TestServer;
  let s3: S3Client;
  before(async () => {
    t = await startTestServer();
    s3 = t.s3({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    await s3.send(new CreateBucketCommand({ Bucket: 'hoist' }));
  });
  after(() => t.close());

  /** A presigned PutObject URL as a stock client makes it (default checksum settings: the SDK hoists the CRC32 of an empty body). */
  const presignPut = (input: Omit<PutObjectCommandInput, 'Bucket'>): Promise<string> =>
    getSignedUrl(t.s3(), new PutObjectCommand({ Bucket: 'hoist', ...input }), { expiresIn: 300, signingDate: t.clock.now() });

  const missing = async (key: string): Promise<void> => {
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'hoist', Key: key }))), '404 NotFound');
  };

  it('a presigned PUT stores the metadata and tags hoisted into its query; Content-Type stays the header the uploader sends', async () => {
    const url = await presignPut({ Key: 'meta', Metadata: { Project: 'atlas', stage: 'raw' }, Tagging: 'team=ml&tier=gold', StorageClass: 'STANDARD_IA', ContentType: 'text/csv' });
    const q = new URL(url).searchParams;
    assert.equal(q.get('x-amz-meta-project'), 'atlas', 'the presigner hoists the metadata');
    assert.equal(q.get('x-amz-tagging'), 'team=ml&tier=gold');
    assert.equal(q.get('x-amz-checksum-crc32'), 'AAAAAA==', 'the SDK signs in the CRC32 of an empty body');
    assert.equal(q.get('content-type'), null, 'Content-Type is neither hoisted nor signed');

    const res = await fetch(url, { method: 'PUT', body: Buffer.from('a,b\n1,2\n'), headers: { 'content-type': 'text/csv' } });
    assert.equal(res.status, 200, await res.text());

    const head = await s3.send(new HeadObjectCommand({ Bucket: 'hoist', Key: 'meta' }));
    assert.deepEqual(head.Metadata, { project: 'atlas', stage: 'raw' });
    assert.equal(head.ContentType, 'text/csv');
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'hoist', Key: 'meta' }));
    assert.deepEqual(tags.TagSet, [{ Key: 'team', Value: 'ml' }, { Key: 'tier', Value: 'gold' }]);
    // The hoisted empty-body CRC32 is ignored, as S3 ignores it: the non-empty body was stored.
    const got = await s3.send(new GetObjectCommand({ Bucket: 'hoist', Key: 'meta' }));
    assert.equal(await got.Body!.transformToString(), 'a,b\n1,2\n');
  });

  it('a hoisted storage class S3 does not know is 400 InvalidStorageClass and stores nothing', async () => {
    const url = await presignPut({ Key: 'bad-class', StorageClass: 'FOO' as PutObjectCommandInput['StorageClass'] });
    assert.equal(new URL(url).searchParams.get('x-amz-storage-class'), 'FOO');
    assert.equal(await xmlCode(await fetch(url, { method: 'PUT', body: Buffer.from('x') })), '400 InvalidStorageClass');
    await missing('bad-class');
  });

  it('SSE-KMS with a key id stays signed headers the uploader sends, beside the hoisted metadata', async () => {
    const key = await t.kms().send(new CreateKeyCommand({}));
    const keyId = key.KeyMetadata!.KeyId!;
    const url = await presignPut({ Key: 'kms', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, Metadata: { owner: 'lab' } });
    const q = new URL(url).searchParams;
    assert.match(q.get('X-Amz-SignedHeaders') ?? '', /x-amz-server-side-encryption-aws-kms-key-id/);
    const res = await fetch(url, {
      method: 'PUT',
      body: Buffer.from('sealed'),
      headers: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': keyId },
    });
    assert.equal(res.status, 200, await res.text());
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'hoist', Key: 'kms' }));
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.match(head.SSEKMSKeyId ?? '', new RegExp(`${keyId}$`));
    assert.deepEqual(head.Metadata, { owner: 'lab' });
  });

  it('a tampered hoisted parameter is SignatureDoesNotMatch and stores nothing', async () => {
    const url = new URL(await presignPut({ Key: 'tampered', Metadata: { role: 'reader' }, Tagging: 'a=1' }));
    url.searchParams.set('x-amz-meta-role', 'admin');
    assert.equal(await xmlCode(await fetch(url, { method: 'PUT', body: Buffer.from('x') })), '403 SignatureDoesNotMatch');
    const tags = new URL(await presignPut({ Key: 'tampered', Tagging: 'a=1' }));
    tags.searchParams.set('x-amz-tagging', 'a=2');
    assert.equal(await xmlCode(await fetch(tags, { method: 'PUT', body: Buffer.from('x') })), '403 SignatureDoesNotMatch');
    await missing('tampered');
  });
});
