import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DecryptCommand, DeleteAliasCommand, EncryptCommand, ReEncryptCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { testServerFixture, TEST_REGION } from '../helpers/server.js';

// A KMS call's record lists the key it used in resources, as CloudTrail does: also when the
// request names it by alias (requestParameters keep the alias as sent) and when a Decrypt
// names no key (the blob's). DeleteAlias names its alias; an alias naming nothing is listed as named.
describe('KMS audit: the key a call used', () => {
  const fx = testServerFixture();
  const arnOf = (keyId: string): string => `arn:aws:kms:${TEST_REGION}:000000000000:key/${keyId}`;

  it('Encrypt by alias and Decrypt without KeyId list the key; DeleteAlias and an unknown alias are listed as named', async () => {
    const keyId = (await fx.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await fx.kms.send(new CreateAliasCommand({ AliasName: 'alias/audit-named', TargetKeyId: keyId }));
    const blob = (await fx.kms.send(new EncryptCommand({ KeyId: 'alias/audit-named', Plaintext: Buffer.from('named') }))).CiphertextBlob!;
    assert.equal(Buffer.from((await fx.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'named');
    await fx.kms.send(new DeleteAliasCommand({ AliasName: 'alias/audit-named' }));
    assert.equal(await sdkOutcome(fx.kms.send(new EncryptCommand({ KeyId: 'alias/audit-named', Plaintext: Buffer.from('x') }))), '400 NotFoundException');

    await fx.server.server.audit.flush();
    const { records } = await fx.server.server.auditStore.lookup({ limit: 50 });
    const events = records.map((r) => r.event).filter((e) => ['Encrypt', 'Decrypt', 'DeleteAlias'].includes(e.eventName));
    const resources = (name: string, errorCode?: string) =>
      events.filter((e) => e.eventName === name && e.errorCode === errorCode).map((e) => e.resources?.map((r) => [r.ARN, r.type]));
    const key = [[arnOf(keyId), 'AWS::KMS::Key']];
    assert.deepEqual(resources('Encrypt'), [key], 'Encrypt by alias lists the key');
    assert.deepEqual(resources('Decrypt'), [key], 'Decrypt without KeyId lists the blob’s key');
    const byAlias = events.find((e) => e.eventName === 'Encrypt' && e.errorCode === undefined);
    assert.equal((byAlias?.requestParameters as Record<string, unknown> | undefined)?.['keyId'], 'alias/audit-named', 'requestParameters keep the alias as sent');
    const aliasArn = `arn:aws:kms:${TEST_REGION}:000000000000:alias/audit-named`;
    assert.deepEqual(resources('DeleteAlias'), [[[aliasArn, 'AWS::KMS::Key']]], 'DeleteAlias names its alias');
    assert.deepEqual(resources('Encrypt', 'NotFoundException'), [[[aliasArn, 'AWS::KMS::Key']]], 'an alias naming nothing is listed as named');
    assert.equal(JSON.stringify(records).includes(Buffer.from('named').toString('base64')), false, 'no plaintext recorded');
  });

  const recordsOf = async (eventName: string) => {
    await fx.server.server.audit.flush();
    const { records } = await fx.server.server.auditStore.lookup({ limit: 200 });
    return records.map((r) => r.event).filter((e) => e.eventName === eventName);
  };

  it('ReEncrypt lists the source key then the destination key, as CloudTrail does; on a failure too', async () => {
    const [source, destination] = [(await fx.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!, (await fx.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!];
    const blob = (await fx.kms.send(new EncryptCommand({ KeyId: source, Plaintext: Buffer.from('re'), EncryptionContext: { c: '1' } }))).CiphertextBlob!;
    await fx.kms.send(new ReEncryptCommand({ CiphertextBlob: blob, SourceEncryptionContext: { c: '1' }, DestinationKeyId: destination }));
    const wrongContext = await sdkOutcome(fx.kms.send(new ReEncryptCommand({ CiphertextBlob: blob, SourceEncryptionContext: { c: '2' }, DestinationKeyId: destination })));
    assert.equal(wrongContext, '400 InvalidCiphertextException');
    const both = [[arnOf(source), 'AWS::KMS::Key'], [arnOf(destination), 'AWS::KMS::Key']];
    const listed = (await recordsOf('ReEncrypt')).filter((e) => e.resources?.some((r) => r.ARN === arnOf(destination)));
    const byOutcome = listed.map((e) => [e.errorCode ?? 'ok', e.resources?.map((r) => [r.ARN, r.type])] as const).sort((a, b) => a[0].localeCompare(b[0]));
    assert.deepEqual(byOutcome, [['InvalidCiphertextException', both], ['ok', both]]);
  });

  it('a Decrypt of a forged blob does not list the key id it claims unless that key exists here', async () => {
    const keyId = (await fx.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blob = Buffer.from((await fx.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('forged') }))).CiphertextBlob!);
    // The blob's header names its key by the UUID's 16 bytes after the version byte (src/kms/FORMAT.md).
    const claimed = randomUUID();
    const forged = Buffer.from(blob);
    Buffer.from(claimed.replaceAll('-', ''), 'hex').copy(forged, 1);
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1]! ^= 1;
    for (const b of [forged, tampered]) assert.equal(await sdkOutcome(fx.kms.send(new DecryptCommand({ CiphertextBlob: b }))), '400 InvalidCiphertextException');
    const failed = (await recordsOf('Decrypt')).filter((e) => e.errorCode === 'InvalidCiphertextException');
    assert.equal(JSON.stringify(failed).includes(claimed), false, 'a key that does not exist is never listed');
    assert.equal(failed.length, 2, 'one failed record per blob');
    assert.equal(failed.filter((e) => e.resources === undefined || e.resources.length === 0).length, 1, 'the forged blob’s record lists no key');
    assert.deepEqual(failed.filter((e) => e.resources?.some((r) => r.ARN === arnOf(keyId))).length, 1, 'a tampered blob of an existing key still lists it');
  });

  it('a RetireGrant by GrantToken alone lists the grant’s key and records its grant id, as CloudTrail does', async () => {
    const keyId = (await fx.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const grant = await fx.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: 'arn:aws:iam::000000000000:role/retired-by-token', Operations: ['Decrypt'] }));
    await fx.kms.send(new RetireGrantCommand({ GrantToken: grant.GrantToken }));
    const retired = (await recordsOf('RetireGrant')).filter((e) => e.errorCode === undefined && e.additionalEventData?.['grantId'] === grant.GrantId);
    assert.equal(retired.length, 1, 'the record carries the grant id (additionalEventData.grantId)');
    assert.deepEqual(retired[0]!.resources?.map((r) => [r.ARN, r.type]), [[arnOf(keyId), 'AWS::KMS::Key']]);
    assert.equal(JSON.stringify(retired[0]).includes(grant.GrantToken!), false, 'never the token');
  });
});
