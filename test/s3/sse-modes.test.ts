import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand, CreateAliasCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { customerKey, errorCode, viaTrustedProxy } from './helpers.js';

type Sse = Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId' | 'SSEKMSEncryptionContext' | 'SSECustomerAlgorithm' | 'SSECustomerKey' | 'SSECustomerKeyMD5'>;
type ReadSse = Pick<PutObjectCommandInput, 'SSECustomerAlgorithm' | 'SSECustomerKey' | 'SSECustomerKeyMD5'>;

describe('S3 objects under each SSE mode', () => {
  let t: TestServer;
  let s3: S3Client;
  let kmsKeyArn = '';
  const ssec = customerKey();
  const body = randomBytes(200_000); // four 64 KiB segments, the last one partial

  before(async () => {
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = viaTrustedProxy(t.s3());
    const key = await t.kms().send(new CreateKeyCommand({}));
    kmsKeyArn = key.KeyMetadata!.Arn!;
    await t.kms().send(new CreateAliasCommand({ AliasName: 'alias/lake', TargetKeyId: key.KeyMetadata!.KeyId! }));
    await s3.send(new CreateBucketCommand({ Bucket: 'modes' }));
  });
  after(() => t.close());

  const modes: Array<{ name: string; put: () => Sse; read: () => ReadSse; check: (h: { ServerSideEncryption?: string | undefined; SSEKMSKeyId?: string | undefined; SSECustomerKeyMD5?: string | undefined }) => void }> = [
    { name: 'SSE-S3', put: () => ({ ServerSideEncryption: 'AES256' }), read: () => ({}), check: (h) => assert.equal(h.ServerSideEncryption, 'AES256') },
    {
      name: 'SSE-KMS (alias, context)',
      put: () => ({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/lake', SSEKMSEncryptionContext: Buffer.from(JSON.stringify({ project: 'x' })).toString('base64') }),
      read: () => ({}),
      check: (h) => {
        assert.equal(h.ServerSideEncryption, 'aws:kms');
        assert.equal(h.SSEKMSKeyId, kmsKeyArn);
      },
    },
    { name: 'SSE-C', put: () => ({ ...ssec }), read: () => ({ ...ssec }), check: (h) => assert.equal(h.SSECustomerKeyMD5, ssec.SSECustomerKeyMD5) },
  ];

  for (const mode of modes) {
    describe(mode.name, () => {
      const key = `obj-${mode.name}`;
      it('PUT, GET, HEAD round trip with headers and metadata', async () => {
        const put = await s3.send(new PutObjectCommand({ Bucket: 'modes', Key: key, Body: body, ContentType: 'application/x-test', CacheControl: 'no-cache', ContentDisposition: 'attachment', ContentLanguage: 'en', Metadata: { a: '1' }, ...mode.put() }));
        mode.check(put);
        const got = await s3.send(new GetObjectCommand({ Bucket: 'modes', Key: key, ...mode.read() }));
        assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
        mode.check(got);
        assert.equal(got.ContentType, 'application/x-test');
        assert.equal(got.CacheControl, 'no-cache');
        assert.equal(got.ContentDisposition, 'attachment');
        assert.equal(got.ContentLanguage, 'en');
        assert.equal(got.Metadata?.a, '1');
        assert.equal(got.ETag, put.ETag);
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'modes', Key: key, ...mode.read() }));
        assert.equal(head.ContentLength, body.length);
        mode.check(head);
      });

      it('ranged GETs: closed, open, suffix, across segments; 416 past the end', async () => {
        const cases: Array<[string, number, number]> = [
          ['bytes=0-9', 0, 9],
          ['bytes=65530-131080', 65530, 131080],
          ['bytes=199990-', 199990, 199999],
          ['bytes=-5', 199995, 199999],
          ['bytes=150000-999999', 150000, 199999],
        ];
        for (const [range, s, e] of cases) {
          const got = await s3.send(new GetObjectCommand({ Bucket: 'modes', Key: key, Range: range, ...mode.read() }));
          assert.equal(got.ContentRange, `bytes ${s}-${e}/${body.length}`, range);
          assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body.subarray(s, e + 1)), range);
        }
        assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'modes', Key: key, Range: 'bytes=200000-', ...mode.read() }))), '416 InvalidRange');
      });

      it('conditional GETs: If-Match, If-None-Match (304), If-Modified-Since, If-Unmodified-Since (412)', async () => {
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'modes', Key: key, ...mode.read() }));
        const etag = head.ETag!;
        const ok = await s3.send(new GetObjectCommand({ Bucket: 'modes', Key: key, IfMatch: etag, ...mode.read() }));
        await ok.Body!.transformToByteArray();
        assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'modes', Key: key, IfMatch: '"nope"', ...mode.read() }))), '412 PreconditionFailed');
        assert.match(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'modes', Key: key, IfNoneMatch: etag, ...mode.read() }))), /^304 /);
        const past = new Date(head.LastModified!.getTime() - 3_600_000);
        const future = new Date(head.LastModified!.getTime() + 3_600_000);
        assert.match(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'modes', Key: key, IfModifiedSince: future, ...mode.read() }))), /^304 /);
        assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'modes', Key: key, IfUnmodifiedSince: past, ...mode.read() }))), '412 PreconditionFailed');
      });

      it('response-* overrides', async () => {
        const got = await s3.send(new GetObjectCommand({ Bucket: 'modes', Key: key, ResponseContentType: 'text/csv', ResponseContentDisposition: 'inline', ResponseCacheControl: 'max-age=5', ...mode.read() }));
        await got.Body!.transformToByteArray();
        assert.equal(got.ContentType, 'text/csv');
        assert.equal(got.ContentDisposition, 'inline');
        assert.equal(got.CacheControl, 'max-age=5');
      });

      it('CopyObject into every other mode, COPY and REPLACE directives', async () => {
        for (const target of modes) {
          const dest = `${key}-to-${target.name}`;
          const copySource = mode.name === 'SSE-C' ? { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: ssec.SSECustomerKey, CopySourceSSECustomerKeyMD5: ssec.SSECustomerKeyMD5 } : {};
          await s3.send(new CopyObjectCommand({ Bucket: 'modes', Key: dest, CopySource: `modes/${encodeURIComponent(key)}`, ...copySource, ...target.put() }));
          const got = await s3.send(new GetObjectCommand({ Bucket: 'modes', Key: dest, ...target.read() }));
          assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
          target.check(got);
          assert.equal(got.Metadata?.a, '1');
          assert.equal(got.ContentType, 'application/x-test');
        }
        const dest = `${key}-replaced`;
        const copySource = mode.name === 'SSE-C' ? { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: ssec.SSECustomerKey, CopySourceSSECustomerKeyMD5: ssec.SSECustomerKeyMD5 } : {};
        await s3.send(new CopyObjectCommand({ Bucket: 'modes', Key: dest, CopySource: `modes/${key}`, MetadataDirective: 'REPLACE', Metadata: { b: '2' }, ContentType: 'text/plain', ...copySource }));
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'modes', Key: dest }));
        assert.deepEqual(head.Metadata, { b: '2' });
        assert.equal(head.ContentType, 'text/plain');
        assert.equal(head.ServerSideEncryption, 'AES256', 'a copy without SSE headers gets the SSE-S3 floor');
      });

      it('DeleteObject', async () => {
        await s3.send(new DeleteObjectCommand({ Bucket: 'modes', Key: `${key}-replaced` }));
        assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'modes', Key: `${key}-replaced` }))), '404 NoSuchKey');
      });
    });
  }

  it('ETag is the MD5 of the plaintext for SSE-S3 only', async () => {
    const md5 = '"5d41402abc4b2a76b9719d911017c592"'; // md5("hello")
    const a = await s3.send(new PutObjectCommand({ Bucket: 'modes', Key: 'e1', Body: 'hello' }));
    const b = await s3.send(new PutObjectCommand({ Bucket: 'modes', Key: 'e2', Body: 'hello', ServerSideEncryption: 'aws:kms' }));
    const c = await s3.send(new PutObjectCommand({ Bucket: 'modes', Key: 'e3', Body: 'hello', ...ssec }));
    assert.equal(a.ETag, md5);
    assert.notEqual(b.ETag, md5);
    assert.notEqual(c.ETag, md5);
  });

  it('SSE-C: missing key 400 InvalidRequest, wrong key 403 AccessDenied', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'modes', Key: 'c1', Body: 'secret', ...ssec }));
    assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'modes', Key: 'c1' }))), '400 InvalidRequest');
    assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'modes', Key: 'c1', ...customerKey() }))), '403 AccessDenied');
    assert.match(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'modes', Key: 'c1', ...customerKey() }))), /^403 /);
  });

  it('SSE-C over plain HTTP without the trusted proxy header is refused', async () => {
    const plain = t.s3();
    assert.equal(await errorCode(plain.send(new PutObjectCommand({ Bucket: 'modes', Key: 'c2', Body: 'x', ...ssec }))), '400 InvalidRequest');
  });

  it('SSE-KMS with a context that has no exact UTF-8 form (invalid bytes, lone surrogates): 400 InvalidArgument, nothing stored', async () => {
    const contexts = [
      Buffer.concat([Buffer.from('{"k":"x'), Buffer.from([0xff]), Buffer.from('"}')]),
      Buffer.from('{"k":"\\ud800"}'),
      Buffer.from('{"\\udfff":"v"}'),
    ];
    for (const [i, raw] of contexts.entries()) {
      const put = s3.send(new PutObjectCommand({ Bucket: 'modes', Key: `ctx${i}`, Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSEncryptionContext: raw.toString('base64') }));
      assert.equal(await errorCode(put), '400 InvalidArgument', raw.toString('latin1'));
      assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'modes', Key: `ctx${i}` }))), '404 NotFound');
    }
    // An astral character (a surrogate pair) is an ordinary context: stored, echoed as sent, read back.
    const pair = Buffer.from(JSON.stringify({ k: '\u{1F600}' })).toString('base64');
    const put = await s3.send(new PutObjectCommand({ Bucket: 'modes', Key: 'ctx-pair', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSEncryptionContext: pair }));
    assert.equal(JSON.parse(Buffer.from(put.SSEKMSEncryptionContext ?? '', 'base64').toString('utf8')).k, '\u{1F600}');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'modes', Key: 'ctx-pair' }))).Body?.transformToString(), 'x');
  });

  it('SSE-KMS with an unknown key: KMS.NotFoundException', async () => {
    assert.equal(await errorCode(s3.send(new PutObjectCommand({ Bucket: 'modes', Key: 'k1', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/missing' }))), '400 KMS.NotFoundException');
  });
});
