import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { AuditEvent } from '../../src/audit/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The records of `bucket`'s object `key`, oldest first. */
async function recordsOf(t: TestServer, bucket: string, key: string): Promise<AuditEvent[]> {
  await t.server.audit.flush();
  const events = (await t.server.auditStore.lookup({ bucket, limit: 1000 })).records.map((r) => r.event);
  return events.filter((e) => (e.requestParameters as { key?: string } | null)?.key === key).reverse();
}

async function one(t: TestServer, bucket: string, key: string, eventName: string): Promise<AuditEvent> {
  const found = (await recordsOf(t, bucket, key)).filter((e) => e.eventName === eventName);
  assert.equal(found.length, 1, `one ${eventName} for ${bucket}/${key}`);
  return found[0]!;
}

describe('S3 records: responseElements hold the SSE response headers of writes', () => {
  let t: TestServer;
  let s3: S3Client;
  let keyArn: string;
  const customerKey = randomBytes(32);
  const customerKeyMd5 = createHash('md5').update(customerKey).digest('base64');
  const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: customerKey.toString('base64'), SSECustomerKeyMD5: customerKeyMd5 };

  before(async () => {
    // SSE-C needs HTTPS: the plain-HTTP requests claim it through a trusted proxy header.
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = t.s3();
    s3.middlewareStack.add((next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-forwarded-proto'] = 'https';
      return next(args);
    }, { step: 'build' });
    keyArn = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await s3.send(new CreateBucketCommand({ Bucket: 'sse' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'kmsdefault' }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: 'kmsdefault',
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn }, BucketKeyEnabled: true }] },
      }),
    );
  });

  after(async () => {
    await t.close();
  });

  it('PutObject with SSE-S3: the algorithm AES256, nothing else', async () => {
    const out = await s3.send(new PutObjectCommand({ Bucket: 'sse', Key: 's3', Body: 'x', ServerSideEncryption: 'AES256' }));
    assert.equal(out.ServerSideEncryption, 'AES256');
    const e = await one(t, 'sse', 's3', 'PutObject');
    assert.deepEqual(e.responseElements, { 'x-amz-server-side-encryption': 'AES256' });
  });

  it('PutObject with SSE-KMS: aws:kms and the key ARN; with a bucket key, its flag too', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'sse', Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn }));
    assert.deepEqual((await one(t, 'sse', 'kms', 'PutObject')).responseElements, {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': keyArn,
    });
    const out = await s3.send(new PutObjectCommand({ Bucket: 'sse', Key: 'kms-bk', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn, BucketKeyEnabled: true }));
    assert.equal(out.BucketKeyEnabled, true, 'the answer states the bucket key');
    assert.deepEqual((await one(t, 'sse', 'kms-bk', 'PutObject')).responseElements, {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': keyArn,
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
    });
  });

  it('PutObject under default bucket encryption (SSE-KMS, bucket key): what the answer stated', async () => {
    const out = await s3.send(new PutObjectCommand({ Bucket: 'kmsdefault', Key: 'd', Body: 'x' }));
    const e = await one(t, 'kmsdefault', 'd', 'PutObject');
    assert.deepEqual(e.responseElements, {
      'x-amz-server-side-encryption': out.ServerSideEncryption,
      'x-amz-server-side-encryption-aws-kms-key-id': out.SSEKMSKeyId,
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
    });
    assert.equal(out.ServerSideEncryption, 'aws:kms');
    assert.equal(out.SSEKMSKeyId, keyArn);
  });

  it('PutObject with SSE-C: the customer algorithm only, never the key nor its MD5', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'sse', Key: 'c', Body: 'x', ...ssec }));
    const e = await one(t, 'sse', 'c', 'PutObject');
    assert.deepEqual(e.responseElements, { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' });
    const text = JSON.stringify(e);
    for (const secret of [customerKey.toString('base64'), customerKey.toString('hex'), customerKeyMd5]) assert.equal(text.includes(secret), false);
    assert.equal(/customer-?key/i.test(text), false);
  });

  it('GetObject and HeadObject: null, as CloudTrail records reads', async () => {
    await (await s3.send(new GetObjectCommand({ Bucket: 'sse', Key: 'kms' }))).Body!.transformToByteArray();
    await s3.send(new HeadObjectCommand({ Bucket: 'sse', Key: 'kms' }));
    await (await s3.send(new GetObjectCommand({ Bucket: 'sse', Key: 'c', ...ssec }))).Body!.transformToByteArray();
    assert.equal((await one(t, 'sse', 'kms', 'GetObject')).responseElements, null);
    assert.equal((await one(t, 'sse', 'kms', 'HeadObject')).responseElements, null);
    assert.equal((await one(t, 'sse', 'c', 'GetObject')).responseElements, null);
  });

  it('a refused write (no such KMS key): null', async () => {
    const refused = s3.send(new PutObjectCommand({ Bucket: 'sse', Key: 'refused', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000' }));
    await assert.rejects(refused);
    const e = await one(t, 'sse', 'refused', 'PutObject');
    assert.notEqual(e.errorCode, undefined);
    assert.equal(e.responseElements, null);
  });

  it('CopyObject: the target\'s SSE', async () => {
    await s3.send(new CopyObjectCommand({ Bucket: 'sse', Key: 'copy', CopySource: 'sse/s3', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn }));
    assert.deepEqual((await one(t, 'sse', 'copy', 'CopyObject')).responseElements, {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': keyArn,
    });
  });

  it('CreateMultipartUpload, UploadPart and CompleteMultipartUpload: the upload\'s SSE each', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sse', Key: 'mp', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn, BucketKeyEnabled: true }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'sse', Key: 'mp', UploadId, PartNumber: 1, Body: 'part' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'sse', Key: 'mp', UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }));
    const expected = {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': keyArn,
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
    };
    for (const name of ['CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload']) {
      assert.deepEqual((await one(t, 'sse', 'mp', name)).responseElements, expected, name);
    }
  });

  it('an SSE-C multipart upload: the customer algorithm, no key MD5', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sse', Key: 'mpc', ...ssec }));
    await s3.send(new UploadPartCommand({ Bucket: 'sse', Key: 'mpc', UploadId, PartNumber: 1, Body: 'part', ...ssec }));
    for (const name of ['CreateMultipartUpload', 'UploadPart']) {
      const e = await one(t, 'sse', 'mpc', name);
      assert.deepEqual(e.responseElements, { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }, name);
      assert.equal(JSON.stringify(e).includes(customerKeyMd5), false);
    }
  });
});
