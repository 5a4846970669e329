import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, GetKeyPolicyCommand, ListGrantsCommand, ListKeysCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { rawKmsRequest } from '../helpers/signed-request.js';

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'root', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'kms:*', Resource: '*' }],
});

// CreateKey fields AWS checks (the policy document, the booleans' types) are refused with
// AWS's error, and a refused CreateKey creates no key.
describe('KMS wire: CreateKey with hostile fields', () => {
  let t: TestServer;
  let kms: KMSClient;

  before(async () => {
    t = await startTestServer();
    kms = t.kms();
  });
  after(async () => t.close());

  async function keyCount(): Promise<number> {
    return (await kms.send(new ListKeysCommand({}))).Keys?.length ?? 0;
  }

  /** CreateKey with `body` as sent; answers "<status> <__type>", and asserts no key was created when it failed. */
  async function createKey(body: Record<string, unknown>): Promise<string> {
    const before = await keyCount();
    const r = await rawKmsRequest(t.endpoint, { target: 'TrentService.CreateKey', body: JSON.stringify(body) });
    if (r.status !== 200) assert.equal(await keyCount(), before, 'a refused CreateKey created a key');
    return `${r.status} ${r.json.__type ?? ''}`;
  }

  it('a Policy that is not a policy document is MalformedPolicyDocumentException', async () => {
    assert.equal(await createKey({ Policy: 'not json' }), '400 MalformedPolicyDocumentException');
    assert.equal(await createKey({ Policy: '{"Statement": 1}' }), '400 MalformedPolicyDocumentException');
    assert.equal(await createKey({ Policy: '[]' }), '400 MalformedPolicyDocumentException');
  });

  it('a valid Policy is stored as given', async () => {
    const made = await kms.send(new CreateKeyCommand({ Policy: POLICY }));
    const got = await kms.send(new GetKeyPolicyCommand({ KeyId: made.KeyMetadata?.KeyId, PolicyName: 'default' }));
    assert.equal(got.Policy, POLICY);
  });

  // Another JSON type than boolean fails deserialization: SerializationException, as AWS's JSON
  // services answer it ("STRING_VALUE can not be converted to an Boolean"; evidence in test/kms/wire-types.test.ts).
  it('MultiRegion and BypassPolicyLockoutSafetyCheck of another type than boolean are SerializationException', async () => {
    for (const v of ['yes', 1, {}, []]) {
      assert.equal(await createKey({ MultiRegion: v }), '400 SerializationException', `MultiRegion ${JSON.stringify(v)}`);
      assert.equal(await createKey({ BypassPolicyLockoutSafetyCheck: v }), '400 SerializationException', `Bypass ${JSON.stringify(v)}`);
    }
    assert.equal(await createKey({ MultiRegion: false, BypassPolicyLockoutSafetyCheck: true }), '200 ');
  });

  it('MultiRegion true is UnsupportedOperationException, not a single-Region key', async () => {
    assert.equal(await createKey({ MultiRegion: true }), '400 UnsupportedOperationException');
  });
});

// CreateGrant's documented constraint limits: at most 8 encryption context pairs, no value
// over 384 characters. A refused grant is not stored.
describe('KMS wire: CreateGrant constraints beyond AWS limits', () => {
  let t: TestServer;
  let kms: KMSClient;
  let keyId: string;

  before(async () => {
    t = await startTestServer();
    kms = t.kms();
    keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? '';
  });
  after(async () => t.close());

  async function grant(constraint: Record<string, string>, kind = 'EncryptionContextSubset'): Promise<string> {
    const before = (await kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants?.length ?? 0;
    const body = { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::000000000000:user/grantee', Operations: ['Decrypt'], Constraints: { [kind]: constraint } };
    const r = await rawKmsRequest(t.endpoint, { target: 'TrentService.CreateGrant', body: JSON.stringify(body) });
    const after = (await kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants?.length ?? 0;
    assert.equal(after, r.status === 200 ? before + 1 : before);
    return `${r.status} ${r.json.__type ?? ''}`;
  }

  const pairs = (n: number, value = 'v'): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));

  it('9 pairs, or a value of 385 characters, is ValidationException (Subset and Equals)', async () => {
    for (const kind of ['EncryptionContextSubset', 'EncryptionContextEquals']) {
      assert.equal(await grant(pairs(9), kind), '400 ValidationException', kind);
      assert.equal(await grant({ a: 'x'.repeat(385) }, kind), '400 ValidationException', kind);
    }
  });

  it('8 pairs of 384-character values is a grant', async () => {
    assert.equal(await grant(pairs(8, 'x'.repeat(384))), '200 ');
  });
});

// A KMS request signed for another service is refused as AWS refuses it, before it is served.
describe('KMS wire: a credential scoped to another service', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  it('is InvalidSignatureException naming kms, and CreateKey makes no key', async () => {
    const keys = async (): Promise<number> => (await t.kms().send(new ListKeysCommand({}))).Keys?.length ?? 0;
    const before = await keys();
    for (const service of ['s3', 'iam', 'cloudtrail']) {
      const r = await rawKmsRequest(t.endpoint, { target: 'TrentService.CreateKey', body: '{}', service });
      assert.equal(`${r.status} ${r.json.__type ?? ''}`, '400 InvalidSignatureException', service);
      assert.match(r.json.message ?? '', /scoped to correct service: 'kms'/);
    }
    assert.equal(await keys(), before);
    assert.equal((await rawKmsRequest(t.endpoint, { target: 'TrentService.CreateKey', body: '{}' })).status, 200);
    assert.equal(await keys(), before + 1);
  });

  it("a CloudTrail target signed for another service is InvalidSignatureException naming cloudtrail; signed for cloudtrail it is served", async () => {
    const target = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents';
    for (const service of ['s3', 'iam']) {
      const r = await rawKmsRequest(t.endpoint, { target, body: '{}', service });
      assert.equal(`${r.status} ${r.json.__type ?? ''}`, '400 InvalidSignatureException', service);
      assert.match(r.json.message ?? '', /scoped to correct service: 'cloudtrail'/);
      assert.equal(r.json['Events'], undefined);
    }
    const ok = await rawKmsRequest(t.endpoint, { target, body: '{}', service: 'cloudtrail' });
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray(ok.json['Events']), 'LookupEvents answered with its Events');
  });
});
