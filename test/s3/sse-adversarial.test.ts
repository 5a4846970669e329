import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { viaTrustedProxy } from './helpers.js';

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
      const put = await s3.send(new PutObjectCommand({ Bucket: 'bk-on', Key: 'off', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: false }));
      assert.equal(put.BucketKeyEnabled, undefined);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'bk-on', Key: 'off' }));
      assert.equal(head.ServerSideEncryption, 'aws:kms');
      assert.equal(head.BucketKeyEnabled, undefined);
    });

    it('CopyObject with BucketKeyEnabled=false in a bucket-key bucket stores the copy without a bucket key', async () => {
      const copy = await s3.send(new CopyObjectCommand({ Bucket: 'bk-on', Key: 'copy-off', CopySource: 'bk-on/src', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: false }));
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
});
