import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startTestServer, TEST_REGION, type TestServer } from '../helpers/server.js';
import { sdkOutcome as outcome } from '../helpers/sdk-outcome.js';
import { at, queryRequest, type QueryCredentials } from './query-client.js';

const ACCOUNT = '000000000000';
const policy = (...statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });

/**
 * aws:PrincipalTag/<key>: the caller's own tags (an IAM user's, the role's for a session) in
 * identity, bucket and key policies, through real SDK clients; tag changes apply at once.
 */
describe('aws:PrincipalTag: the caller\'s tags in identity, bucket and KMS key policies', () => {
  let t: TestServer;
  const clients: Array<{ destroy(): void }> = [];

  async function iam(params: Record<string, string>, c?: QueryCredentials): Promise<Record<string, unknown>> {
    const r = await queryRequest(t.endpoint, params.Action === 'AssumeRole' ? 'sts' : 'iam', params, c, t.clock.now());
    assert.equal(r.status, 200, r.text);
    return r.xml;
  }

  /** A user with these tags, an inline identity policy and an access key. */
  async function newUser(name: string, tags: Readonly<Record<string, string>>, identity: string): Promise<QueryCredentials> {
    const tagParams: Record<string, string> = {};
    Object.entries(tags).forEach(([k, v], i) => {
      tagParams[`Tags.member.${i + 1}.Key`] = k;
      tagParams[`Tags.member.${i + 1}.Value`] = v;
    });
    await iam({ Action: 'CreateUser', UserName: name, ...tagParams });
    await iam({ Action: 'PutUserPolicy', UserName: name, PolicyName: 'p', PolicyDocument: identity });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: name });
    const key = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    return { accessKeyId: at(xml, ...key, 'AccessKeyId'), secretAccessKey: at(xml, ...key, 'SecretAccessKey') };
  }

  function s3As(credentials: QueryCredentials): S3Client {
    const c = t.s3({ credentials });
    clients.push(c);
    return c;
  }

  function kmsAs(credentials: QueryCredentials): KMSClient {
    const c = new KMSClient({ endpoint: t.endpoint, region: TEST_REGION, credentials, maxAttempts: 1 });
    clients.push(c);
    return c;
  }

  const get = (c: S3Client, Bucket: string, Key: string): Promise<string> => outcome(c.send(new GetObjectCommand({ Bucket, Key })));

  before(async () => {
    t = await startTestServer();
    const root = t.s3();
    for (const bucket of ['abac', 'guarded', 'roles']) {
      await root.send(new CreateBucketCommand({ Bucket: bucket }));
      await root.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc', Body: 'body' }));
    }
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await t.close();
  });

  it('an identity policy conditioned on aws:PrincipalTag/team allows the user tagged team=ml (key in any case), not one without the tag', async () => {
    const identity = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::abac/*', Condition: { StringEquals: { 'aws:PrincipalTag/team': 'ml' } } });
    const ml = await newUser('ml-user', { Team: 'ml' }, identity);
    const web = await newUser('web-user', { team: 'web' }, identity);
    const none = await newUser('plain-user', {}, identity);
    assert.deepEqual([await get(s3As(ml), 'abac', 'doc'), await get(s3As(web), 'abac', 'doc'), await get(s3As(none), 'abac', 'doc')], ['ok', '403 AccessDenied', '403 AccessDenied']);
    // Tagging the plain user takes effect on its next request (the cached credential is dropped).
    const plain = s3As(none);
    await iam({ Action: 'TagUser', UserName: 'plain-user', 'Tags.member.1.Key': 'team', 'Tags.member.1.Value': 'ml' });
    assert.equal(await get(plain, 'abac', 'doc'), 'ok');
  });

  it("a bucket policy Deny on aws:PrincipalTag/blocked = true refuses the tagged user's GetObject; untagging lifts it at once, retagging restores it", async () => {
    await t.s3().send(new PutBucketPolicyCommand({
      Bucket: 'guarded',
      Policy: policy({ Sid: 'Blocked', Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::guarded/*', Condition: { StringEquals: { 'aws:PrincipalTag/blocked': 'true' } } }),
    }));
    const identity = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });
    const blocked = s3As(await newUser('blocked-user', { blocked: 'true' }, identity));
    const free = s3As(await newUser('free-user', { blocked: 'false' }, identity));
    assert.deepEqual([await get(blocked, 'guarded', 'doc'), await get(free, 'guarded', 'doc')], ['403 AccessDenied', 'ok']);
    await iam({ Action: 'UntagUser', UserName: 'blocked-user', 'TagKeys.member.1': 'BLOCKED' });
    assert.equal(await get(blocked, 'guarded', 'doc'), 'ok', 'no clock advance: the tag change invalidated the cache');
    await iam({ Action: 'TagUser', UserName: 'blocked-user', 'Tags.member.1.Key': 'Blocked', 'Tags.member.1.Value': 'true' });
    assert.equal(await get(blocked, 'guarded', 'doc'), '403 AccessDenied');
  });

  it("an assumed role's tags are its session's aws:PrincipalTag; untagging the role applies to the live session at once", async () => {
    const caller = await newUser('assumer', { team: 'ml' }, policy({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }));
    const trust = policy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/assumer` }, Action: 'sts:AssumeRole' });
    await iam({ Action: 'CreateRole', RoleName: 'reader', AssumeRolePolicyDocument: trust, 'Tags.member.1.Key': 'project', 'Tags.member.1.Value': 'roles' });
    const rolePolicy = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::roles/*', Condition: { StringEquals: { 'aws:PrincipalTag/project': 'roles' } } });
    await iam({ Action: 'PutRolePolicy', RoleName: 'reader', PolicyName: 'p', PolicyDocument: rolePolicy });
    const xml = await iam({ Action: 'AssumeRole', RoleArn: `arn:aws:iam::${ACCOUNT}:role/reader`, RoleSessionName: 's1' }, caller);
    const c = ['AssumeRoleResponse', 'AssumeRoleResult', 'Credentials'];
    const session = s3As({ accessKeyId: at(xml, ...c, 'AccessKeyId'), secretAccessKey: at(xml, ...c, 'SecretAccessKey'), sessionToken: at(xml, ...c, 'SessionToken') });
    assert.equal(await get(session, 'roles', 'doc'), 'ok', "the role's tag project=roles, not the assuming user's tags");
    await iam({ Action: 'UntagRole', RoleName: 'reader', 'TagKeys.member.1': 'project' });
    assert.equal(await get(session, 'roles', 'doc'), '403 AccessDenied');
  });

  it('a KMS key policy allows on aws:PrincipalTag and, with StringNotEquals, denies a caller without the tag (an absent key makes a negated operator hold)', async () => {
    const keyPolicy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        { Sid: 'TeamMl', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalTag/team': 'ml', 'aws:PrincipalAccount': ACCOUNT } } },
        { Sid: 'PiiOnly', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Encrypt', Resource: '*', Condition: { StringNotEquals: { 'aws:PrincipalTag/clearance': 'pii' } } },
      ],
    };
    const keyId = (await t.kms().send(new CreateKeyCommand({ Policy: JSON.stringify(keyPolicy), BypassPolicyLockoutSafetyCheck: true }))).KeyMetadata?.KeyId ?? '';
    const allowAll = policy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' });
    const encrypt = (c: QueryCredentials): Promise<string> => outcome(kmsAs(c).send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })));
    const cleared = await newUser('kms-cleared', { team: 'ml', clearance: 'pii' }, policy({ Effect: 'Deny', Action: 'iam:*', Resource: '*' }));
    const uncleared = await newUser('kms-uncleared', { team: 'ml' }, allowAll);
    const other = await newUser('kms-other', { clearance: 'pii' }, policy({ Effect: 'Deny', Action: 'iam:*', Resource: '*' }));
    assert.equal(await encrypt(cleared), 'ok', 'the key policy names the caller through its tag, no identity allow needed');
    assert.equal(await encrypt(uncleared), '400 AccessDeniedException', 'no clearance tag: the Deny applies even with an identity allow');
    assert.equal(await encrypt(other), '400 AccessDeniedException', 'no team tag: no key policy statement allows');
  });
});
