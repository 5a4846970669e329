import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { at, errorCode, queryRequest, type QueryResult } from './query-client.js';

const TRUST = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' }] });
const POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });

// Hostile IAM and STS Query requests: each is answered as IAM/STS answers it and changes nothing.
describe('IAM/STS wire: hostile parameters', () => {
  let t: TestServer;
  const iam = (params: Record<string, string>): Promise<QueryResult> => queryRequest(t.endpoint, 'iam', params);
  const sts = (params: Record<string, string>): Promise<QueryResult> => queryRequest(t.endpoint, 'sts', params);
  const message = (r: QueryResult): string => at(r.xml, 'ErrorResponse', 'Error', 'Message');

  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  it('refuses a role or policy Description over 1000 characters (ValidationError) and creates nothing', async () => {
    const role = await iam({ Action: 'CreateRole', RoleName: 'long-desc', AssumeRolePolicyDocument: TRUST, Description: 'd'.repeat(1001) });
    assert.equal(role.status, 400, role.text);
    assert.equal(errorCode(role), 'ValidationError');
    assert.match(message(role), /at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000$/);
    assert.equal(errorCode(await iam({ Action: 'GetRole', RoleName: 'long-desc' })), 'NoSuchEntity');
    const policy = await iam({ Action: 'CreatePolicy', PolicyName: 'long-desc', PolicyDocument: POLICY, Description: 'd'.repeat(1001) });
    assert.equal(policy.status, 400, policy.text);
    assert.equal(errorCode(policy), 'ValidationError');
    assert.equal(errorCode(await iam({ Action: 'GetPolicy', PolicyArn: 'arn:aws:iam::000000000000:policy/long-desc' })), 'NoSuchEntity');
    // The limit itself is accepted.
    assert.equal((await iam({ Action: 'CreateRole', RoleName: 'max-desc', AssumeRolePolicyDocument: TRUST, Description: 'd'.repeat(1000) })).status, 200);
    assert.equal((await iam({ Action: 'CreatePolicy', PolicyName: 'max-desc', PolicyDocument: POLICY, Description: 'd'.repeat(1000) })).status, 200);
  });

  it("refuses a role Description with characters outside CreateRole's pattern", async () => {
    const r = await iam({ Action: 'CreateRole', RoleName: 'ctrl-desc', AssumeRolePolicyDocument: TRUST, Description: 'a\u0001b' });
    assert.equal(r.status, 400, r.text);
    assert.equal(errorCode(r), 'ValidationError');
    assert.match(message(r), /at 'description' failed to satisfy constraint: Member must satisfy regular expression pattern/);
    assert.equal(errorCode(await iam({ Action: 'GetRole', RoleName: 'ctrl-desc' })), 'NoSuchEntity');
    const ok = await iam({ Action: 'CreateRole', RoleName: 'latin1-desc', AssumeRolePolicyDocument: TRUST, Description: 'Café\tdata\nrole' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(at(ok.xml, 'CreateRoleResponse', 'CreateRoleResult', 'Role', 'Description'), 'Café\tdata\nrole');
  });

  it('validates AssumeRole parameters before authorizing, as STS does (ValidationError, not AccessDenied)', async () => {
    const arn = 'arn:aws:iam::000000000000:role/max-desc';
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ RoleArn: arn, RoleSessionName: 'a b' }, /at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern/],
      [{ RoleArn: arn, RoleSessionName: 'a' }, /at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2/],
      [{ RoleArn: arn, RoleSessionName: 's'.repeat(65) }, /Member must have length less than or equal to 64/],
      [{ RoleArn: arn, RoleSessionName: 'ok-session', DurationSeconds: '899' }, /at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200/],
      [{ RoleArn: arn, RoleSessionName: 'ok-session', DurationSeconds: '43201' }, /Member must have value between 900 and 43200/],
    ];
    // Root may not assume roles at all (AccessDenied once the request is well formed), so
    // each of these answered AccessDenied before the fix.
    for (const [params, expected] of cases) {
      const r = await sts({ Action: 'AssumeRole', ...params });
      assert.equal(r.status, 400, `${JSON.stringify(params)}: ${r.text}`);
      assert.equal(errorCode(r), 'ValidationError', JSON.stringify(params));
      assert.match(message(r), expected, JSON.stringify(params));
    }
    const two = await sts({ Action: 'AssumeRole', RoleArn: arn, RoleSessionName: 'x', DurationSeconds: '1' });
    assert.match(message(two), /^2 validation errors detected: /);
    const wellFormed = await sts({ Action: 'AssumeRole', RoleArn: arn, RoleSessionName: 'ok-session' });
    assert.equal(wellFormed.status, 403, wellFormed.text);
    assert.equal(errorCode(wellFormed), 'AccessDenied');
  });

  it("validates AssumeRole's RoleArn (20 to 2048 characters of STS's text pattern) before authorizing, counted with the other members", async () => {
    const cases: Array<[string, string]> = [
      ['nope', "1 validation error detected: Value 'nope' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"],
      ['a'.repeat(19), `1 validation error detected: Value '${'a'.repeat(19)}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20`],
      [`arn:aws:iam::000000000000:role/${'r'.repeat(2018)}`, `1 validation error detected: Value '${`arn:aws:iam::000000000000:role/${'r'.repeat(2018)}`.slice(0, 256)}...' at 'roleArn' failed to satisfy constraint: Member must have length less than or equal to 2048`],
    ];
    for (const [roleArn, expected] of cases) {
      const r = await sts({ Action: 'AssumeRole', RoleArn: roleArn, RoleSessionName: 'ok-session' });
      assert.equal(r.status, 400, `${roleArn.length}: ${r.text}`);
      assert.equal(errorCode(r), 'ValidationError');
      assert.equal(message(r), expected);
    }
    const ctrl = await sts({ Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/a\u0001b', RoleSessionName: 'ok-session' });
    assert.equal(errorCode(ctrl), 'ValidationError', ctrl.text);
    assert.match(message(ctrl), /^1 validation error detected: Value '.*' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: /s);
    // Every problem counted in one message, RoleArn first (member order, as STS lists them).
    const three = await sts({ Action: 'AssumeRole', RoleArn: 'nope', RoleSessionName: 'x', DurationSeconds: '1' });
    assert.match(message(three), /^3 validation errors detected: Value 'nope' at 'roleArn' .*; Value 'x' at 'roleSessionName' .*; Value '1' at 'durationSeconds' /);
    // The limits themselves pass validation: root then meets AccessDenied, as for any well-formed request.
    for (const [roleArn, length] of [['arn:aws:iam::0:role/', 20], [`arn:aws:iam::000000000000:role/${'r'.repeat(2017)}`, 2048]] as const) {
      assert.equal(roleArn.length, length);
      const r = await sts({ Action: 'AssumeRole', RoleArn: roleArn, RoleSessionName: 'ok-session' });
      assert.equal(`${r.status} ${errorCode(r)}`, '403 AccessDenied', `${roleArn.length}: ${r.text}`);
    }
  });
});
