import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateGrantCommand, CreateKeyCommand, ListGrantsCommand, type CreateGrantRequest, type GrantConstraints, type GrantOperation, type KeySpec, type KeyUsageType } from '@aws-sdk/client-kms';
import { testServerFixture } from '../helpers/server.js';

const ROLE = 'arn:aws:iam::111122223333:role/grantee';
const SUBSET: GrantConstraints = { EncryptionContextSubset: { project: 'alpha' } };
const EQUALS: GrantConstraints = { EncryptionContextEquals: { project: 'alpha' } };

// CreateGrant as the CreateGrant API reference describes it: an encryption context grant
// constraint cannot be used with asymmetric or HMAC KMS keys (their operations take no
// encryption context), and a grant cannot allow an operation the key does not support; both
// fail with ValidationException and create no grant. Symmetric keys keep their constraints.
describe('KMS CreateGrant: constraints and operations must fit the key', () => {
  const keys: Record<string, string> = {};
  const fx = testServerFixture(async ({ kms }) => {
    const specs: Array<[string, KeySpec, KeyUsageType]> = [
      ['symmetric', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
      ['rsa', 'RSA_2048', 'ENCRYPT_DECRYPT'],
      ['ecc', 'ECC_NIST_P256', 'SIGN_VERIFY'],
      ['hmac', 'HMAC_256', 'GENERATE_VERIFY_MAC'],
    ];
    for (const [name, KeySpec, KeyUsage] of specs) {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage }));
      keys[name] = KeyMetadata!.KeyId!;
    }
  });

  const grant = (key: string, Operations: GrantOperation[], Constraints?: GrantConstraints) => {
    const input: CreateGrantRequest = { KeyId: keys[key]!, GranteePrincipal: ROLE, Operations, ...(Constraints !== undefined ? { Constraints } : {}) };
    return fx.kms.send(new CreateGrantCommand(input));
  };
  const grantCount = async (key: string): Promise<number> => (await fx.kms.send(new ListGrantsCommand({ KeyId: keys[key]! }))).Grants?.length ?? 0;

  it('refuses an encryption context constraint on an asymmetric encryption key, whatever the operations', async () => {
    const cases: Array<[GrantOperation[], GrantConstraints]> = [
      [['Encrypt', 'Decrypt'], SUBSET],
      [['ReEncryptFrom', 'ReEncryptTo'], EQUALS],
      [['DescribeKey'], SUBSET],
      [['Decrypt'], { ...SUBSET, ...EQUALS }],
    ];
    for (const [ops, constraints] of cases) {
      await assert.rejects(grant('rsa', ops, constraints), { name: 'ValidationException' }, ops.join(','));
    }
    assert.equal(await grantCount('rsa'), 0);
  });

  it('refuses an encryption context constraint on a signing key and on an HMAC key', async () => {
    await assert.rejects(grant('ecc', ['DescribeKey'], SUBSET), { name: 'ValidationException' });
    await assert.rejects(grant('ecc', ['CreateGrant', 'RetireGrant'], EQUALS), { name: 'ValidationException' });
    await assert.rejects(grant('hmac', ['DescribeKey'], EQUALS), { name: 'ValidationException' });
    await assert.rejects(grant('hmac', ['RetireGrant'], SUBSET), { name: 'ValidationException' });
    assert.equal(await grantCount('ecc'), 0);
    assert.equal(await grantCount('hmac'), 0);
  });

  it('the same grants without a constraint are created', async () => {
    await grant('rsa', ['Encrypt', 'Decrypt']);
    await grant('ecc', ['Sign', 'Verify', 'DescribeKey']);
    await grant('hmac', ['GenerateMac', 'VerifyMac', 'DescribeKey']);
    for (const key of ['rsa', 'ecc', 'hmac']) assert.equal(await grantCount(key), 1, key);
  });

  it('a symmetric key still takes both constraints, and lists them', async () => {
    await grant('symmetric', ['Encrypt', 'Decrypt', 'GenerateDataKey'], { ...SUBSET, ...EQUALS });
    const listed = (await fx.kms.send(new ListGrantsCommand({ KeyId: keys['symmetric']! }))).Grants ?? [];
    assert.equal(listed.length, 1);
    assert.deepEqual(listed[0]?.Constraints, { ...SUBSET, ...EQUALS });
  });

  it('refuses grant operations the key usage does not support', async () => {
    const before = await Promise.all(['ecc', 'rsa', 'symmetric', 'hmac'].map(grantCount));
    await assert.rejects(grant('ecc', ['Encrypt']), { name: 'ValidationException' });
    await assert.rejects(grant('rsa', ['Sign']), { name: 'ValidationException' });
    await assert.rejects(grant('rsa', ['GenerateDataKey']), { name: 'ValidationException' });
    await assert.rejects(grant('symmetric', ['Verify']), { name: 'ValidationException' });
    await assert.rejects(grant('hmac', ['Decrypt']), { name: 'ValidationException' });
    assert.deepEqual(await Promise.all(['ecc', 'rsa', 'symmetric', 'hmac'].map(grantCount)), before, 'no refused grant was created');
  });
});
