import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateGrantCommand, CreateKeyCommand, KMSClient, TagResourceCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_REGION, type TestServer } from '../helpers/server.js';
import { at, queryRequest, type QueryCredentials } from './query-client.js';

const ACCOUNT = '000000000000';

describe('KMS condition keys from the request: aws:RequestTag/*, aws:TagKeys, kms:GrantOperations', () => {
  let t: TestServer;
  let kms: KMSClient;

  async function iam(params: Record<string, string>): Promise<Record<string, unknown>> {
    const r = await queryRequest(t.endpoint, 'iam', params, undefined, t.clock.now());
    assert.equal(r.status, 200, r.text);
    return r.xml;
  }

  async function newUser(name: string, policy: object): Promise<QueryCredentials> {
    await iam({ Action: 'CreateUser', UserName: name });
    await iam({ Action: 'PutUserPolicy', UserName: name, PolicyName: 'p', PolicyDocument: JSON.stringify(policy) });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: name });
    const key = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    return { accessKeyId: at(xml, ...key, 'AccessKeyId'), secretAccessKey: at(xml, ...key, 'SecretAccessKey') };
  }

  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    kms?.destroy();
    await t.close();
  });

  it('CreateKey and TagResource only with the required request tag', async () => {
    const creds = await newUser('tagger', {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['kms:CreateKey', 'kms:TagResource'], Resource: '*', Condition: { StringEquals: { 'aws:RequestTag/project': 'pii' } } },
        { Effect: 'Deny', Action: 'kms:TagResource', Resource: '*', Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['owner'] } } },
      ],
    });
    kms = new KMSClient({ endpoint: t.endpoint, region: TEST_REGION, credentials: creds, maxAttempts: 1 });
    await assert.rejects(kms.send(new CreateKeyCommand({})), { name: 'AccessDeniedException' });
    await assert.rejects(kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'project', TagValue: 'other' }] })), { name: 'AccessDeniedException' });
    const created = await kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'project', TagValue: 'pii' }] }));
    const keyId = created.KeyMetadata!.KeyId!;
    await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'project', TagValue: 'pii' }] }));
    await assert.rejects(
      kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'project', TagValue: 'pii' }, { TagKey: 'owner', TagValue: 'x' }] })),
      { name: 'AccessDeniedException' },
    );
  });

  it('CreateGrant only for the grant operations the policy names', async () => {
    const creds = await newUser('granter', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'kms:CreateGrant', Resource: '*', Condition: { 'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Decrypt', 'Encrypt'] } } }],
    });
    const client = new KMSClient({ endpoint: t.endpoint, region: TEST_REGION, credentials: creds, maxAttempts: 1 });
    try {
      const keyId = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const grantee = `arn:aws:iam::${ACCOUNT}:user/tagger`;
      const ok = await client.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: grantee, Operations: ['Decrypt'] }));
      assert.ok(ok.GrantId);
      await assert.rejects(client.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: grantee, Operations: ['Decrypt', 'ReEncryptFrom'] })), {
        name: 'AccessDeniedException',
      });
    } finally {
      client.destroy();
    }
  });
});
