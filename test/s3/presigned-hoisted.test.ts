import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
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

  it('a presigned CreateMultipartUpload gives the completed object the metadata and tags hoisted into its query', async () => {
    const command = new CreateMultipartUploadCommand({ Bucket: 'hoist', Key: 'mpu', Metadata: { project: 'atlas' }, Tagging: 'team=ml' });
    const url = await getSignedUrl(t.s3(), command, { expiresIn: 300, signingDate: t.clock.now() });
    const q = new URL(url).searchParams;
    assert.equal(q.get('x-amz-meta-project'), 'atlas', 'the presigner hoists the metadata');
    assert.equal(q.get('x-amz-tagging'), 'team=ml');
    const res = await fetch(url, { method: 'POST' });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(text)?.[1];
    assert.ok(uploadId !== undefined, text);
    const part = await s3.send(new UploadPartCommand({ Bucket: 'hoist', Key: 'mpu', UploadId: uploadId, PartNumber: 1, Body: 'multipart body' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'hoist', Key: 'mpu', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }));

    const head = await s3.send(new HeadObjectCommand({ Bucket: 'hoist', Key: 'mpu' }));
    assert.deepEqual(head.Metadata, { project: 'atlas' });
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'hoist', Key: 'mpu' }));
    assert.deepEqual(tags.TagSet, [{ Key: 'team', Value: 'ml' }]);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'hoist', Key: 'mpu' }))).Body!.transformToString(), 'multipart body');
  });

  // getSignedUrl hoists CopyObject's x-amz-copy-source (and its -if-* conditions) into the query
  // too. S3 does not read a copy source there: it takes the request as a plain PutObject and
  // stores an empty object (ETag d41d8cd9..., the MD5 of nothing): aws/aws-sdk-php#1275 (two
  // reports, 2017 and 2019, the response headers quoted), minio/minio#4167 (a maintainer
  // reproduced it on AWS: "AWS S3 is interpreting the request a simple PUT object"),
  // aws/aws-sdk-js-v3#3283 (the copy source has to be a header). A presigned copy works when
  // the copy source stays a signed header.
  const seedSource = async (): Promise<void> => {
    await s3.send(new PutObjectCommand({ Bucket: 'hoist', Key: 'copy-src', Body: 'source bytes', Metadata: { from: 'source' } }));
  };

  it('a presigned CopyObject with the copy source hoisted into its query is a PutObject of its (empty) body, as S3 takes it; the source is not copied', async () => {
    await seedSource();
    const command = new CopyObjectCommand({ Bucket: 'hoist', Key: 'copy-dst', CopySource: 'hoist/copy-src', CopySourceIfMatch: '"no-such-etag"', Metadata: { to: 'dest' }, MetadataDirective: 'REPLACE' });
    const url = await getSignedUrl(t.s3(), command, { expiresIn: 300, signingDate: t.clock.now() });
    const q = new URL(url).searchParams;
    assert.equal(q.get('x-amz-copy-source'), 'hoist/copy-src', 'the presigner hoists the copy source');
    assert.equal(q.get('x-amz-copy-source-if-match'), '"no-such-etag"');

    const res = await fetch(url, { method: 'PUT' });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    // A PutObject's answer: the empty body's ETag, no CopyObjectResult (and no copy precondition, which would have failed).
    assert.equal(res.headers.get('etag'), '"d41d8cd98f00b204e9800998ecf8427e"');
    assert.doesNotMatch(text, /CopyObjectResult/);
    const dst = await s3.send(new GetObjectCommand({ Bucket: 'hoist', Key: 'copy-dst' }));
    assert.equal(await dst.Body!.transformToString(), '');
    assert.deepEqual(dst.Metadata, { to: 'dest' }, 'the hoisted metadata still applies to the object put');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'hoist', Key: 'copy-src' }))).Body!.transformToString(), 'source bytes');
  });

  it('a presigned CopyObject whose copy source stays a signed header copies the source, with the hoisted metadata', async () => {
    await seedSource();
    const command = new CopyObjectCommand({ Bucket: 'hoist', Key: 'copy-signed', CopySource: 'hoist/copy-src', Metadata: { to: 'dest' }, MetadataDirective: 'REPLACE' });
    const url = await getSignedUrl(t.s3(), command, { expiresIn: 300, signingDate: t.clock.now(), unhoistableHeaders: new Set(['x-amz-copy-source']) });
    const q = new URL(url).searchParams;
    assert.equal(q.get('x-amz-copy-source'), null);
    assert.match(q.get('X-Amz-SignedHeaders') ?? '', /x-amz-copy-source/);
    const res = await fetch(url, { method: 'PUT', headers: { 'x-amz-copy-source': 'hoist/copy-src' } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.match(text, /<CopyObjectResult/);
    const dst = await s3.send(new GetObjectCommand({ Bucket: 'hoist', Key: 'copy-signed' }));
    assert.equal(await dst.Body!.transformToString(), 'source bytes');
    assert.deepEqual(dst.Metadata, { to: 'dest' });
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

  it('an unsigned x-amz-* header on a presigned request is 403 AccessDenied, as S3 answers it: the URL holder can neither override nor add what the signer fixed', async () => {
    const url = await presignPut({ Key: 'unsigned', Metadata: { role: 'reader' } });
    const send = (headers: Record<string, string>): Promise<Response> => fetch(url, { method: 'PUT', body: Buffer.from('x'), headers });
    for (const headers of [{ 'x-amz-meta-role': 'admin' }, { 'x-amz-meta-extra': 'added' }, { 'x-amz-tagging': 'a=1' }, { 'x-amz-storage-class': 'STANDARD_IA' }]) {
      const res = await send(headers);
      const text = await res.text();
      assert.equal(`${res.status} ${/<Code>([^<]*)<\/Code>/.exec(text)?.[1]}`, '403 AccessDenied', JSON.stringify(headers));
      assert.match(text, /There were headers present in the request which were not signed/);
    }
    await missing('unsigned');
    // Without them the same URL stores the signer's metadata.
    assert.equal((await send({})).status, 200);
    assert.deepEqual((await s3.send(new HeadObjectCommand({ Bucket: 'hoist', Key: 'unsigned' }))).Metadata, { role: 'reader' });
  });
});
