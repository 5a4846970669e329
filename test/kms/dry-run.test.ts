import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateGrantCommand, CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand, GenerateDataKeyCommand, ListGrantsCommand, ReEncryptCommand, RetireGrantCommand, RevokeGrantCommand } from '@aws-sdk/client-kms';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { testServerFixture } from '../helpers/server.js';

// DryRun (https://docs.aws.amazon.com/kms/latest/developerguide/testing-permissions.html):
// DryRunOperationException (412) when the call would succeed, else the call's own error;
// never an operation, and recorded in the trail like any call, with nothing secret in it.
describe('KMS DryRun', () => {
  const fx = testServerFixture();
  const newKey = async (): Promise<string> => (await fx.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;

  it("ReEncrypt's dry run answers what the call would when its source key is disabled, named or the blob's", async () => {
    const source = await newKey();
    const destination = await newKey();
    const blob = (await fx.kms.send(new EncryptCommand({ KeyId: source, Plaintext: Buffer.from('x') }))).CiphertextBlob!;
    const reEncrypt = (dry: boolean, named: boolean) =>
      sdkOutcome(fx.kms.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: destination, DryRun: dry, ...(named ? { SourceKeyId: source } : {}) })));
    assert.equal(await reEncrypt(true, false), '412 DryRunOperationException');
    await fx.kms.send(new DisableKeyCommand({ KeyId: source }));
    for (const named of [false, true]) {
      assert.equal(await reEncrypt(false, named), '400 DisabledException', 'the call');
      assert.equal(await reEncrypt(true, named), '400 DisabledException', `the dry run, source named: ${named}`);
    }
  });

  it('runs every check of the call: key usage, IncorrectKey, the encryption context, as the call answers them', async () => {
    const signing = (await fx.kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }))).KeyMetadata!.KeyId!;
    const encryptSigning = (dry: boolean) => sdkOutcome(fx.kms.send(new EncryptCommand({ KeyId: signing, Plaintext: Buffer.from('x'), DryRun: dry })));
    assert.equal(await encryptSigning(false), '400 InvalidKeyUsageException', 'the call');
    assert.equal(await encryptSigning(true), '400 InvalidKeyUsageException', 'the dry run');
    const dataKeySigning = await sdkOutcome(fx.kms.send(new GenerateDataKeyCommand({ KeyId: signing, KeySpec: 'AES_256', DryRun: true })));
    assert.equal(dataKeySigning, '400 InvalidKeyUsageException', 'GenerateDataKey dry run on a signing key');
    const [owner, other] = [await newKey(), await newKey()];
    const blob = (await fx.kms.send(new EncryptCommand({ KeyId: owner, Plaintext: Buffer.from('x'), EncryptionContext: { a: '1' } }))).CiphertextBlob!;
    const decrypt = (dry: boolean, keyId: string, context: Record<string, string>) => sdkOutcome(fx.kms.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyId, EncryptionContext: context, DryRun: dry })));
    assert.equal(await decrypt(false, other, { a: '1' }), '400 IncorrectKeyException', 'the call');
    assert.equal(await decrypt(true, other, { a: '1' }), '400 IncorrectKeyException', 'the dry run, another key named');
    assert.equal(await decrypt(true, owner, { a: '2' }), '400 InvalidCiphertextException', 'the dry run, another context');
    assert.equal(await decrypt(true, owner, { a: '1' }), '412 DryRunOperationException', 'the dry run that would succeed');
  });

  it('CreateGrant, RetireGrant and RevokeGrant take DryRun: checked as the call, answered 412, nothing stored or deleted', async () => {
    const keyId = await newKey();
    const grantee = 'arn:aws:iam::000000000000:role/dry-run-grantee';
    const grantCount = async () => (await fx.kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants?.length ?? 0;
    const create = (operations: string[]) => sdkOutcome(fx.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: grantee, Operations: operations as ['Decrypt'], DryRun: true })));
    assert.equal(await create(['Decrypt']), '412 DryRunOperationException');
    assert.equal(await create(['Sign']), '400 ValidationException', 'an operation the key cannot do, as the call');
    assert.equal(await grantCount(), 0, 'a dry run stores no grant');
    const grant = await fx.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: grantee, Operations: ['Decrypt'] }));
    assert.equal(await sdkOutcome(fx.kms.send(new RetireGrantCommand({ GrantToken: grant.GrantToken, DryRun: true }))), '412 DryRunOperationException');
    assert.equal(await sdkOutcome(fx.kms.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grant.GrantId, DryRun: true }))), '412 DryRunOperationException');
    assert.equal(await grantCount(), 1, 'a dry run deletes no grant');
    const unknownGrant = 'f'.repeat(64);
    assert.equal(await sdkOutcome(fx.kms.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: unknownGrant, DryRun: true }))), '400 NotFoundException');
    assert.equal(await sdkOutcome(fx.kms.send(new RetireGrantCommand({ GrantToken: 'not-a-token', DryRun: true }))), '400 InvalidGrantTokenException');
  });

  it('a Decrypt dry run of a blob naming no key of ours is InvalidCiphertextException, as the call', async () => {
    const garbage = randomBytes(120);
    assert.equal(await sdkOutcome(fx.kms.send(new DecryptCommand({ CiphertextBlob: garbage }))), '400 InvalidCiphertextException');
    assert.equal(await sdkOutcome(fx.kms.send(new DecryptCommand({ CiphertextBlob: garbage, DryRun: true }))), '400 InvalidCiphertextException');
  });

  it('is recorded with its error code and no plaintext, and returns no key material', async () => {
    const keyId = await newKey();
    const marker = `dry-run-marker-${randomBytes(8).toString('hex')}`;
    await assert.rejects(fx.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(marker), DryRun: true })), { name: 'DryRunOperationException' });
    const dataKey = await fx.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', DryRun: true })).then(
      (r) => r,
      (err: Error) => err.name,
    );
    assert.equal(dataKey, 'DryRunOperationException');
    await fx.server.server.audit.flush();
    const { records } = await fx.server.server.auditStore.lookup({ keyId, errorsOnly: true, limit: 10 });
    const byName = new Map(records.map((r) => [r.event.eventName, r.event]));
    for (const name of ['Encrypt', 'GenerateDataKey']) assert.equal(byName.get(name)?.errorCode, 'DryRunOperationException', name);
    // And no record of the key claims either call succeeded (the dry run's result is dropped, not recorded).
    const all = (await fx.server.server.auditStore.lookup({ keyId, limit: 50 })).records.map((r) => r.event).filter((e) => e.eventName === 'Encrypt' || e.eventName === 'GenerateDataKey');
    assert.deepEqual(all.map((e) => e.errorCode).sort(), ['DryRunOperationException', 'DryRunOperationException'], 'one record each, both failed');
    assert.equal(all.some((e) => e.additionalEventData !== undefined && e.additionalEventData !== null), false, 'no key material named as used');
    // Every record in the trail, not only this key's failed ones: the plaintext is in none of them.
    const recorded = JSON.stringify((await fx.server.server.auditStore.lookup({ limit: 1000 })).records);
    assert.ok(recorded.includes('DryRunOperationException'), 'the whole trail was read');
    for (const form of [marker, Buffer.from(marker).toString('base64'), Buffer.from(marker).toString('hex')]) {
      assert.equal(recorded.includes(form), false, `the plaintext is never recorded (${form.slice(0, 12)}…)`);
    }
    assert.equal(byName.get('GenerateDataKey')?.responseElements ?? null, null, 'a failed call has no response elements');
  });
});
