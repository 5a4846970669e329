import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient, ListAliasesCommand, ListGrantsCommand, PutKeyPolicyCommand, RetireGrantCommand, type AliasListEntry } from '@aws-sdk/client-kms';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { startTestServer, TEST_REGION, type TestServer } from '../helpers/server.js';
import { UserKmsClients } from '../iam/query-client.js';

const ACCOUNT = '000000000000';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const userArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:user/${name}`;
const ALLOW_RETIRE = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:RetireGrant', Resource: '*' }] });
const keyPolicy = (...statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });

// Behaviours of AWS KMS settled from its documentation, each pinned against the JS SDK.
describe('KMS: AWS semantics', () => {
  let t: TestServer;
  let root: KMSClient;
  const users = new UserKmsClients();

  const newKey = async (): Promise<string> => (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const newGrant = async (keyId: string): Promise<string> => (await root.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: userArn('someone'), Operations: ['Decrypt'] }))).GrantId!;
  const grantIds = async (keyId: string): Promise<string[]> => ((await root.send(new ListGrantsCommand({ KeyId: keyId }))).Grants ?? []).map((g) => g.GrantId!).sort();

  before(async () => {
    t = await startTestServer();
    root = t.kms();
  });
  after(async () => {
    users.destroy();
    await t.close();
  });

  // https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html: "The response
  // might also include aliases that have no TargetKeyId field. These are predefined aliases
  // that AWS has created but has not yet associated with a KMS key."
  describe('ListAliases: the predefined AWS aliases', () => {
    const listAll = async (limit?: number): Promise<AliasListEntry[]> => {
      const out: AliasListEntry[] = [];
      let marker: string | undefined;
      let pages = 0;
      do {
        assert.ok(++pages <= 20, `ListAliases keeps paging (limit ${String(limit)})`);
        const page = await root.send(new ListAliasesCommand({ ...(limit !== undefined ? { Limit: limit } : {}), ...(marker !== undefined ? { Marker: marker } : {}) }));
        assert.equal(page.Truncated, page.NextMarker !== undefined);
        out.push(...page.Aliases!);
        marker = page.NextMarker;
      } while (marker !== undefined);
      return out;
    };

    it('lists alias/aws/s3 and alias/aws/ebs with no TargetKeyId before their keys exist, once each, on every page size', async () => {
      const keyId = await newKey();
      for (const n of ['a', 'b']) await root.send(new CreateAliasCommand({ AliasName: `alias/mine-${n}`, TargetKeyId: keyId }));
      for (const limit of [undefined, 1, 2, 3, 4]) {
        const all = await listAll(limit);
        const names = all.map((a) => a.AliasName!);
        assert.equal(new Set(names).size, names.length, `no alias twice: ${names.join(' ')}`);
        for (const name of ['alias/aws/ebs', 'alias/aws/s3', 'alias/mine-a', 'alias/mine-b']) assert.ok(names.includes(name), `${name} on limit ${String(limit)}`);
        for (const name of ['alias/aws/ebs', 'alias/aws/s3']) {
          assert.deepEqual(all.find((a) => a.AliasName === name), { AliasName: name, AliasArn: `arn:aws:kms:${TEST_REGION}:${ACCOUNT}:${name}` });
        }
      }
      // Filtered by key: that key's aliases only.
      assert.deepEqual((await root.send(new ListAliasesCommand({ KeyId: keyId }))).Aliases?.map((a) => a.AliasName), ['alias/mine-a', 'alias/mine-b']);
    });

    it('a forged predefined-page marker: past the end is an empty last page, malformed is InvalidMarkerException; with KeyId it is refused, nothing predefined listed', async () => {
      const marker = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');
      const past = await root.send(new ListAliasesCommand({ Marker: marker('p1:99') }));
      assert.deepEqual([past.Aliases, past.Truncated, past.NextMarker], [[], false, undefined]);
      for (const bad of ['p1:-1', 'p1:x', 'p1:1.5']) assert.equal(await sdkOutcome(root.send(new ListAliasesCommand({ Marker: marker(bad) }))), '400 InvalidMarkerException', bad);
      const keyId = await newKey();
      assert.equal(await sdkOutcome(root.send(new ListAliasesCommand({ KeyId: keyId, Marker: marker('p1:0') }))), '400 InvalidMarkerException');
      assert.deepEqual((await root.send(new ListAliasesCommand({ KeyId: keyId }))).Aliases, []);
    });

    it('once its AWS managed key exists, a predefined alias is listed once, with its target', async () => {
      const s3Key = (await root.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }))).KeyMetadata!.KeyId!;
      for (const limit of [undefined, 1]) {
        const all = await listAll(limit);
        assert.deepEqual(all.filter((a) => a.AliasName === 'alias/aws/s3').map((a) => a.TargetKeyId), [s3Key], String(limit));
        assert.deepEqual(all.filter((a) => a.AliasName === 'alias/aws/ebs').map((a) => a.TargetKeyId), [undefined], String(limit));
      }
    });
  });

  // https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html: "The
  // kms:RetireGrant permission alone does not allow principals to retire a grant. The
  // kms:RetireGrant permission is not effective in a key policy." ... "The AWS account that
  // owns the KMS key can delegate the kms:RetireGrant permission to an IAM principal in the
  // account." ... "As a backup, the AWS account in which the grant was created can retire the grant."
  describe('RetireGrant: kms:RetireGrant counts in IAM policies, not in key policies', () => {
    it('a key policy allowing kms:RetireGrant to a user does not let it retire a grant that does not name it', async () => {
      const kpOnly = await users.create(t, 'kp-only');
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
      const delegated = await users.create(t, 'iam-retirer', ALLOW_RETIRE);
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

    it('a Deny still wins: in the user\'s IAM policies, or in the key policy, over an IAM Allow', async () => {
      const denyRetire = { Effect: 'Deny', Action: 'kms:RetireGrant', Resource: '*' };
      const iamDenied = await users.create(t, 'iam-denied', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:RetireGrant', Resource: '*' }, denyRetire] }));
      const kpDenied = await users.create(t, 'kp-denied', ALLOW_RETIRE);
      const keyId = await newKey();
      await root.send(
        new PutKeyPolicyCommand({
          KeyId: keyId,
          Policy: keyPolicy({ Sid: 'Root', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' }, { ...denyRetire, Principal: { AWS: userArn('kp-denied') } }),
        }),
      );
      const g = await newGrant(keyId);
      assert.equal(await sdkOutcome(iamDenied.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g }))), '400 AccessDeniedException');
      assert.equal(await sdkOutcome(kpDenied.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g }))), '400 AccessDeniedException');
      assert.deepEqual(await grantIds(keyId), [g]);
    });

    it('the account (its root) retires any grant of its keys; a user with no policy and not named in the grant is refused', async () => {
      const nobody = await users.create(t, 'nobody');
      const keyId = await newKey();
      const g = await newGrant(keyId);
      assert.equal(await sdkOutcome(nobody.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g }))), '400 AccessDeniedException');
      assert.equal(await sdkOutcome(root.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g }))), 'ok');
      assert.deepEqual(await grantIds(keyId), []);
    });
  });
});
