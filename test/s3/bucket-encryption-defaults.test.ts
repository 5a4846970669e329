import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  type PutObjectCommandOutput,
  UploadPartCommand,
  type S3Client,
  type ServerSideEncryptionRule,
} from '@aws-sdk/client-s3';
import { awsEnv, runOk, scratch, type Scratch } from '../helpers/client-run.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { dataKeyArns } from './helpers.js';

// Since January 2023 every S3 bucket has SSE-S3 as its default encryption: "By default, all
// buckets have a default encryption configuration that uses server-side encryption with Amazon
// S3 managed keys (SSE-S3)" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html),
// and DeleteBucketEncryption "resets the default encryption for the bucket as server-side
// encryption with Amazon S3 managed keys (SSE-S3)" (API_DeleteBucketEncryption.html). The
// valid SSEAlgorithm values of a default include aws:kms:dsse, with an optional KMSMasterKeyID
// (API_ServerSideEncryptionByDefault.html); "S3 Bucket Keys aren't supported for DSSE-KMS"
// (userguide/UsingDSSEncryption.html).
const SSE_S3_DEFAULT: ServerSideEncryptionRule = { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false };

describe('bucket default encryption as S3 answers it since 2023 (SSE-S3 floor, DSSE-KMS defaults)', () => {
  let t: TestServer;
  let s3: S3Client;
  let s: Scratch;
  let keyId: string;
  let keyArn: string;
  const body = Buffer.from('dual-layer by default '.repeat(4000));

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    s = scratch('cipherlake-bucket-enc-');
    const meta = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!;
    keyId = meta.KeyId!;
    keyArn = meta.Arn!;
    for (const b of ['plain', 'dsse', 'dsse-alias']) await s3.send(new CreateBucketCommand({ Bucket: b }));
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'src', Body: body }));
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  const rules = async (bucket: string): Promise<ServerSideEncryptionRule[] | undefined> =>
    (await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules;
  const setDsse = (bucket: string, extra: { KMSMasterKeyID?: string; BucketKeyEnabled?: boolean } = {}): Promise<unknown> => {
    const { KMSMasterKeyID, BucketKeyEnabled } = extra;
    const byDefault = { SSEAlgorithm: 'aws:kms:dsse' as const, ...(KMSMasterKeyID !== undefined ? { KMSMasterKeyID } : {}) };
    const rule = { ApplyServerSideEncryptionByDefault: byDefault, ...(BucketKeyEnabled !== undefined ? { BucketKeyEnabled } : {}) };
    return s3.send(new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: { Rules: [rule] } }));
  };
  async function read(bucket: string, key: string): Promise<Buffer> {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  }
  async function assertDsseObject(bucket: string, key: string, arn: RegExp | string): Promise<void> {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(head.ServerSideEncryption, 'aws:kms:dsse', `${bucket}/${key}`);
    if (typeof arn === 'string') assert.equal(head.SSEKMSKeyId, arn);
    else assert.match(head.SSEKMSKeyId ?? '', arn);
    assert.notEqual(head.BucketKeyEnabled, true, 'no bucket key for DSSE-KMS');
    assert.deepEqual(await read(bucket, key), body);
  }

  it('a new bucket answers the SSE-S3 default (SDK and AWS CLI); after DeleteBucketEncryption it answers it again', async () => {
    assert.deepEqual(await rules('plain'), [SSE_S3_DEFAULT]);
    const cli = JSON.parse(await runOk('aws', ['--endpoint-url', t.endpoint, 's3api', 'get-bucket-encryption', '--bucket', 'plain'], awsEnv(s), s.dir)) as unknown;
    assert.deepEqual(cli, { ServerSideEncryptionConfiguration: { Rules: [SSE_S3_DEFAULT] } });
    await s3.send(new PutBucketEncryptionCommand({ Bucket: 'plain', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId }, BucketKeyEnabled: true }] } }));
    assert.equal((await rules('plain'))?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'aws:kms');
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: 'plain' }));
    assert.deepEqual(await rules('plain'), [SSE_S3_DEFAULT]);
    // And the default it answers is the one writes get.
    const put = await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'after-delete', Body: 'x' }));
    assert.equal(put.ServerSideEncryption, 'AES256');
  });

  it('an aws:kms:dsse default is accepted and echoed with its key id and BucketKeyEnabled', async () => {
    await setDsse('dsse', { KMSMasterKeyID: keyId, BucketKeyEnabled: true });
    assert.deepEqual(await rules('dsse'), [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: keyId }, BucketKeyEnabled: true }]);
    await setDsse('dsse-alias');
    assert.deepEqual(await rules('dsse-alias'), [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms:dsse' }, BucketKeyEnabled: false }]);
  });

  it("a PUT without SSE headers under a DSSE-KMS default is DSSE-KMS under the default's KMS key, never with a bucket key", async () => {
    await setDsse('dsse', { KMSMasterKeyID: keyId, BucketKeyEnabled: true });
    let put!: PutObjectCommandOutput;
    const dataKeys = await dataKeyArns(t, keyArn, async () => {
      put = await s3.send(new PutObjectCommand({ Bucket: 'dsse', Key: 'put', Body: body }));
    });
    assert.deepEqual(dataKeys, ['arn:aws:s3:::dsse/put', 'arn:aws:s3:::dsse/put'], 'two data keys of its own (DSSE-KMS), no bucket key');
    assert.equal(put.ServerSideEncryption, 'aws:kms:dsse');
    assert.equal(put.SSEKMSKeyId, keyArn);
    assert.notEqual(put.BucketKeyEnabled, true);
    await assertDsseObject('dsse', 'put', keyArn);
  });

  it('a DSSE-KMS default without a key id uses the AWS managed key, as the aws:kms default does', async () => {
    await setDsse('dsse-alias');
    const put = await s3.send(new PutObjectCommand({ Bucket: 'dsse-alias', Key: 'put', Body: body }));
    assert.equal(put.ServerSideEncryption, 'aws:kms:dsse');
    assert.match(put.SSEKMSKeyId ?? '', /^arn:aws:kms:/);
    assert.notEqual(put.SSEKMSKeyId, keyArn);
    await assertDsseObject('dsse-alias', 'put', put.SSEKMSKeyId ?? '');
  });

  it('CreateMultipartUpload without SSE headers under a DSSE-KMS default answers and completes DSSE-KMS', async () => {
    await setDsse('dsse', { KMSMasterKeyID: keyId, BucketKeyEnabled: true });
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dsse', Key: 'mp' }));
    assert.equal(created.ServerSideEncryption, 'aws:kms:dsse');
    assert.equal(created.SSEKMSKeyId, keyArn);
    assert.notEqual(created.BucketKeyEnabled, true);
    const UploadId = created.UploadId!;
    const part = await s3.send(new UploadPartCommand({ Bucket: 'dsse', Key: 'mp', UploadId, PartNumber: 1, Body: body }));
    assert.equal(part.ServerSideEncryption, 'aws:kms:dsse');
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'dsse', Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }));
    assert.equal(done.ServerSideEncryption, 'aws:kms:dsse');
    await assertDsseObject('dsse', 'mp', keyArn);
  });

  it('a copy without SSE headers into a bucket with a DSSE-KMS default is DSSE-KMS', async () => {
    await setDsse('dsse', { KMSMasterKeyID: keyId });
    const copy = await s3.send(new CopyObjectCommand({ Bucket: 'dsse', Key: 'copied', CopySource: 'plain/src' }));
    assert.equal(copy.ServerSideEncryption, 'aws:kms:dsse');
    assert.equal(copy.SSEKMSKeyId, keyArn);
    await assertDsseObject('dsse', 'copied', keyArn);
    // The source keeps its own mode.
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'src' }))).ServerSideEncryption, 'AES256');
  });
});
