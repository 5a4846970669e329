import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, DeleteAliasCommand, EncryptCommand } from '@aws-sdk/client-kms';
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
});
