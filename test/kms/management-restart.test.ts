import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { ensureAwsManagedKey } from '../../src/kms/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('KMS management state survives a restart', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  it('keeps keys, aliases, policies, grants, tags and rotation state', async () => {
    let kms = t.kms();
    const { KeyMetadata: key } = await kms.send(new CreateKeyCommand({ Description: 'persist', Tags: [{ TagKey: 'team', TagValue: 'ml' }] }));
    const keyId = key!.KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/persist', TargetKeyId: keyId }));
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${key!.AWSAccountId}:root` }, Action: 'kms:*', Resource: '*' }] });
    await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: policy }));
    const grant = await kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: 'arn:aws:iam::111122223333:role/app', Operations: ['Decrypt'], Name: 'persisted' }));
    await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 120 }));
    const before = await kms.send(new EncryptCommand({ KeyId: 'alias/persist', Plaintext: Buffer.from('v1') }));
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const statusBefore = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    const managed = await ensureAwsManagedKey(t.server.keys, 'alias/aws/ebs');
    const { KeyMetadata: doomed } = await kms.send(new CreateKeyCommand({}));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed!.KeyId, PendingWindowInDays: 7 }));

    t = await t.restart();
    kms = t.kms();

    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/persist' }))).KeyMetadata?.KeyId, keyId);
    assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy, policy);
    const grants = await kms.send(new ListGrantsCommand({ KeyId: keyId }));
    assert.deepEqual(grants.Grants?.map((g) => [g.GrantId, g.Name]), [[grant.GrantId, 'persisted']]);
    assert.deepEqual((await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags, [{ TagKey: 'team', TagValue: 'ml' }]);
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    assert.equal(status.KeyRotationEnabled, true);
    assert.equal(status.RotationPeriodInDays, 120);
    assert.equal(status.NextRotationDate?.getTime(), statusBefore.NextRotationDate?.getTime());
    const rotations = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    assert.deepEqual(rotations.Rotations?.map((r) => r.RotationType), ['ON_DEMAND']);
    assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob }))).Plaintext!).toString(), 'v1');
    assert.equal((await ensureAwsManagedKey(t.server.keys, 'alias/aws/ebs')).keyId, managed.keyId);
    const aliases = await kms.send(new ListAliasesCommand({}));
    assert.ok(aliases.Aliases!.some((a) => a.AliasName === 'alias/aws/ebs' && a.TargetKeyId === managed.keyId));
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: doomed!.KeyId }))).KeyMetadata?.KeyState, 'PendingDeletion');
    // The grant token issued before the restart still retires the grant.
    await kms.send(new RetireGrantCommand({ GrantToken: grant.GrantToken }));
    assert.equal((await kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants?.length, 0);
  });
});
