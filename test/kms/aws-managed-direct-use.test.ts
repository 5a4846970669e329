import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateGrantCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, GetKeyPolicyCommand, ReEncryptCommand } from '@aws-sdk/client-kms';
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

  it('the root is refused every other use (blob-named Decrypt, ReEncrypt to it, CreateGrant, a dry run; aws/ebs too) and keeps its own keys', async () => {
    const own = (await fx.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blob = Buffer.from((await fx.kms.send(new EncryptCommand({ KeyId: own, Plaintext: Buffer.from('mine') }))).CiphertextBlob!);
    assert.equal(Buffer.from((await fx.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'mine', 'the root still uses its own customer managed key');
    for (const alias of ['alias/aws/s3', 'alias/aws/ebs']) {
      const managed = (await fx.kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata!;
      assert.equal(managed.KeyManager, 'AWS', alias);
      // A blob whose header names the managed key (its UUID's 16 bytes after the version byte, src/kms/FORMAT.md):
      // Decrypt without KeyId is decided on the key the blob names, before the blob is opened.
      const naming = Buffer.from(blob);
      Buffer.from(managed.KeyId!.replaceAll('-', ''), 'hex').copy(naming, 1);
      const refused = {
        'Decrypt of a blob naming it': fx.kms.send(new DecryptCommand({ CiphertextBlob: naming })),
        'ReEncrypt to it': fx.kms.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: alias })),
        'ReEncrypt from it': fx.kms.send(new ReEncryptCommand({ CiphertextBlob: naming, DestinationKeyId: own })),
        CreateGrant: fx.kms.send(new CreateGrantCommand({ KeyId: alias, GranteePrincipal: 'arn:aws:iam::000000000000:role/direct', Operations: ['Decrypt'] })),
        'a dry-run Encrypt': fx.kms.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from('x'), DryRun: true })),
        Encrypt: fx.kms.send(new EncryptCommand({ KeyId: managed.KeyId!, Plaintext: Buffer.from('x') })),
      };
      for (const [what, call] of Object.entries(refused)) assert.equal(await sdkOutcome(call), '400 AccessDeniedException', `${what}, ${alias}`);
    }
  });
});
