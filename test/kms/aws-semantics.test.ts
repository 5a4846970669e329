import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateGrantCommand, CreateKeyCommand, KMSClient, ListGrantsCommand, PutKeyPolicyCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { startTestServer, TEST_REGION, type TestServer } from '../helpers/server.js';
import { at, queryRequest, type QueryCredentials } from '../iam/query-client.js';

const ACCOUNT = '000000000000';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const userArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:user/${name}`;
const ALLOW_RETIRE = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:RetireGrant', Resource: '*' }] });
const keyPolicy = (...statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });

// Behaviours of AWS KMS settled from its documentation, each pinned against the JS SDK.
describe('KMS: AWS semantics', () => {
  let t: TestServer;
  let root: KMSClient;
  const clients: KMSClient[] = [];

  async function iam(params: Record<string, string>): Promise<void> {
    const r = await queryRequest(t.endpoint, 'iam', params, undefined, t.clock.now());
    assert.equal(r.status, 200, r.text);
  }

  /** A KMS client signing as a new IAM user, with the inline policy given (none by default). */
  async function userClient(name: string, policy?: string): Promise<KMSClient> {
    await iam({ Action: 'CreateUser', UserName: name });
    if (policy !== undefined) await iam({ Action: 'PutUserPolicy', UserName: name, PolicyName: 'p', PolicyDocument: policy });
    const r = await queryRequest(t.endpoint, 'iam', { Action: 'CreateAccessKey', UserName: name }, undefined, t.clock.now());
    const path = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    const credentials: QueryCredentials = { accessKeyId: at(r.xml, ...path, 'AccessKeyId'), secretAccessKey: at(r.xml, ...path, 'SecretAccessKey') };
    const c = new KMSClient({ endpoint: t.endpoint, region: TEST_REGION, credentials, maxAttempts: 1 });
    clients.push(c);
    return c;
  }

  const newKey = async (): Promise<string> => (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const newGrant = async (keyId: string): Promise<string> => (await root.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: userArn('someone'), Operations: ['Decrypt'] }))).GrantId!;
  const grantIds = async (keyId: string): Promise<string[]> => ((await root.send(new ListGrantsCommand({ KeyId: keyId }))).Grants ?? []).map((g) => g.GrantId!).sort();

  before(async () => {
    t = await startTestServer();
    root = t.kms();
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await t.close();
  });

  // https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html: "The
  // kms:RetireGrant permission alone does not allow principals to retire a grant. The
  // kms:RetireGrant permission is not effective in a key policy." ... "The AWS account that
  // owns the KMS key can delegate the kms:RetireGrant permission to an IAM principal in the
  // account." ... "As a backup, the AWS account in which the grant was created can retire the grant."
  describe('RetireGrant: kms:RetireGrant counts in IAM policies, not in key policies', () => {
    it('a key policy allowing kms:RetireGrant to a user does not let it retire a grant that does not name it', async () => {
      const kpOnly = await userClient('kp-only');
      const keyId = await newKey();
      await root.send(
        new PutKeyPolicyCommand({
          KeyId: keyId,
          Policy: keyPolicy(
            { Sid: 'Root', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
            { Sid: 'RetireInKeyPolicy', Effect: 'Allow', Principal: { AWS: userArn('kp-only') }, Action: 'kms:RetireGrant', Resource: '*' },
          ),
        }),
      );
      const g = await newGrant(keyId);
      assert.equal(await sdkOutcome(kpOnly.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g }))), '400 AccessDeniedException');
      assert.deepEqual(await grantIds(keyId), [g]);
    });

    it("an IAM policy allowing kms:RetireGrant lets a user of the key's account retire, even when the key policy does not delegate to IAM", async () => {
      const delegated = await userClient('iam-retirer', ALLOW_RETIRE);
      const keyId = await newKey();
      // Names one user only: no statement for the account, so no other action is delegated to IAM.
      await root.send(
        new PutKeyPolicyCommand({
          KeyId: keyId,
          BypassPolicyLockoutSafetyCheck: true,
          Policy: keyPolicy({ Sid: 'AdminOnly', Effect: 'Allow', Principal: { AWS: userArn('key-admin') }, Action: 'kms:*', Resource: '*' }),
        }),
      );
      const g = await newGrant(keyId);
      assert.equal(await sdkOutcome(delegated.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g }))), 'ok');
      assert.deepEqual(await grantIds(keyId), []);
    });

    it('the account (its root) retires any grant of its keys; a user with no policy and not named in the grant is refused', async () => {
      const nobody = await userClient('nobody');
      const keyId = await newKey();
      const g = await newGrant(keyId);
      assert.equal(await sdkOutcome(nobody.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g }))), '400 AccessDeniedException');
      assert.equal(await sdkOutcome(root.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g }))), 'ok');
      assert.deepEqual(await grantIds(keyId), []);
    });
  });
});
