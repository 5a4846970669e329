import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sdkOutcome as outcome } from '../helpers/sdk-outcome.js';
import { at, queryRequest, type QueryCredentials } from './query-client.js';

const ACCOUNT = '000000000000';
const policy = (...statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });

/**
 * An AssumeRole session belongs to the role's unique id (AROA…), not its name, as on AWS
 * ("even though the ARN is the same for the recreated IAM principal, the roleID … is
 * different", AWS EKS AccessEntry docs; trust and resource policies are bound to the unique
 * principal id "to mitigate … removing and recreating the role", IAM role policy examples).
 * Once its role is deleted the session has no permissions until it expires; a new role of
 * the same name gives it none of its policies, resource-policy grants or tags.
 */
describe('an assumed-role session is bound to the role id it was issued for', () => {
  let t: TestServer;
  let caller: QueryCredentials;
  const clients: Array<{ destroy(): void }> = [];
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/worker`;
  const trust = policy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/assumer` }, Action: 'sts:AssumeRole' });

  async function call(params: Record<string, string>, c?: QueryCredentials): Promise<Record<string, unknown>> {
    const r = await queryRequest(t.endpoint, params.Action === 'AssumeRole' ? 'sts' : 'iam', params, c, t.clock.now());
    assert.equal(r.status, 200, r.text);
    return r.xml;
  }

  async function assume(sessionName: string): Promise<QueryCredentials> {
    const xml = await call({ Action: 'AssumeRole', RoleArn: roleArn, RoleSessionName: sessionName }, caller);
    const c = ['AssumeRoleResponse', 'AssumeRoleResult', 'Credentials'];
    return { accessKeyId: at(xml, ...c, 'AccessKeyId'), secretAccessKey: at(xml, ...c, 'SecretAccessKey'), sessionToken: at(xml, ...c, 'SessionToken') };
  }

  function s3As(credentials: QueryCredentials): S3Client {
    const c = t.s3({ credentials });
    clients.push(c);
    return c;
  }

  const get = (c: S3Client, bucket: string): Promise<string> => outcome(c.send(new GetObjectCommand({ Bucket: bucket, Key: 'doc' })));

  /** Deletes the role as a client must: its inline policy first, then the role. */
  async function deleteWorker(): Promise<void> {
    await call({ Action: 'DeleteRolePolicy', RoleName: 'worker', PolicyName: 'p' });
    await call({ Action: 'DeleteRole', RoleName: 'worker' });
  }

  before(async () => {
    t = await startTestServer();
    const root = t.s3();
    for (const bucket of ['narrow', 'wide', 'named', 'tagged']) {
      await root.send(new CreateBucketCommand({ Bucket: bucket }));
      await root.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc', Body: 'body' }));
    }
    // Resource policies that name the role by ARN, and by its tag: both must follow the role id.
    await root.send(new PutBucketPolicyCommand({ Bucket: 'named', Policy: policy({ Effect: 'Allow', Principal: { AWS: roleArn }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::named/*' }) }));
    await root.send(new PutBucketPolicyCommand({
      Bucket: 'tagged',
      Policy: policy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::tagged/*', Condition: { StringEquals: { 'aws:PrincipalTag/tier': 'gold' } } }),
    }));
    await call({ Action: 'CreateUser', UserName: 'assumer' });
    await call({ Action: 'PutUserPolicy', UserName: 'assumer', PolicyName: 'p', PolicyDocument: policy({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }) });
    const xml = await call({ Action: 'CreateAccessKey', UserName: 'assumer' });
    const key = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    caller = { accessKeyId: at(xml, ...key, 'AccessKeyId'), secretAccessKey: at(xml, ...key, 'SecretAccessKey') };
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await t.close();
  });

  it('a session of a deleted role is refused; a new role of the same name with a broader policy, its tags and a bucket policy naming its ARN do not reach the old session; a new AssumeRole does', async () => {
    await call({ Action: 'CreateRole', RoleName: 'worker', AssumeRolePolicyDocument: trust });
    await call({ Action: 'PutRolePolicy', RoleName: 'worker', PolicyName: 'p', PolicyDocument: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::narrow/*' }) });
    const old = s3As(await assume('first'));
    assert.deepEqual([await get(old, 'narrow'), await get(old, 'wide'), await get(old, 'named')], ['ok', '403 AccessDenied', 'ok'], 'before: its own role policy and the bucket policy naming the role');

    await deleteWorker();
    assert.deepEqual([await get(old, 'narrow'), await get(old, 'named')], ['403 AccessDenied', '403 AccessDenied'], 'role deleted: no permissions left');

    await call({ Action: 'CreateRole', RoleName: 'worker', AssumeRolePolicyDocument: trust, 'Tags.member.1.Key': 'tier', 'Tags.member.1.Value': 'gold' });
    await call({ Action: 'PutRolePolicy', RoleName: 'worker', PolicyName: 'p', PolicyDocument: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }) });
    const refused = ['403 AccessDenied', '403 AccessDenied', '403 AccessDenied', '403 AccessDenied'];
    const all = async (c: S3Client): Promise<string[]> => [await get(c, 'narrow'), await get(c, 'wide'), await get(c, 'named'), await get(c, 'tagged')];
    assert.deepEqual(await all(old), refused, "recreated under the same name: the old session gets none of the new role's policies, ARN grants or tags");
    // Past the credential and policy caches' TTL (5 s): read afresh from the store, still refused.
    t.advance(6_000);
    assert.deepEqual(await all(old), refused);

    const fresh = s3As(await assume('second'));
    assert.deepEqual(await all(fresh), ['ok', 'ok', 'ok', 'ok'], "a session of the new role gets its policy, the ARN grant and its tag");
  });

  it('the old session still authenticates until it expires: GetCallerIdentity (which needs no permission) answers with its old AROA id', async () => {
    await call({ Action: 'CreateRole', RoleName: 'idler', AssumeRolePolicyDocument: trust });
    const before = await call({ Action: 'GetRole', RoleName: 'idler' });
    const oldId = at(before, 'GetRoleResponse', 'GetRoleResult', 'Role', 'RoleId');
    const xml = await call({ Action: 'AssumeRole', RoleArn: `arn:aws:iam::${ACCOUNT}:role/idler`, RoleSessionName: 'idle' }, caller);
    const c = ['AssumeRoleResponse', 'AssumeRoleResult', 'Credentials'];
    const credentials = { accessKeyId: at(xml, ...c, 'AccessKeyId'), secretAccessKey: at(xml, ...c, 'SecretAccessKey'), sessionToken: at(xml, ...c, 'SessionToken') };
    await call({ Action: 'DeleteRole', RoleName: 'idler' });
    await call({ Action: 'CreateRole', RoleName: 'idler', AssumeRolePolicyDocument: trust });
    const r = await queryRequest(t.endpoint, 'sts', { Action: 'GetCallerIdentity' }, credentials, t.clock.now());
    assert.equal(r.status, 200, r.text);
    const result = ['GetCallerIdentityResponse', 'GetCallerIdentityResult'];
    assert.equal(at(r.xml, ...result, 'UserId'), `${oldId}:idle`);
    assert.equal(at(r.xml, ...result, 'Arn'), `arn:aws:sts::${ACCOUNT}:assumed-role/idler/idle`);
    assert.notEqual(at(await call({ Action: 'GetRole', RoleName: 'idler' }), 'GetRoleResponse', 'GetRoleResult', 'Role', 'RoleId'), oldId, 'the new role has a new id');
  });
});
