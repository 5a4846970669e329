import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, GetKeyPolicyCommand, ListKeysCommand, type KMSClient } from '@aws-sdk/client-kms';
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

  it('MultiRegion and BypassPolicyLockoutSafetyCheck of another type than boolean are ValidationException', async () => {
    for (const v of ['yes', 1, {}, []]) {
      assert.equal(await createKey({ MultiRegion: v }), '400 ValidationException', `MultiRegion ${JSON.stringify(v)}`);
      assert.equal(await createKey({ BypassPolicyLockoutSafetyCheck: v }), '400 ValidationException', `Bypass ${JSON.stringify(v)}`);
    }
    assert.equal(await createKey({ MultiRegion: false, BypassPolicyLockoutSafetyCheck: true }), '200 ');
  });

  it('MultiRegion true is UnsupportedOperationException, not a single-Region key', async () => {
    assert.equal(await createKey({ MultiRegion: true }), '400 UnsupportedOperationException');
  });
});
