import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { ensureAwsManagedKey } from '../../src/kms/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('KMS aliases', () => {
  let t: TestServer;
  let kms: KMSClient;
  const newKey = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand(input));
    return KeyMetadata!;
  };
  before(async () => {
    t = await startTestServer();
    kms = t.kms();
  });
  after(async () => {
    await t.close();
  });

  it('creates an alias, uses it for Encrypt/DescribeKey, and lists it with AWS shape', async () => {
    const key = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/app/data_1-x', TargetKeyId: key.KeyId }));
    const described = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/app/data_1-x' }));
    assert.equal(described.KeyMetadata?.KeyId, key.KeyId);
    const byArn = await kms.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:us-east-1:${key.AWSAccountId}:alias/app/data_1-x` }));
    assert.equal(byArn.KeyMetadata?.KeyId, key.KeyId);
    const enc = await kms.send(new EncryptCommand({ KeyId: 'alias/app/data_1-x', Plaintext: Buffer.from('x') }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    assert.equal(dec.KeyId, key.Arn);
    const listed = await kms.send(new ListAliasesCommand({ KeyId: key.KeyId }));
    assert.equal(listed.Aliases?.length, 1);
    const a = listed.Aliases![0]!;
    assert.equal(a.AliasName, 'alias/app/data_1-x');
    assert.equal(a.AliasArn, `arn:aws:kms:us-east-1:${key.AWSAccountId}:alias/app/data_1-x`);
    assert.equal(a.TargetKeyId, key.KeyId);
    assert.ok(a.CreationDate instanceof Date);
    assert.ok(a.LastUpdatedDate instanceof Date);
    assert.equal(listed.Truncated, false);
  });

  it('accepts a key ARN as target and lists per key by ARN', async () => {
    const key = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/by-arn', TargetKeyId: key.Arn }));
    const listed = await kms.send(new ListAliasesCommand({ KeyId: key.Arn }));
    assert.deepEqual(listed.Aliases?.map((x) => x.AliasName), ['alias/by-arn']);
  });

  it('pages ListAliases with Limit and Marker', async () => {
    const key = await newKey();
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) await kms.send(new CreateAliasCommand({ AliasName: `alias/page/${n}`, TargetKeyId: key.KeyId }));
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await kms.send(new ListAliasesCommand({ KeyId: key.KeyId, Limit: 2, ...(marker ? { Marker: marker } : {}) }));
      seen.push(...page.Aliases!.map((a) => a.AliasName!));
      assert.equal(page.Truncated, page.NextMarker !== undefined);
      marker = page.NextMarker;
      pages++;
    } while (marker !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ['alias/page/p1', 'alias/page/p2', 'alias/page/p3', 'alias/page/p4', 'alias/page/p5']);
    const all = await kms.send(new ListAliasesCommand({}));
    assert.ok(all.Aliases!.some((a) => a.AliasName === 'alias/page/p3'));
    await assert.rejects(kms.send(new ListAliasesCommand({ Marker: 'bm9wZQ' })), { name: 'InvalidMarkerException' });
    await assert.rejects(kms.send(new ListAliasesCommand({ Limit: 101 })), { name: 'ValidationException' });
  });

  it('rejects malformed, reserved and duplicate names', async () => {
    const key = await newKey();
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'noprefix', TargetKeyId: key.KeyId })), { name: 'ValidationException' });
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/has space', TargetKeyId: key.KeyId })), { name: 'ValidationException' });
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/co:lon', TargetKeyId: key.KeyId })), { name: 'ValidationException' });
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: `alias/${'a'.repeat(251)}`, TargetKeyId: key.KeyId })), { name: 'ValidationException' });
    await kms.send(new CreateAliasCommand({ AliasName: `alias/${'a'.repeat(250)}`, TargetKeyId: key.KeyId }));
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: key.KeyId })), { name: 'InvalidAliasNameException' });
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/dup', TargetKeyId: key.KeyId }));
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/dup', TargetKeyId: key.KeyId })), {
      name: 'AlreadyExistsException',
      message: /alias\/dup already exists/,
    });
  });

  it('rejects unknown keys, alias targets and keys pending deletion', async () => {
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/ghost', TargetKeyId: '00000000-0000-4000-8000-000000000000' })), { name: 'NotFoundException' });
    const key = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/target', TargetKeyId: key.KeyId }));
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/chained', TargetKeyId: 'alias/target' })), { name: 'ValidationException' });
    await assert.rejects(kms.send(new ListAliasesCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })), { name: 'NotFoundException' });
    const doomed = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: doomed.KeyId }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId, PendingWindowInDays: 7 }));
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/late', TargetKeyId: doomed.KeyId })), { name: 'KMSInvalidStateException' });
    await assert.rejects(kms.send(new UpdateAliasCommand({ AliasName: 'alias/target', TargetKeyId: doomed.KeyId })), { name: 'KMSInvalidStateException' });
    // The alias of a key pending deletion still resolves (to a key that refuses to work) and is listed and deletable.
    await assert.rejects(kms.send(new EncryptCommand({ KeyId: 'alias/doomed', Plaintext: Buffer.from('x') })), { name: 'KMSInvalidStateException' });
    const listed = await kms.send(new ListAliasesCommand({ KeyId: doomed.KeyId }));
    assert.deepEqual(listed.Aliases?.map((a) => a.AliasName), ['alias/doomed']);
    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/doomed' }));
  });

  it('UpdateAlias moves the alias between keys of the same type and usage only', async () => {
    const a = await newKey();
    const b = await newKey();
    const disabled = await newKey();
    await kms.send(new DisableKeyCommand({ KeyId: disabled.KeyId }));
    const rsa = await newKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    const hmac = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: a.KeyId }));
    const before = (await kms.send(new ListAliasesCommand({ KeyId: a.KeyId }))).Aliases![0]!;
    t.clock.advance(5000);
    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: b.KeyId }));
    const after = (await kms.send(new ListAliasesCommand({ KeyId: b.KeyId }))).Aliases![0]!;
    assert.equal(after.TargetKeyId, b.KeyId);
    assert.equal(after.CreationDate?.getTime(), before.CreationDate?.getTime());
    assert.ok(after.LastUpdatedDate!.getTime() > before.LastUpdatedDate!.getTime());
    assert.equal((await kms.send(new ListAliasesCommand({ KeyId: a.KeyId }))).Aliases?.length, 0);
    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: disabled.KeyId }));
    await assert.rejects(kms.send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: rsa.KeyId })), { name: 'ValidationException' });
    await assert.rejects(kms.send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: hmac.KeyId })), { name: 'ValidationException' });
    await assert.rejects(kms.send(new UpdateAliasCommand({ AliasName: 'alias/absent', TargetKeyId: b.KeyId })), { name: 'NotFoundException' });
    await assert.rejects(kms.send(new UpdateAliasCommand({ AliasName: 'alias/aws/s3', TargetKeyId: b.KeyId })), { name: 'InvalidAliasNameException' });
  });

  it('DeleteAlias removes only the alias', async () => {
    const key = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/gone', TargetKeyId: key.KeyId }));
    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/gone' }));
    await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: 'alias/gone' })), { name: 'NotFoundException' });
    await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    await assert.rejects(kms.send(new DeleteAliasCommand({ AliasName: 'alias/gone' })), { name: 'NotFoundException' });
    await assert.rejects(kms.send(new DeleteAliasCommand({ AliasName: 'bad' })), { name: 'ValidationException' });
  });

  it('ensureAwsManagedKey creates one AWS managed key per service alias, race-safe and idempotent', async () => {
    const keys = t.server.keys;
    const [k1, k2, k3] = await Promise.all([
      ensureAwsManagedKey(keys, 'alias/aws/s3'),
      ensureAwsManagedKey(keys, 'alias/aws/s3'),
      ensureAwsManagedKey(keys, 'alias/aws/s3'),
    ]);
    assert.equal(k1.keyId, k2.keyId);
    assert.equal(k1.keyId, k3.keyId);
    const again = await ensureAwsManagedKey(keys, 'alias/aws/s3');
    assert.equal(again.keyId, k1.keyId);
    const ebs = await ensureAwsManagedKey(keys, 'alias/aws/ebs');
    assert.notEqual(ebs.keyId, k1.keyId);
    await assert.rejects(ensureAwsManagedKey(keys, 'alias/mine'), { name: 'ValidationError' });
    await assert.rejects(ensureAwsManagedKey(keys, 'alias/aws/lambda'), { name: 'ValidationError' }, 'only the predefined aliases of the services we run');

    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }));
    assert.equal(KeyMetadata?.KeyManager, 'AWS');
    assert.equal(KeyMetadata?.KeyId, k1.keyId);
    // The descriptions AWS gives these keys, from the one definition in kms whoever creates the key.
    assert.equal(KeyMetadata?.Description, 'Default key that protects my S3 objects when no other key is defined');
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' }))).KeyMetadata?.Description, 'Default key that protects my EBS volumes when no other key is defined');
    const rotation = await kms.send(new GetKeyRotationStatusCommand({ KeyId: k1.keyId }));
    assert.equal(rotation.KeyRotationEnabled, true);
    assert.equal(rotation.RotationPeriodInDays, 365);
    const all = await kms.send(new ListAliasesCommand({}));
    assert.equal(all.Aliases?.filter((a) => a.AliasName === 'alias/aws/s3').length, 1);
    // Customers cannot manage AWS managed keys or their aliases.
    await assert.rejects(kms.send(new DeleteAliasCommand({ AliasName: 'alias/aws/s3' })), { name: 'InvalidAliasNameException' });
    await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/to-aws', TargetKeyId: k1.keyId })), { name: 'UnsupportedOperationException' });
    await assert.rejects(kms.send(new DisableKeyCommand({ KeyId: k1.keyId })), { name: 'UnsupportedOperationException' });
    await assert.rejects(kms.send(new ScheduleKeyDeletionCommand({ KeyId: k1.keyId })), { name: 'UnsupportedOperationException' });
    await assert.rejects(kms.send(new DisableKeyRotationCommand({ KeyId: k1.keyId })), { name: 'UnsupportedOperationException' });
    await assert.rejects(kms.send(new PutKeyPolicyCommand({ KeyId: k1.keyId, PolicyName: 'default', Policy: '{}' })), { name: 'UnsupportedOperationException' });
  });
});
