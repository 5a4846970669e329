import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../../src/audit/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { at, errorCode, queryRequest, type QueryCredentials, type QueryResult } from '../iam/query-client.js';

// IAM and STS records carry CloudTrail's requestParameters and responseElements (issue 5):
// the request's parameters under lower-camel names, for a create the created entity, never
// a secret; reads, other writes, failures and denials have responseElements null.

const ACCOUNT = '000000000000';
/** CloudTrail's IAM/STS response date form: `Oct 22, 2024 3:21:35 PM`. */
const CLOUDTRAIL_DATE = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$/;

interface Stored {
  readonly json: string;
  readonly event: AuditEvent;
}

describe('IAM and STS records: requestParameters and responseElements', () => {
  let t: TestServer;
  let alice: QueryCredentials;
  const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, Action: 'sts:AssumeRole' }] });
  // Spaces and a newline: the record keeps the document's text as sent (URL-decoded), not a re-serialisation.
  const inline = '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}]\n}';

  async function send(service: 'iam' | 'sts', params: Record<string, string>, as?: QueryCredentials): Promise<QueryResult> {
    return queryRequest(t.endpoint, service, params, as, t.clock.now());
  }

  async function ok(service: 'iam' | 'sts', params: Record<string, string>, as?: QueryCredentials): Promise<QueryResult> {
    const r = await send(service, params, as);
    assert.equal(r.status, 200, r.text);
    return r;
  }

  /** The request id a Query answer (success or error document) carries. */
  function requestIdOf(r: QueryResult): string {
    const root = Object.keys(r.xml).find((k) => k !== '?xml') ?? '';
    return root === 'ErrorResponse' ? at(r.xml, 'ErrorResponse', 'RequestId') : at(r.xml, root, 'ResponseMetadata', 'RequestId');
  }

  /** Every stored record, as the chain holds it (the canonical JSON) and parsed. */
  async function stored(): Promise<Stored[]> {
    await t.server.audit.flush();
    const out: Stored[] = [];
    for await (const r of t.server.auditStore.records()) out.push({ json: r.eventJson, event: JSON.parse(r.eventJson) as AuditEvent });
    return out;
  }

  /** The one stored record of the call that answered `r`. */
  async function recordOf(r: QueryResult): Promise<Stored> {
    const id = requestIdOf(r);
    const found = (await stored()).filter((s) => s.event.requestID === id);
    assert.equal(found.length, 1, `one record for request ${id}`);
    return found[0]!;
  }

  before(async () => {
    t = await startTestServer();
    await ok('iam', { Action: 'CreateUser', UserName: 'alice' });
    const key = await ok('iam', { Action: 'CreateAccessKey', UserName: 'alice' });
    const path = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    alice = { accessKeyId: at(key.xml, ...path, 'AccessKeyId'), secretAccessKey: at(key.xml, ...path, 'SecretAccessKey') };
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] });
    await ok('iam', { Action: 'PutUserPolicy', UserName: 'alice', PolicyName: 'assume', PolicyDocument: policy });
  });

  after(async () => {
    await t.close();
  });

  it('CreateUser records userName and path, and the created user (name, id, ARN, path, createDate)', async () => {
    const r = await ok('iam', { Action: 'CreateUser', UserName: 'dana', Path: '/ml/' });
    const user = ['CreateUserResponse', 'CreateUserResult', 'User'];
    const { event } = await recordOf(r);
    assert.equal(event.eventName, 'CreateUser');
    assert.deepEqual(event.requestParameters, { userName: 'dana', path: '/ml/' });
    const created = (event.responseElements as { user: Record<string, string> }).user;
    assert.deepEqual(
      { ...created, createDate: undefined },
      { userName: 'dana', userId: at(r.xml, ...user, 'UserId'), arn: `arn:aws:iam::${ACCOUNT}:user/ml/dana`, path: '/ml/', createDate: undefined },
    );
    assert.match(created['createDate'] ?? '', CLOUDTRAIL_DATE);
  });

  it('CreateAccessKey records userName and the key (user, id, status, createDate); its secret is nowhere in the stored record', async () => {
    await ok('iam', { Action: 'CreateUser', UserName: 'erin' });
    const r = await ok('iam', { Action: 'CreateAccessKey', UserName: 'erin' });
    const key = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    const secret = at(r.xml, ...key, 'SecretAccessKey');
    const { json, event } = await recordOf(r);
    assert.deepEqual(event.requestParameters, { userName: 'erin' });
    const created = (event.responseElements as { accessKey: Record<string, string> }).accessKey;
    assert.deepEqual({ ...created, createDate: undefined }, { userName: 'erin', accessKeyId: at(r.xml, ...key, 'AccessKeyId'), status: 'Active', createDate: undefined });
    assert.match(created['createDate'] ?? '', CLOUDTRAIL_DATE);
    assert.ok(secret.length >= 40);
    assert.ok(!json.includes(secret), 'the secret access key is not in the record');
    assert.ok(!/secretAccessKey/i.test(json), 'no secret field, even emptied');
  });

  it('CreatePolicy records the document and the created policy; AttachUserPolicy records userName and policyArn, responseElements null', async () => {
    const document = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] });
    const created = await ok('iam', { Action: 'CreatePolicy', PolicyName: 'decrypt', PolicyDocument: document, Description: 'may decrypt' });
    const policyArn = at(created.xml, 'CreatePolicyResponse', 'CreatePolicyResult', 'Policy', 'Arn');
    const createRecord = (await recordOf(created)).event;
    assert.deepEqual(createRecord.requestParameters, { policyName: 'decrypt', policyDocument: document, description: 'may decrypt' });
    const policy = (createRecord.responseElements as { policy: Record<string, unknown> }).policy;
    assert.equal(policy['arn'], policyArn);
    assert.equal(policy['policyName'], 'decrypt');
    assert.equal(policy['path'], '/');

    const attached = await ok('iam', { Action: 'AttachUserPolicy', UserName: 'alice', PolicyArn: policyArn });
    const { event } = await recordOf(attached);
    assert.deepEqual(event.requestParameters, { userName: 'alice', policyArn });
    assert.equal(event.responseElements, null);
  });

  it('PutRolePolicy records roleName, policyName and the document as sent; CreateRole its trust policy and the created role', async () => {
    const role = await ok('iam', { Action: 'CreateRole', RoleName: 'writer', AssumeRolePolicyDocument: trust, MaxSessionDuration: '7200' });
    const roleRecord = (await recordOf(role)).event;
    assert.deepEqual(roleRecord.requestParameters, { roleName: 'writer', assumeRolePolicyDocument: trust, maxSessionDuration: 7200 });
    const createdRole = (roleRecord.responseElements as { role: Record<string, unknown> }).role;
    assert.equal(createdRole['arn'], `arn:aws:iam::${ACCOUNT}:role/writer`);
    assert.equal(createdRole['roleId'], at(role.xml, 'CreateRoleResponse', 'CreateRoleResult', 'Role', 'RoleId'));
    assert.equal(createdRole['maxSessionDuration'], 7200);

    const put = await ok('iam', { Action: 'PutRolePolicy', RoleName: 'writer', PolicyName: 'read-data', PolicyDocument: inline });
    const { event } = await recordOf(put);
    assert.deepEqual(event.requestParameters, { roleName: 'writer', policyName: 'read-data', policyDocument: inline });
    assert.equal(event.responseElements, null);
  });

  it('AssumeRole records its parameters, the session key id, expiry and assumed-role user; no stored record holds the secret or the session token', async () => {
    const r = await ok('sts', { Action: 'AssumeRole', RoleArn: `arn:aws:iam::${ACCOUNT}:role/writer`, RoleSessionName: 'job-7', DurationSeconds: '900' }, alice);
    const creds = ['AssumeRoleResponse', 'AssumeRoleResult', 'Credentials'];
    const secret = at(r.xml, ...creds, 'SecretAccessKey');
    const token = at(r.xml, ...creds, 'SessionToken');
    const { event } = await recordOf(r);
    assert.equal(event.eventSource, 'sts.amazonaws.com');
    assert.deepEqual(event.requestParameters, { roleArn: `arn:aws:iam::${ACCOUNT}:role/writer`, roleSessionName: 'job-7', durationSeconds: 900 });
    const elements = event.responseElements as { credentials: Record<string, string>; assumedRoleUser: Record<string, string> };
    assert.deepEqual(Object.keys(elements).sort(), ['assumedRoleUser', 'credentials']);
    assert.deepEqual(Object.keys(elements.credentials).sort(), ['accessKeyId', 'expiration']);
    assert.equal(elements.credentials['accessKeyId'], at(r.xml, ...creds, 'AccessKeyId'));
    assert.match(elements.credentials['expiration'] ?? '', CLOUDTRAIL_DATE);
    assert.deepEqual(elements.assumedRoleUser, {
      assumedRoleId: at(r.xml, 'AssumeRoleResponse', 'AssumeRoleResult', 'AssumedRoleUser', 'AssumedRoleId'),
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/writer/job-7`,
    });

    // The session's own calls are recorded too: none of them, nor any other record, holds its secret or token.
    const session: QueryCredentials = { accessKeyId: elements.credentials['accessKeyId'] ?? '', secretAccessKey: secret, sessionToken: token };
    const who = await ok('sts', { Action: 'GetCallerIdentity' }, session);
    const all = await stored();
    assert.ok(all.some((s) => s.event.requestID === requestIdOf(who)));
    for (const s of all) {
      assert.ok(!s.json.includes(secret), `no secret in ${s.event.eventName}`);
      assert.ok(!s.json.includes(token), `no session token in ${s.event.eventName}`);
      assert.ok(!/sessionToken|secretAccessKey/i.test(s.json), `no secret field in ${s.event.eventName}`);
    }
  });

  it('GetCallerIdentity records null requestParameters and responseElements', async () => {
    const r = await ok('sts', { Action: 'GetCallerIdentity' }, alice);
    const { event } = await recordOf(r);
    assert.equal(event.requestParameters, null);
    assert.equal(event.responseElements, null);
  });

  it('a denied call records its parsed parameters and responseElements null', async () => {
    const r = await send('iam', { Action: 'CreateUser', UserName: 'mallory', Path: '/x/' }, alice);
    assert.equal(errorCode(r), 'AccessDenied');
    const { event } = await recordOf(r);
    assert.equal(event.errorCode, 'AccessDenied');
    assert.deepEqual(event.requestParameters, { userName: 'mallory', path: '/x/' });
    assert.equal(event.responseElements, null);
  });

  it('a failed call records its parsed parameters and responseElements null; one whose request did not parse records none', async () => {
    const exists = await send('iam', { Action: 'CreateUser', UserName: 'alice' });
    assert.equal(errorCode(exists), 'EntityAlreadyExists');
    const failed = (await recordOf(exists)).event;
    assert.equal(failed.errorCode, 'EntityAlreadyExists');
    assert.deepEqual(failed.requestParameters, { userName: 'alice' });
    assert.equal(failed.responseElements, null);

    const unparsed = await send('iam', { Action: 'DeleteUser', Junk: 'x' });
    assert.equal(errorCode(unparsed), 'ValidationError');
    const invalid = (await recordOf(unparsed)).event;
    assert.equal(invalid.requestParameters, null);
    assert.equal(invalid.responseElements, null);
  });

  it('a huge policy document is recorded bounded, not echoed whole', async () => {
    const huge = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${'b'.repeat(40_000)}` }] });
    const r = await send('iam', { Action: 'PutUserPolicy', UserName: 'alice', PolicyName: 'huge', PolicyDocument: huge });
    assert.notEqual(r.status, 200, 'IAM refuses a policy over its size quota');
    const { event, json } = await recordOf(r);
    const recorded = (event.requestParameters as { policyDocument: string }).policyDocument;
    assert.ok(recorded.length < 11_000, `recorded ${recorded.length} characters`);
    assert.ok(huge.startsWith(recorded.slice(0, -3)));
    assert.ok(json.length < 16_000);
  });
});
