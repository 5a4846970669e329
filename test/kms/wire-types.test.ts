import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { rawKmsRequest, type RawResponse } from '../helpers/signed-request.js';

/*
 * A KMS request member of the wrong JSON type fails deserialization: AWS's JSON 1.1 services
 * (Coral) deserialize the body before they validate it and answer SerializationException (400);
 * a value of the right type that breaks a constraint is ValidationException. Evidence (no public
 * capture of KMS itself answering each case was found; every source below is another Coral JSON
 * service, or AWS's protocol specification):
 * - Smithy's AWS protocol tests (smithy-lang/smithy, smithy-aws-protocol-tests/model/restJson1/
 *   malformedRequests/): a string, a boolean or a fraction for an Integer, a blob that is not
 *   base64, a null value in a dense map → 400 SerializationException.
 * - Emulators whose authors measured the real service with raw HTTP: Athena (awsJson1.1, measured
 *   2026-09-23: "STRING_VALUE can not be converted to an Integer", "NUMBER_VALUE can not be
 *   converted to a String", "TRUE_VALUE …", "Start of list found where not expected", "Start of
 *   structure or map found where not expected.", "Expected list or null", "Expected null"; an
 *   explicit null is absent: a required one is ValidationException "Value null at '…' failed to
 *   satisfy constraint: Member must not be null"; a fraction for an Integer is truncated; a null
 *   list element is dropped), Kinesis and SES v2 ("STRING_VALUE can not be converted to an
 *   Boolean"), DynamoDB (dynalite, moto: "NUMBER_VALUE cannot be converted to String", "Start of
 *   structure or map found where not expected").
 * - local-kms (nsmithuk/local-kms#5): an invalid base64 CiphertextBlob "returns
 *   SerializationException as expected".
 * The exact KMS wording of each message is therefore the Coral deserializer's as measured on
 * those services, not a KMS capture; the code is what clients act on, so the code is what the
 * tests below pin first.
 */
describe('KMS wire: members of the wrong JSON type', () => {
  let t: TestServer;
  let keyId: string;

  before(async () => {
    t = await startTestServer();
    keyId = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  });
  after(async () => t.close());

  const send = (operation: string, body: Record<string, unknown>): Promise<RawResponse> => rawKmsRequest(t.endpoint, { target: `TrentService.${operation}`, body: JSON.stringify(body) });

  async function expectSerialization(operation: string, body: Record<string, unknown>, message: string): Promise<void> {
    const r = await send(operation, body);
    const what = `${operation} ${JSON.stringify(body)}`;
    assert.equal(`${r.status} ${r.json.__type}`, '400 SerializationException', what);
    assert.equal(r.json.message, message, what);
  }

  it('a number for KeyId → SerializationException', async () => {
    await expectSerialization('DescribeKey', { KeyId: 1234 }, 'NUMBER_VALUE can not be converted to a String');
    await expectSerialization('Encrypt', { KeyId: 12.5, Plaintext: 'aGk=' }, 'NUMBER_VALUE can not be converted to a String');
  });

  it('an array for EncryptionContext → SerializationException', async () => {
    await expectSerialization('Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: ['a', 'b'] }, 'Start of list found where not expected');
    await expectSerialization('Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: 'a=b' }, 'Expected null');
    await expectSerialization('Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: { a: true } }, 'TRUE_VALUE can not be converted to a String');
  });

  it('a string for NumberOfBytes → SerializationException', async () => {
    await expectSerialization('GenerateDataKey', { KeyId: keyId, NumberOfBytes: '32' }, 'STRING_VALUE can not be converted to an Integer');
    await expectSerialization('GenerateRandom', { NumberOfBytes: '16' }, 'STRING_VALUE can not be converted to an Integer');
  });

  it('an object for Plaintext → SerializationException, and the message never echoes the value', async () => {
    const secret = { marker: 'plaintext-marker-1f2e3d' };
    await expectSerialization('Encrypt', { KeyId: keyId, Plaintext: secret }, 'Start of structure or map found where not expected.');
    const r = await send('Encrypt', { KeyId: keyId, Plaintext: 'not base64 plaintext-marker-1f2e3d' });
    assert.equal(`${r.status} ${r.json.__type}`, '400 SerializationException');
    assert.doesNotMatch(JSON.stringify(r.json), /plaintext-marker/);
  });

  it('a boolean for a string → SerializationException', async () => {
    await expectSerialization('DescribeKey', { KeyId: true }, 'TRUE_VALUE can not be converted to a String');
    await expectSerialization('CreateKey', { Description: false }, 'FALSE_VALUE can not be converted to a String');
    await expectSerialization('CreateKey', { MultiRegion: 'no' }, 'STRING_VALUE can not be converted to an Boolean');
    await expectSerialization('Encrypt', { KeyId: keyId, Plaintext: 'aGk=', GrantTokens: [false] }, 'FALSE_VALUE can not be converted to a String');
    await expectSerialization('Encrypt', { KeyId: keyId, Plaintext: 'aGk=', GrantTokens: 'token' }, 'Expected list or null');
  });

  it('null for a required member is that member missing → ValidationException; null for an optional one is absent', async () => {
    for (const [operation, body, field] of [
      ['DescribeKey', { KeyId: null }, 'keyId'],
      ['Decrypt', { CiphertextBlob: null }, 'ciphertextBlob'],
      ['Encrypt', { KeyId: keyId, Plaintext: null }, 'plaintext'],
    ] as const) {
      const r = await send(operation, body);
      assert.equal(`${r.status} ${r.json.__type}`, '400 ValidationException', operation);
      assert.equal(r.json.message, `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`, operation);
    }
    const encrypted = await send('Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: null, GrantTokens: null, EncryptionAlgorithm: null });
    assert.equal(encrypted.status, 200, JSON.stringify(encrypted.json));
    const random = await send('GenerateRandom', { NumberOfBytes: 8, CustomKeyStoreId: null });
    assert.equal(random.status, 200, JSON.stringify(random.json));
  });

  it('a null element of a list is dropped, as Athena\'s deserializer drops it; a null value in a map is SerializationException', async () => {
    // Eleven tokens of which one is null: ten remain, within GrantTokens' limit of ten.
    const tokens = [...Array.from({ length: 10 }, () => 't'), null];
    const r = await send('Encrypt', { KeyId: keyId, Plaintext: 'aGk=', GrantTokens: tokens });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const withNull = await send('Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: { a: null } });
    assert.equal(`${withNull.status} ${withNull.json.__type}`, '400 SerializationException');
  });

  it('a wrong type wins over a constraint broken earlier in the body, as deserialization comes before validation', async () => {
    // KeyId breaks its length constraint and is read first; Plaintext is of the wrong type.
    await expectSerialization('Encrypt', { KeyId: '', Plaintext: 5 }, 'NUMBER_VALUE can not be converted to a Blob');
    await expectSerialization('GenerateDataKey', { KeyId: 'k'.repeat(3000), NumberOfBytes: 32, GrantTokens: [7] }, 'NUMBER_VALUE can not be converted to a String');
    await expectSerialization('CreateKey', { KeySpec: 'AES_999', MultiRegion: 1 }, 'NUMBER_VALUE can not be converted to an Boolean');
  });

  const grantee = 'arn:aws:iam::000000000000:root';
  const grant = (constraints: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ KeyId: keyId, GranteePrincipal: grantee, Operations: ['Decrypt'], Constraints: constraints, ...extra });

  const keyCount = async (): Promise<number> => {
    const r = await send('ListKeys', { Limit: 1000 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return (r.json.Keys as unknown[]).length;
  };

  it('Tags of the wrong JSON type (the list, a tag, a TagKey or TagValue) → SerializationException, in CreateKey and TagResource', async () => {
    const keysBefore = await keyCount();
    await expectSerialization('CreateKey', { Tags: { a: 'b' } }, 'Start of structure or map found where not expected.');
    await expectSerialization('CreateKey', { Tags: 'team=ml' }, 'Expected list or null');
    await expectSerialization('CreateKey', { Tags: ['team'] }, 'Expected null');
    await expectSerialization('CreateKey', { Tags: [['team', 'ml']] }, 'Start of list found where not expected');
    await expectSerialization('CreateKey', { Tags: [{ TagKey: 5, TagValue: 'v' }] }, 'NUMBER_VALUE can not be converted to a String');
    await expectSerialization('TagResource', { KeyId: keyId, Tags: [{ TagKey: 'k', TagValue: true }] }, 'TRUE_VALUE can not be converted to a String');
    await expectSerialization('TagResource', { KeyId: keyId, Tags: [{ TagKey: 'k', TagValue: { v: 1 } }] }, 'Start of structure or map found where not expected.');
    // The wrong type in the second tag wins over the first tag's empty TagKey.
    await expectSerialization('TagResource', { KeyId: keyId, Tags: [{ TagKey: '', TagValue: 'v' }, { TagKey: 'k', TagValue: 1 }] }, 'NUMBER_VALUE can not be converted to a String');
    const tags = await send('ListResourceTags', { KeyId: keyId });
    assert.deepEqual(tags.json.Tags, [], 'no refused TagResource tagged the key');
    assert.equal(await keyCount(), keysBefore, 'no refused CreateKey made a key');
  });

  it("grant Constraints of the wrong JSON type (the structure, a context, a context's value) → SerializationException", async () => {
    await expectSerialization('CreateGrant', grant('team=ml'), 'Expected null');
    await expectSerialization('CreateGrant', grant([{ EncryptionContextSubset: { team: 'ml' } }]), 'Start of list found where not expected');
    await expectSerialization('CreateGrant', grant({ EncryptionContextEquals: ['team', 'ml'] }), 'Start of list found where not expected');
    await expectSerialization('CreateGrant', grant({ EncryptionContextSubset: { team: 7 } }), 'NUMBER_VALUE can not be converted to a String');
    await expectSerialization('CreateGrant', grant({ EncryptionContextSubset: { team: null } }), 'Null value found in a map where not expected');
    // Constraints are read before Operations: the wrong type in Operations wins over the oversized constraint value.
    await expectSerialization('CreateGrant', grant({ EncryptionContextEquals: { team: 'x'.repeat(400) } }, { Operations: [5] }), 'NUMBER_VALUE can not be converted to a String');
    const grants = await send('ListGrants', { KeyId: keyId });
    assert.deepEqual(grants.json.Grants, [], 'no refused CreateGrant made a grant');
  });

  it('Tags and Constraints of the right types that break a constraint stay ValidationException; a null tag is dropped', async () => {
    const keysBefore = await keyCount();
    for (const [operation, body] of [
      ['CreateKey', { Tags: [{ TagKey: '', TagValue: 'v' }] }],
      ['CreateKey', { Tags: [{ TagKey: 'k' }] }],
      ['CreateKey', { Tags: [{ TagKey: 'k'.repeat(129), TagValue: 'v' }] }],
      ['CreateGrant', grant({ EncryptionContextEquals: { '': 'v' } })],
      ['CreateGrant', grant({ EncryptionContextSubset: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v'])) })],
      ['CreateGrant', grant({ EncryptionContextEquals: { team: 'x'.repeat(400) } })],
      ['CreateGrant', grant({ SomethingElse: { a: 'b' } })],
    ] as const) {
      const r = await send(operation, body);
      assert.equal(`${r.status} ${r.json.__type}`, '400 ValidationException', `${operation} ${JSON.stringify(body).slice(0, 80)}`);
    }
    assert.equal(await keyCount(), keysBefore, 'no refused CreateKey made a key');
    const created = await send('CreateKey', { Tags: [null, { TagKey: 'team', TagValue: 'ml' }] });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const id = (created.json.KeyMetadata as { KeyId: string }).KeyId;
    assert.deepEqual((await send('ListResourceTags', { KeyId: id })).json.Tags, [{ TagKey: 'team', TagValue: 'ml' }]);
    const granted = await send('CreateGrant', grant({ EncryptionContextSubset: { team: 'ml' } }));
    assert.equal(granted.status, 200, JSON.stringify(granted.json));
  });

  it('values of the right type that break a constraint stay ValidationException', async () => {
    for (const [operation, body] of [
      ['DescribeKey', { KeyId: '' }],
      ['GenerateDataKey', { KeyId: keyId, NumberOfBytes: 2000 }],
      ['GenerateDataKey', { KeyId: keyId, NumberOfBytes: 32.5 }],
      ['GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_999' }],
      ['Encrypt', { KeyId: keyId, Plaintext: '' }],
      ['Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: { '': 'v' } }],
      ['Encrypt', { KeyId: keyId, Plaintext: 'aGk=', GrantTokens: Array.from({ length: 11 }, () => 't') }],
    ] as const) {
      const r = await send(operation, body);
      assert.equal(`${r.status} ${r.json.__type}`, '400 ValidationException', `${operation} ${JSON.stringify(body).slice(0, 80)}`);
    }
  });
});
