import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, GetKeyPolicyCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { testServerFixture } from '../helpers/server.js';

// An AWS managed key's policy allows its use only through its service (kms:ViaService +
// kms:CallerAccount) and direct reads of its metadata; "no AWS principal has any permissions to
// a KMS key unless that permission is provided explicitly" (developer guide, KMS key access and
// permissions), the account root included. S3's use of aws/s3 for a caller keeps working.
describe('KMS: nobody uses an AWS managed key directly', () => {
  const fx = testServerFixture();

  it('the root is refused Encrypt, GenerateDataKey and Decrypt on alias/aws/s3, may read its metadata, and S3 still uses it', async () => {
    await fx.s3.send(new CreateBucketCommand({ Bucket: 'managed-direct' }));
    // SSE-KMS without a key id: S3 uses (and creates) alias/aws/s3 on the caller's behalf.
    await fx.s3.send(new PutObjectCommand({ Bucket: 'managed-direct', Key: 'o', Body: 'via s3', ServerSideEncryption: 'aws:kms' }));
    const got = await fx.s3.send(new GetObjectCommand({ Bucket: 'managed-direct', Key: 'o' }));
    assert.equal(await got.Body!.transformToString(), 'via s3');
    assert.equal(got.ServerSideEncryption, 'aws:kms');

    const managed = (await fx.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }))).KeyMetadata!;
    assert.equal(managed.KeyManager, 'AWS');
    assert.ok((await fx.kms.send(new GetKeyPolicyCommand({ KeyId: managed.KeyId!, PolicyName: 'default' }))).Policy!.includes('kms:ViaService'));
    for (const keyId of ['alias/aws/s3', managed.Arn!]) {
      assert.equal(await sdkOutcome(fx.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('direct') }))), '400 AccessDeniedException', `Encrypt by ${keyId}`);
      assert.equal(await sdkOutcome(fx.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }))), '400 AccessDeniedException', `GenerateDataKey by ${keyId}`);
    }
    // Decrypt naming the managed key is refused before the blob is looked at (authorization comes first).
    assert.equal(await sdkOutcome(fx.kms.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(64, 1), KeyId: managed.KeyId! }))), '400 AccessDeniedException', 'Decrypt naming the key');
  });
});
