import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  GetKeyPolicyCommand,
  ListGrantsCommand,
  ListKeyPoliciesCommand,
  ListRetirableGrantsCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { grantTokenHash } from '../../src/kms/keys/grants.js';
import { testServerFixture } from '../helpers/server.js';

const ROLE = 'arn:aws:iam::111122223333:role/app';
const RETIRER = 'arn:aws:iam::111122223333:role/retirer';
const MISSING = '00000000-0000-4000-8000-000000000000';

describe('KMS key policies', () => {
  const fx = testServerFixture();

  it('new keys carry the default key policy; PutKeyPolicy replaces it', async () => {
    const { KeyMetadata: key } = await fx.kms.send(new CreateKeyCommand({}));
    const got = await fx.kms.send(new GetKeyPolicyCommand({ KeyId: key!.KeyId, PolicyName: 'default' }));
    assert.equal(got.PolicyName, 'default');
    const doc = JSON.parse(got.Policy!) as { Statement: Array<{ Principal: { AWS: string }; Action: string }> };
    assert.equal(doc.Statement[0]!.Principal.AWS, `arn:aws:iam::${key!.AWSAccountId}:root`);
    assert.equal(doc.Statement[0]!.Action, 'kms:*');
    const noName = await fx.kms.send(new GetKeyPolicyCommand({ KeyId: key!.Arn }));
    assert.equal(noName.Policy, got.Policy);
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'app', Effect: 'Allow', Principal: { AWS: ROLE }, Action: ['kms:Decrypt'], Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:app': 'x' } } }],
    });
    await fx.kms.send(new PutKeyPolicyCommand({ KeyId: key!.KeyId, PolicyName: 'default', Policy: policy, BypassPolicyLockoutSafetyCheck: true }));
    assert.equal((await fx.kms.send(new GetKeyPolicyCommand({ KeyId: key!.KeyId }))).Policy, policy);
    const names = await fx.kms.send(new ListKeyPoliciesCommand({ KeyId: key!.KeyId }));
    assert.deepEqual(names.PolicyNames, ['default']);
    assert.equal(names.Truncated, false);
  });

  it('rejects malformed policies, other policy names, unknown and pending-deletion keys', async () => {
    const { KeyMetadata: key } = await fx.kms.send(new CreateKeyCommand({}));
    for (const bad of ['not json', '{}', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }), JSON.stringify({ Statement: [{ Effect: 'Maybe', Principal: '*', Action: 'kms:*', Resource: '*' }] })]) {
      await assert.rejects(fx.kms.send(new PutKeyPolicyCommand({ KeyId: key!.KeyId, PolicyName: 'default', Policy: bad })), { name: 'MalformedPolicyDocumentException' }, bad);
    }
    await assert.rejects(fx.kms.send(new PutKeyPolicyCommand({ KeyId: key!.KeyId, PolicyName: 'default', Policy: 'x'.repeat(32769) })), { name: 'ValidationException' });
    await assert.rejects(fx.kms.send(new GetKeyPolicyCommand({ KeyId: key!.KeyId, PolicyName: 'other' })), { name: 'NotFoundException' });
    await assert.rejects(fx.kms.send(new GetKeyPolicyCommand({ KeyId: MISSING })), { name: 'NotFoundException' });
    await assert.rejects(fx.kms.send(new ListKeyPoliciesCommand({ KeyId: MISSING })), { name: 'NotFoundException' });
    await fx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key!.KeyId, PendingWindowInDays: 7 }));
    const ok = (await fx.kms.send(new GetKeyPolicyCommand({ KeyId: key!.KeyId }))).Policy!;
    await assert.rejects(fx.kms.send(new PutKeyPolicyCommand({ KeyId: key!.KeyId, PolicyName: 'default', Policy: ok })), { name: 'KMSInvalidStateException' });
  });
});

describe('KMS grants', () => {
  const fx = testServerFixture();
  const newKey = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) => (await fx.kms.send(new CreateKeyCommand(input))).KeyMetadata!;

  it('creates a grant and lists it with AWS shape; the token is stored only as its hash', async () => {
    const key = await newKey();
    const created = await fx.kms.send(
      new CreateGrantCommand({
        KeyId: key.KeyId,
        GranteePrincipal: ROLE,
        RetiringPrincipal: RETIRER,
        Operations: ['Encrypt', 'Decrypt', 'GenerateDataKey'],
        Constraints: { EncryptionContextSubset: { project: 'ml' } },
        Name: 'app-grant',
        GrantTokens: ['ignored-token'],
      }),
    );
    assert.match(created.GrantId!, /^[0-9a-f]{64}$/);
    assert.ok(created.GrantToken!.length >= 32);
    const stored = await fx.server.server.keys.deps.store.getGrant(key.KeyId!, created.GrantId!);
    assert.equal(stored?.tokenHash, grantTokenHash(created.GrantToken!));
    assert.ok(!JSON.stringify(stored).includes(created.GrantToken!));
    const listed = await fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId }));
    assert.equal(listed.Grants?.length, 1);
    const g = listed.Grants![0]!;
    assert.equal(g.KeyId, key.Arn);
    assert.equal(g.GrantId, created.GrantId);
    assert.equal(g.Name, 'app-grant');
    assert.equal(g.GranteePrincipal, ROLE);
    assert.equal(g.RetiringPrincipal, RETIRER);
    assert.equal(g.IssuingAccount, `arn:aws:iam::${key.AWSAccountId}:root`);
    assert.deepEqual(g.Operations, ['Encrypt', 'Decrypt', 'GenerateDataKey']);
    assert.deepEqual(g.Constraints, { EncryptionContextSubset: { project: 'ml' } });
    assert.ok(g.CreationDate instanceof Date);
    assert.equal(listed.Truncated, false);
  });

  it('re-creating a named grant with the same parameters returns the same GrantId; different parameters make a new grant', async () => {
    const key = await newKey();
    const input = { KeyId: key.KeyId, GranteePrincipal: ROLE, Operations: ['Decrypt' as const], Name: 'idem' };
    const a = await fx.kms.send(new CreateGrantCommand(input));
    const b = await fx.kms.send(new CreateGrantCommand({ ...input, KeyId: key.Arn }));
    assert.equal(b.GrantId, a.GrantId);
    assert.notEqual(b.GrantToken, a.GrantToken);
    const c = await fx.kms.send(new CreateGrantCommand({ ...input, Operations: ['Decrypt', 'Encrypt'] }));
    assert.notEqual(c.GrantId, a.GrantId);
    const unnamed1 = await fx.kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: ROLE, Operations: ['Decrypt'] }));
    const unnamed2 = await fx.kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: ROLE, Operations: ['Decrypt'] }));
    assert.notEqual(unnamed1.GrantId, unnamed2.GrantId);
    assert.equal((await fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants?.length, 4);
    // The latest token retires the grant.
    await fx.kms.send(new RetireGrantCommand({ GrantToken: b.GrantToken }));
    assert.equal((await fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId, GrantId: a.GrantId }))).Grants?.length, 0);
  });

  it('validates operations, constraints, principals and names', async () => {
    const key = await newKey();
    const hmac = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const send = (input: Record<string, unknown>) => fx.kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: ROLE, Operations: ['Decrypt'], ...input }));
    await assert.rejects(send({ Operations: ['Fly'] }), { name: 'ValidationException' });
    await assert.rejects(send({ Operations: [] }), { name: 'ValidationException' });
    await assert.rejects(send({ Operations: undefined }), { name: 'ValidationException' });
    await assert.rejects(send({ Operations: ['Sign'] }), { name: 'ValidationException' });
    await assert.rejects(fx.kms.send(new CreateGrantCommand({ KeyId: hmac.KeyId, GranteePrincipal: ROLE, Operations: ['Decrypt'] })), { name: 'ValidationException' });
    await fx.kms.send(new CreateGrantCommand({ KeyId: hmac.KeyId, GranteePrincipal: ROLE, Operations: ['GenerateMac', 'VerifyMac'] }));
    await assert.rejects(
      fx.kms.send(new CreateGrantCommand({ KeyId: hmac.KeyId, GranteePrincipal: ROLE, Operations: ['GenerateMac'], Constraints: { EncryptionContextEquals: { a: 'b' } } })),
      { name: 'ValidationException' },
    );
    await assert.rejects(send({ GranteePrincipal: 'has space' }), { name: 'ValidationException' });
    await assert.rejects(send({ GranteePrincipal: undefined }), { name: 'ValidationException' });
    await assert.rejects(send({ Name: 'bad name!' }), { name: 'ValidationException' });
    await assert.rejects(send({ GrantTokens: Array.from({ length: 11 }, () => 't') }), { name: 'ValidationException' });
    await assert.rejects(send({ KeyId: MISSING }), { name: 'NotFoundException' });
    const doomed = await newKey();
    await fx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId, PendingWindowInDays: 7 }));
    await assert.rejects(fx.kms.send(new CreateGrantCommand({ KeyId: doomed.KeyId, GranteePrincipal: ROLE, Operations: ['Decrypt'] })), { name: 'KMSInvalidStateException' });
  });

  it('filters and pages ListGrants; ListRetirableGrants spans keys', async () => {
    const key = await newKey();
    const other = await newKey();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const g = await fx.kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: i % 2 === 0 ? ROLE : `${ROLE}-${i}`, RetiringPrincipal: `${RETIRER}-paging`, Operations: ['Decrypt'] }));
      ids.push(g.GrantId!);
    }
    await fx.kms.send(new CreateGrantCommand({ KeyId: other.KeyId, GranteePrincipal: ROLE, RetiringPrincipal: `${RETIRER}-paging`, Operations: ['Encrypt'] }));
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId, Limit: 2, ...(marker ? { Marker: marker } : {}) }));
      seen.push(...page.Grants!.map((g) => g.GrantId!));
      assert.equal(page.Truncated, page.NextMarker !== undefined);
      marker = page.NextMarker;
    } while (marker !== undefined);
    assert.deepEqual(seen, ids);
    const byGrantee = await fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId, GranteePrincipal: ROLE }));
    assert.equal(byGrantee.Grants?.length, 3);
    const one = await fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId, GrantId: ids[1] }));
    assert.deepEqual(one.Grants?.map((g) => g.GrantId), [ids[1]]);
    const retirable = await fx.kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: `${RETIRER}-paging` }));
    assert.equal(retirable.Grants?.length, 6);
    assert.ok(retirable.Grants!.some((g) => g.KeyId === other.Arn));
    await assert.rejects(fx.kms.send(new ListGrantsCommand({ KeyId: MISSING })), { name: 'NotFoundException' });
    await assert.rejects(fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId, GrantId: 'not-a-grant-id' })), { name: 'InvalidGrantIdException' });
    await assert.rejects(fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId, Marker: 'bogus' })), { name: 'InvalidMarkerException' });
    await assert.rejects(fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId, Limit: 0 })), { name: 'ValidationException' });
    await assert.rejects(fx.kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: undefined })), { name: 'ValidationException' });
  });

  it('retires by token or by key + grant id, and revokes', async () => {
    const key = await newKey();
    const mk = () => fx.kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: ROLE, Operations: ['Decrypt'] }));
    const byToken = await mk();
    const byId = await mk();
    const revoked = await mk();
    await fx.kms.send(new RetireGrantCommand({ GrantToken: byToken.GrantToken }));
    await assert.rejects(fx.kms.send(new RetireGrantCommand({ GrantToken: byToken.GrantToken })), { name: 'InvalidGrantTokenException' });
    await fx.kms.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId: byId.GrantId }));
    await assert.rejects(fx.kms.send(new RetireGrantCommand({ KeyId: key.KeyId, GrantId: byId.GrantId })), { name: 'NotFoundException' });
    await assert.rejects(fx.kms.send(new RetireGrantCommand({ KeyId: key.KeyId })), { name: 'ValidationException' });
    await assert.rejects(fx.kms.send(new RetireGrantCommand({ KeyId: key.KeyId, GrantId: 'xyz' })), { name: 'InvalidGrantIdException' });
    await assert.rejects(fx.kms.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: 'xyz' })), { name: 'InvalidGrantIdException' });
    await assert.rejects(fx.kms.send(new RevokeGrantCommand({ KeyId: MISSING, GrantId: revoked.GrantId })), { name: 'NotFoundException' });
    await fx.kms.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: revoked.GrantId }));
    await assert.rejects(fx.kms.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: revoked.GrantId })), { name: 'NotFoundException' });
    await assert.rejects(fx.kms.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: byToken.GrantId, DryRun: true })), { name: 'NotFoundException' }, 'a dry run checks the grant as the call does');
    assert.equal((await fx.kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants?.length, 0);
  });
});
