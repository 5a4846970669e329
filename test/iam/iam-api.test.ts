import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsCli, okJson, type RunResult } from '../helpers/client-run.js';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';
import { at, errorCode, queryRequest } from './query-client.js';

interface Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Runs the AWS CLI against the test server with credentials from the environment only. */
function aws(t: TestServer, home: string, args: string[], keys: Keys = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }): Promise<RunResult> {
  return awsCli(t.endpoint, home, args, keys);
}

const ok = (r: RunResult): Record<string, Record<string, unknown>> => okJson(r);

describe('IAM and STS through the AWS CLI', () => {
  let t: TestServer;
  let home: string;
  let alice: Keys;

  before(async () => {
    t = await startTestServer();
    home = mkdtempSync(join(tmpdir(), 'cipherlake-iam-cli-'));
  });
  after(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('create-user, create-access-key, put-user-policy; get-caller-identity with the new keys', async () => {
    const user = ok(await aws(t, home, ['iam', 'create-user', '--user-name', 'alice'])).User;
    assert.equal(user?.Arn, 'arn:aws:iam::000000000000:user/alice');
    assert.match(String(user?.UserId), /^AIDA[A-Z2-7]{17}$/);
    const key = ok(await aws(t, home, ['iam', 'create-access-key', '--user-name', 'alice'])).AccessKey;
    assert.match(String(key?.AccessKeyId), /^AKIA[A-Z2-7]{16}$/);
    alice = { accessKeyId: String(key?.AccessKeyId), secretAccessKey: String(key?.SecretAccessKey) };
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] });
    ok(await aws(t, home, ['iam', 'put-user-policy', '--user-name', 'alice', '--policy-name', 'kms', '--policy-document', policy]));
    const got = ok(await aws(t, home, ['iam', 'get-user-policy', '--user-name', 'alice', '--policy-name', 'kms']));
    assert.deepEqual(got.PolicyDocument, JSON.parse(policy));
    const me = ok(await aws(t, home, ['sts', 'get-caller-identity'], alice)) as unknown as Record<string, string>;
    assert.equal(me.Arn, 'arn:aws:iam::000000000000:user/alice');
    assert.equal(me.Account, '000000000000');
    assert.equal(me.UserId, user?.UserId);
  });

  it('the secret access key is stored only sealed, never in plaintext', () => {
    for (const name of readdirSync(t.dataDir).filter((f) => f.startsWith('metadata.db'))) {
      assert.equal(readFileSync(join(t.dataDir, name)).includes(Buffer.from(alice.secretAccessKey)), false, name);
    }
  });

  it('create-role and assume-role: temporary credentials name the assumed role', async () => {
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:user/alice' }, Action: 'sts:AssumeRole' }] });
    const role = ok(await aws(t, home, ['iam', 'create-role', '--role-name', 'reader', '--assume-role-policy-document', trust])).Role;
    assert.equal(role?.Arn, 'arn:aws:iam::000000000000:role/reader');
    const creds = ok(await aws(t, home, ['sts', 'assume-role', '--role-arn', String(role?.Arn), '--role-session-name', 's1', '--duration-seconds', '900'], alice)).Credentials;
    assert.match(String(creds?.AccessKeyId), /^ASIA/);
    const session = { accessKeyId: String(creds?.AccessKeyId), secretAccessKey: String(creds?.SecretAccessKey), sessionToken: String(creds?.SessionToken) };
    const me = ok(await aws(t, home, ['sts', 'get-caller-identity'], session)) as unknown as Record<string, string>;
    assert.equal(me.Arn, 'arn:aws:sts::000000000000:assumed-role/reader/s1');
    // Without the session token the temporary key is refused.
    const bare = await aws(t, home, ['sts', 'get-caller-identity'], { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey });
    assert.notEqual(bare.code, 0);
    assert.match(bare.stderr, /InvalidClientTokenId/);
  });

  it('AWS error codes: EntityAlreadyExists, NoSuchEntity, DeleteConflict, MalformedPolicyDocument, ValidationError', async () => {
    const dup = await aws(t, home, ['iam', 'create-user', '--user-name', 'alice']);
    assert.match(dup.stderr, /EntityAlreadyExists/);
    const missing = await queryRequest(t.endpoint, 'iam', { Action: 'GetUser', UserName: 'nobody' });
    assert.deepEqual([missing.status, errorCode(missing)], [404, 'NoSuchEntity']);
    const conflict = await queryRequest(t.endpoint, 'iam', { Action: 'DeleteUser', UserName: 'alice' });
    assert.deepEqual([conflict.status, errorCode(conflict)], [409, 'DeleteConflict']);
    const bad = await queryRequest(t.endpoint, 'iam', { Action: 'PutUserPolicy', UserName: 'alice', PolicyName: 'p', PolicyDocument: '{"Statement":[{"Effect":"Maybe"}]}' });
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad), 'MalformedPolicyDocument');
    const tooLong = await queryRequest(t.endpoint, 'sts', { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/reader', RoleSessionName: 's', DurationSeconds: '7200' }, alice);
    assert.equal(errorCode(tooLong), 'ValidationError');
  });

  it('raw Query: unknown key → InvalidClientTokenId 403, wrong secret → SignatureDoesNotMatch 403, a user without iam:* → AccessDenied 403', async () => {
    const unknown = await queryRequest(t.endpoint, 'sts', { Action: 'GetCallerIdentity' }, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' });
    assert.equal(unknown.status, 403);
    assert.equal(errorCode(unknown), 'InvalidClientTokenId');
    assert.equal(at(unknown.xml, 'ErrorResponse', 'Error', 'Type'), 'Sender');
    const wrong = await queryRequest(t.endpoint, 'sts', { Action: 'GetCallerIdentity' }, { accessKeyId: alice.accessKeyId, secretAccessKey: 'not-the-secret' });
    assert.equal(errorCode(wrong), 'SignatureDoesNotMatch');
    const denied = await queryRequest(t.endpoint, 'iam', { Action: 'CreateUser', UserName: 'mallory' }, alice);
    assert.equal(denied.status, 403);
    assert.equal(errorCode(denied), 'AccessDenied');
    assert.match(at(denied.xml, 'ErrorResponse', 'Error', 'Message'), /^User: arn:aws:iam::000000000000:user\/alice is not authorized to perform: iam:CreateUser/);
  });

  it('UpdateAccessKey Inactive and DeleteAccessKey take effect at once; then the user can be deleted', async () => {
    ok(await aws(t, home, ['iam', 'update-access-key', '--user-name', 'alice', '--access-key-id', alice.accessKeyId, '--status', 'Inactive']));
    const listed = await queryRequest(t.endpoint, 'iam', { Action: 'ListAccessKeys', UserName: 'alice' });
    assert.equal(at(listed.xml, 'ListAccessKeysResponse', 'ListAccessKeysResult', 'AccessKeyMetadata', 'member', 'Status'), 'Inactive');
    const refused = await queryRequest(t.endpoint, 'sts', { Action: 'GetCallerIdentity' }, alice);
    assert.equal(errorCode(refused), 'InvalidClientTokenId');
    for (const params of [
      { Action: 'DeleteAccessKey', UserName: 'alice', AccessKeyId: alice.accessKeyId },
      { Action: 'DeleteUserPolicy', UserName: 'alice', PolicyName: 'kms' },
      { Action: 'DeleteUser', UserName: 'alice' },
    ]) {
      const r = await queryRequest(t.endpoint, 'iam', params);
      assert.equal(r.status, 200, r.text);
    }
    const users = ok(await aws(t, home, ['iam', 'list-users'])) as unknown as { Users: unknown[] };
    assert.deepEqual(users.Users, []);
  });
});
