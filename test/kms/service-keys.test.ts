import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DeleteAliasCommand, DescribeKeyCommand, GetKeyPolicyCommand, UpdateAliasCommand, GetPublicKeyCommand, SignCommand, type SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { AUDIT_SIGNING_ALIAS, CLOUDTRAIL_DIGEST_ALIAS, KmsAuditSigner, openCloudTrailDigestKey } from '../../src/kms/index.js';
import { defaultKeyPolicy } from '../../src/kms/keys/default-policy.js';
import { serviceKeyPolicy } from '../../src/kms/service-keys.js';
import { UserKmsClients } from '../iam/query-client.js';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { testServerFixture, TEST_REGION } from '../helpers/server.js';

const SIGNING: ReadonlyArray<readonly [string, SigningAlgorithmSpec]> = [
  [AUDIT_SIGNING_ALIAS, 'ECDSA_SHA_256'],
  [CLOUDTRAIL_DIGEST_ALIAS, 'RSASSA_PKCS1_V1_5_SHA_256'],
];

// The keys the server signs digests with (the trail's, and exported CloudTrail digest files')
// are used inside the key service only: an API caller who could sign with them could forge a
// digest over whatever the trail or an export holds. Their public halves stay readable.
describe('KMS: the server\'s own signing keys', () => {
  const fx = testServerFixture();

  it('the account root may read them but not sign with them, nor grant their use', async () => {
    for (const [alias, algorithm] of SIGNING) {
      const signed = await sdkOutcome(fx.kms.send(new SignCommand({ KeyId: alias, Message: Buffer.from('a forged digest'), MessageType: 'RAW', SigningAlgorithm: algorithm })));
      assert.equal(signed, '400 AccessDeniedException', alias);
      const granted = await sdkOutcome(fx.kms.send(new CreateGrantCommand({ KeyId: alias, GranteePrincipal: 'arn:aws:iam::000000000000:root', Operations: ['Sign'] })));
      assert.match(granted, /^400 (AccessDeniedException|UnsupportedOperationException)$/, alias);
      const pub = await fx.kms.send(new GetPublicKeyCommand({ KeyId: alias }));
      assert.ok(createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyType, alias);
      const policy = await fx.kms.send(new GetKeyPolicyCommand({ KeyId: alias, PolicyName: 'default' }));
      assert.equal(policy.Policy, serviceKeyPolicy('000000000000'), alias);
    }
  });

  it('their aliases cannot be pointed elsewhere, deleted, or joined by a caller\'s own under alias/cipherlake/', async () => {
    const mine = (await fx.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    for (const [alias] of SIGNING) {
      const before = (await fx.kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata!.KeyId;
      assert.equal(await sdkOutcome(fx.kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: mine }))), '400 InvalidAliasNameException', alias);
      assert.equal(await sdkOutcome(fx.kms.send(new DeleteAliasCommand({ AliasName: alias }))), '400 InvalidAliasNameException', alias);
      assert.equal((await fx.kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata!.KeyId, before, alias);
    }
    assert.equal(await sdkOutcome(fx.kms.send(new CreateAliasCommand({ AliasName: 'alias/cipherlake/mine', TargetKeyId: mine }))), '400 InvalidAliasNameException');
  });

  it('an IAM user allowed kms:* cannot sign with them either', async () => {
    const users = new UserKmsClients();
    try {
      const user = await users.create(fx.server, 'signer', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }));
      // The policy does reach KMS: the same user may create a key of its own.
      assert.equal(await sdkOutcome(user.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))), 'ok');
      for (const [alias, algorithm] of SIGNING) {
        assert.equal(await sdkOutcome(user.send(new SignCommand({ KeyId: alias, Message: Buffer.from('x'), MessageType: 'RAW', SigningAlgorithm: algorithm }))), '400 AccessDeniedException', alias);
      }
    } finally {
      users.destroy();
    }
  });

  it('a key an earlier version made with the default policy gets the signing-key policy when the server opens it', async () => {
    const keys = fx.server.server.keys;
    for (const [alias, open] of [[AUDIT_SIGNING_ALIAS, () => KmsAuditSigner.open(keys)], [CLOUDTRAIL_DIGEST_ALIAS, () => openCloudTrailDigestKey(keys)]] as const) {
      const target = (await keys.deps.store.getAlias(alias))!.targetKeyId;
      await keys.update(await keys.deps.store.getKey(target), { policy: defaultKeyPolicy('000000000000') });
      const [, algorithm] = SIGNING.find(([a]) => a === alias)!;
      assert.equal(await sdkOutcome(fx.kms.send(new SignCommand({ KeyId: alias, Message: Buffer.from('x'), MessageType: 'RAW', SigningAlgorithm: algorithm }))), 'ok', `${alias}: the old policy let the root sign`);
      await open();
      assert.equal((await keys.deps.store.getKey(target)).policy, serviceKeyPolicy('000000000000'), alias);
      assert.equal(await sdkOutcome(fx.kms.send(new SignCommand({ KeyId: alias, Message: Buffer.from('x'), MessageType: 'RAW', SigningAlgorithm: algorithm }))), '400 AccessDeniedException', alias);
    }
  });

  it('refuses to sign with an alias repointed at a key the server did not make (a customer key), naming it', async () => {
    const keys = fx.server.server.keys;
    const store = keys.deps.store;
    const alias = (await store.getAlias(AUDIT_SIGNING_ALIAS))!;
    const mine = (await fx.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    await store.updateAlias({ ...alias, targetKeyId: mine });
    try {
      await assert.rejects(KmsAuditSigner.open(keys), new RegExp(`names arn:aws:kms:${TEST_REGION}:000000000000:key/${mine}, a customer managed ECC_NIST_P256 SIGN_VERIFY key`));
      assert.notEqual((await store.getKey(mine)).policy, serviceKeyPolicy('000000000000'), 'the customer key is left as it was');
    } finally {
      await store.updateAlias(alias);
    }
  });
});
