import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  type CopyObjectCommandOutput,
  type PutObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { customerKey, dataKeyArns, errorCode, viaTrustedProxy } from './helpers.js';
import { presignedUrl, signedFetch, xmlCode } from './raw-sign.js';

// Adversarial cases of S3's encryption surface that once differed from S3 (sweep FZ3).
describe('S3 SSE adversarial cases', () => {
  let t: TestServer;
  let s3: S3Client;
  let keyId = '';

  before(async () => {
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = viaTrustedProxy(t.s3());
    keyId = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await s3.send(new CreateBucketCommand({ Bucket: 'bk-on' }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: 'bk-on',
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId }, BucketKeyEnabled: true }] },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'bk-on', Key: 'src', Body: 'source' }));
  });
  after(() => t.close());

  describe('bucket keys: the request header wins over the bucket setting, both ways', () => {
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-bucket-key-object.html:
    // in a bucket with bucket keys, an SSE-KMS PUT or COPY uses one "unless you disable the key in the request header".
    it('PutObject with BucketKeyEnabled=false in a bucket-key bucket stores the object without a bucket key', async () => {
      let put!: PutObjectCommandOutput;
      const dataKeys = await dataKeyArns(t, keyId, async () => {
        put = await s3.send(new PutObjectCommand({ Bucket: 'bk-on', Key: 'off', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: false }));
      });
      assert.deepEqual(dataKeys, ['arn:aws:s3:::bk-on/off'], 'a data key of its own, under the object ARN');
      assert.equal(put.BucketKeyEnabled, undefined);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'bk-on', Key: 'off' }));
      assert.equal(head.ServerSideEncryption, 'aws:kms');
      assert.equal(head.BucketKeyEnabled, undefined);
    });

    it('CopyObject with BucketKeyEnabled=false in a bucket-key bucket stores the copy without a bucket key', async () => {
      let copy!: CopyObjectCommandOutput;
      const dataKeys = await dataKeyArns(t, keyId, async () => {
        copy = await s3.send(new CopyObjectCommand({ Bucket: 'bk-on', Key: 'copy-off', CopySource: 'bk-on/src', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: false }));
      });
      assert.deepEqual(dataKeys, ['arn:aws:s3:::bk-on/copy-off'], 'a data key of its own, under the object ARN');
      assert.equal(copy.BucketKeyEnabled, undefined);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'bk-on', Key: 'copy-off' }))).BucketKeyEnabled, undefined);
    });

    it('PutObject naming aws:kms without the header still uses the bucket setting', async () => {
      const put = await s3.send(new PutObjectCommand({ Bucket: 'bk-on', Key: 'on', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId }));
      assert.equal(put.BucketKeyEnabled, true);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'bk-on', Key: 'on' }))).BucketKeyEnabled, true);
    });

    it('CreateMultipartUpload answers the bucket key it uses: on by the bucket setting, off by the header', async () => {
      const on = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bk-on', Key: 'mpu-on', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId }));
      assert.equal(on.BucketKeyEnabled, true);
      const off = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bk-on', Key: 'mpu-off', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: false }));
      assert.equal(off.BucketKeyEnabled, undefined);
      for (const [key, u] of [['mpu-on', on], ['mpu-off', off]] as const) await s3.send(new AbortMultipartUploadCommand({ Bucket: 'bk-on', Key: key, UploadId: u.UploadId! }));
    });
  });

  // GetObject and HeadObject pages: "Encryption request headers, like x-amz-server-side-encryption, should not be sent
  // for GET requests if your object uses [SSE-KMS, DSSE-KMS or SSE-S3] ... you'll get an HTTP 400 Bad Request error";
  // S3 answers InvalidArgument "x-amz-server-side-encryption header is not supported for this operation." (also UploadPart).
  describe('x-amz-server-side-encryption on a request that cannot choose the encryption is InvalidArgument', () => {
    const sse = { 'x-amz-server-side-encryption': 'aws:kms' };

    it('GetObject and HeadObject', async () => {
      assert.equal(await xmlCode(await signedFetch(t.endpoint, { method: 'GET', path: '/bk-on/src', headers: sse })), '400 InvalidArgument');
      assert.equal(await xmlCode(await signedFetch(t.endpoint, { method: 'GET', path: '/bk-on/src', headers: { 'x-amz-server-side-encryption': 'AES256', range: 'bytes=0-1' } })), '400 InvalidArgument');
      assert.equal((await signedFetch(t.endpoint, { method: 'HEAD', path: '/bk-on/src', headers: sse })).status, 400);
      // Without the header both answer (the object is readable; the refusal is the header's).
      const got = await s3.send(new GetObjectCommand({ Bucket: 'bk-on', Key: 'src' }));
      assert.equal(await got.Body!.transformToString(), 'source');
    });

    it('a presigned GET with the header hoisted into its query is served (S3 ignores SSE in a query)', async () => {
      const url = await presignedUrl(t.endpoint, { method: 'GET', path: '/bk-on/src', headers: sse }, 300);
      assert.equal(new URL(url).searchParams.get('x-amz-server-side-encryption'), 'aws:kms', url);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'source');
    });

    it('UploadPart', async () => {
      const u = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bk-on', Key: 'mpu-sse' }));
      const res = await signedFetch(t.endpoint, { method: 'PUT', path: '/bk-on/mpu-sse', query: { partNumber: '1', uploadId: u.UploadId! }, headers: sse, body: Buffer.from('part') });
      assert.equal(await xmlCode(res), '400 InvalidArgument');
      const ok = await signedFetch(t.endpoint, { method: 'PUT', path: '/bk-on/mpu-sse', query: { partNumber: '1', uploadId: u.UploadId! }, body: Buffer.from('part') });
      assert.equal(ok.status, 200);
      await s3.send(new AbortMultipartUploadCommand({ Bucket: 'bk-on', Key: 'mpu-sse', UploadId: u.UploadId! }));
    });
  });

  // S3's recorded answers (LocalStack's AWS-validated captures, aws-sdk-go#1726, aws-cli#1431, aws-sdk-cpp#1771).
  describe('SSE errors carry S3 messages', () => {
    const proxied = { 'x-forwarded-proto': 'https' };
    async function answer(res: Response): Promise<string> {
      const text = await res.text();
      return `${res.status} ${/<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? ''}: ${/<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? ''}`;
    }
    const ssec = (key: Buffer, md5Of: Buffer = key): Record<string, string> => ({
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(md5Of).digest('base64'),
    });
    const put = (headers: Record<string, string>): Promise<Response> => signedFetch(t.endpoint, { method: 'PUT', path: '/bk-on/msg', headers: { ...proxied, ...headers }, body: Buffer.from('x') });

    it('a wrong SSE-C key on GET is 403 AccessDenied naming the secret key', async () => {
      const c = customerKey();
      await s3.send(new PutObjectCommand({ Bucket: 'bk-on', Key: 'ssec', Body: 'x', ...c }));
      const res = await signedFetch(t.endpoint, { method: 'GET', path: '/bk-on/ssec', headers: { ...proxied, ...ssec(randomBytes(32)) } });
      assert.equal(await answer(res), '403 AccessDenied: Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.');
    });

    it('the key MD5 is checked before the key length; a matching MD5 on a short key is the key error', async () => {
      assert.equal(await answer(await put(ssec(randomBytes(24), randomBytes(24)))), '400 InvalidArgument: The calculated MD5 hash of the key did not match the hash that was provided.');
      assert.equal(await answer(await put(ssec(randomBytes(10)))), '400 InvalidArgument: The secret key was invalid for the specified algorithm.');
      assert.equal(await answer(await put({ ...ssec(randomBytes(32)), 'x-amz-server-side-encryption-customer-key': '!!!!' })), '400 InvalidArgument: The secret key was invalid for the specified algorithm.');
    });

    it('a KMS key id without aws:kms, and an unknown or empty algorithm', async () => {
      assert.equal(await answer(await put({ 'x-amz-server-side-encryption-aws-kms-key-id': keyId })), '400 InvalidArgument: Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms');
      assert.equal(await answer(await put({ 'x-amz-server-side-encryption': 'aes:kms' })), '400 InvalidArgument: The encryption method specified is not supported');
      assert.equal(await answer(await put({ 'x-amz-server-side-encryption': '' })), '400 InvalidArgument: The encryption method specified is not supported');
    });

    it('none of the refused PUTs stored an object', async () => {
      assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'bk-on', Key: 'msg' }))), '404 NotFound');
    });
  });

  // CompleteMultipartUploadOutput (the S3 model) has ServerSideEncryption, SSEKMSKeyId and BucketKeyEnabled, no SSE-C member.
  it('CompleteMultipartUpload of an SSE-C upload answers no SSE-C headers; the part calls do', async () => {
    const c = customerKey();
    const u = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bk-on', Key: 'mpu-ssec', ...c }));
    const part = await s3.send(new UploadPartCommand({ Bucket: 'bk-on', Key: 'mpu-ssec', UploadId: u.UploadId!, PartNumber: 1, Body: 'part', ...c }));
    assert.equal(part.SSECustomerKeyMD5, c.SSECustomerKeyMD5);
    const body = Buffer.from(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.ETag!}</ETag></Part></CompleteMultipartUpload>`);
    const headers = { 'x-forwarded-proto': 'https', 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': c.SSECustomerKey, 'x-amz-server-side-encryption-customer-key-md5': c.SSECustomerKeyMD5 };
    const res = await signedFetch(t.endpoint, { method: 'POST', path: '/bk-on/mpu-ssec', query: { uploadId: u.UploadId! }, headers, body });
    assert.equal(res.status, 200, await res.clone().text());
    await res.text();
    assert.deepEqual([...res.headers.keys()].filter((h) => h.includes('server-side-encryption')), []);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'bk-on', Key: 'mpu-ssec', ...c }));
    assert.equal(await got.Body!.transformToString(), 'part');
    assert.equal(got.SSECustomerKeyMD5, c.SSECustomerKeyMD5);
  });

  // LocalStack's AWS-validated capture (test_s3_default_bucket_encryption_exc): Rules [] on a missing bucket is 404 NoSuchBucket.
  it('PutBucketEncryption on a missing bucket is NoSuchBucket, even with an invalid document', async () => {
    assert.equal(await errorCode(s3.send(new PutBucketEncryptionCommand({ Bucket: 'no-such-bucket', ServerSideEncryptionConfiguration: { Rules: [] } }))), '404 NoSuchBucket');
    assert.equal(await errorCode(s3.send(new PutBucketEncryptionCommand({ Bucket: 'bk-on', ServerSideEncryptionConfiguration: { Rules: [] } }))), '400 MalformedXML');
  });
});
