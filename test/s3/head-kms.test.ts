import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, DisableKeyCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { at, queryRequest } from '../iam/query-client.js';
import { customerKey, errorCode, viaTrustedProxy } from './helpers.js';

const B = 'head-kms';

// HeadObject asks only s3:GetObject on a general purpose bucket
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, Permissions), and S3
// answers it without KMS: `aws s3 cp` downloads of an object whose KMS key the caller may not
// use fail "when calling the GetObject operation" (its HeadObject, made first, succeeded).
// So HEAD is metadata only; GET still needs kms:Decrypt; SSE-C HEAD still needs the key.
describe('S3 HeadObject of an SSE-KMS object: metadata, without KMS', () => {
  let t: TestServer;
  let root: S3Client;
  let reader: S3Client;
  let keyArn: string;

  before(async () => {
    // SSE-C needs TLS: a trusted proxy header stands for it.
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    root = viaTrustedProxy(t.s3());
    const iam = async (params: Record<string, string>): Promise<Record<string, unknown>> => {
      const r = await queryRequest(t.endpoint, 'iam', params, undefined, t.clock.now());
      assert.equal(r.status, 200, r.text);
      return r.xml;
    };
    // s3:GetObject on the bucket's objects, nothing on KMS.
    const readOnly = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: [`arn:aws:s3:::${B}`, `arn:aws:s3:::${B}/*`] }] };
    await iam({ Action: 'CreateUser', UserName: 'reader' });
    await iam({ Action: 'PutUserPolicy', UserName: 'reader', PolicyName: 'p', PolicyDocument: JSON.stringify(readOnly) });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: 'reader' });
    const path = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    reader = t.s3({ credentials: { accessKeyId: at(xml, ...path, 'AccessKeyId'), secretAccessKey: at(xml, ...path, 'SecretAccessKey') } });
    keyArn = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await root.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => {
    await t.close();
  });

  it('a reader allowed s3:GetObject but not kms:Decrypt gets the metadata on HEAD and 403 on GET', async () => {
    const put = await root.send(new PutObjectCommand({ Bucket: B, Key: 'kms', Body: 'secret text', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn, Metadata: { owner: 'ml' } }));
    const head = await reader.send(new HeadObjectCommand({ Bucket: B, Key: 'kms' }));
    assert.equal(head.ContentLength, 'secret text'.length);
    assert.equal(head.ETag, put.ETag);
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.equal(head.SSEKMSKeyId, keyArn);
    assert.deepEqual(head.Metadata, { owner: 'ml' });
    assert.equal(await errorCode(reader.send(new GetObjectCommand({ Bucket: B, Key: 'kms' }))), '403 AccessDenied');
    // The owner, allowed kms:Decrypt, reads it.
    assert.equal(await (await root.send(new GetObjectCommand({ Bucket: B, Key: 'kms' }))).Body!.transformToString(), 'secret text');
  });

  it('HEAD answers while the KMS key is disabled; GET does not', async () => {
    const key = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!;
    await root.send(new PutObjectCommand({ Bucket: B, Key: 'disabled', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.Arn! }));
    await t.kms().send(new DisableKeyCommand({ KeyId: key.KeyId! }));
    assert.equal((await root.send(new HeadObjectCommand({ Bucket: B, Key: 'disabled' }))).SSEKMSKeyId, key.Arn);
    assert.match(await errorCode(root.send(new GetObjectCommand({ Bucket: B, Key: 'disabled' }))), /^4\d\d /);
  });

  it('SSE-C HEAD still needs the customer key, and the right one', async () => {
    const ck = customerKey();
    await root.send(new PutObjectCommand({ Bucket: B, Key: 'ssec', Body: 'c', ...ck }));
    assert.equal((await root.send(new HeadObjectCommand({ Bucket: B, Key: 'ssec', ...ck }))).SSECustomerKeyMD5, ck.SSECustomerKeyMD5);
    // A HEAD error has no body: its status is the answer.
    const status = async (p: Promise<unknown>): Promise<string> => (await errorCode(p)).split(' ')[0]!;
    assert.equal(await status(root.send(new HeadObjectCommand({ Bucket: B, Key: 'ssec' }))), '400');
    assert.equal(await status(root.send(new HeadObjectCommand({ Bucket: B, Key: 'ssec', ...customerKey() }))), '403');
    // A customer key sent for an object that has none is still refused on HEAD.
    assert.equal(await status(root.send(new HeadObjectCommand({ Bucket: B, Key: 'kms', ...ck }))), '400');
  });
});
