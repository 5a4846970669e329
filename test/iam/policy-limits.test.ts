import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { at, errorCode, queryRequest, type QueryResult } from './query-client.js';

type Statement = Record<string, unknown>;
const IDENTITY: Statement = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };
const TRUST: Statement = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' };

/**
 * A policy of exactly `size` characters not counting whitespace (the Sid is the padding),
 * written compact or pretty-printed: IAM counts both the same.
 */
function policyOfSize(size: number, statement: Statement = IDENTITY, pretty = false): string {
  const build = (sid: string): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: sid, ...statement }] }, null, pretty ? 4 : undefined);
  const base = build('').replace(/[ \t\n\r]/g, '').length;
  assert.ok(size >= base, `${size} is below the smallest such policy (${base})`);
  return build('S'.repeat(size - base));
}

// IAM's policy size quotas (IAM and AWS STS quotas): inline policies by their aggregate per
// user (2,048) or role (10,240), a managed policy (6,144), a trust policy (2,048); counted
// without whitespace, refused with LimitExceeded (409) in IAM's wording, changing nothing.
describe('IAM policy size quotas', () => {
  let t: TestServer;
  const iam = (params: Record<string, string>): Promise<QueryResult> => queryRequest(t.endpoint, 'iam', params);
  const message = (r: QueryResult): string => at(r.xml, 'ErrorResponse', 'Error', 'Message');
  const ok = (r: QueryResult): void => assert.equal(r.status, 200, r.text);
  const limitExceeded = (r: QueryResult, text: string): void => assert.deepEqual([r.status, errorCode(r), message(r)], [409, 'LimitExceeded', text], r.text);

  before(async () => {
    t = await startTestServer();
    ok(await iam({ Action: 'CreateUser', UserName: 'quota-user' }));
    ok(await iam({ Action: 'CreateRole', RoleName: 'quota-role', AssumeRolePolicyDocument: policyOfSize(200, TRUST) }));
  });
  after(async () => t.close());

  it("limits a user's inline policies together to 2,048 characters, whitespace not counted", async () => {
    const put = (name: string, doc: string): Promise<QueryResult> => iam({ Action: 'PutUserPolicy', UserName: 'quota-user', PolicyName: name, PolicyDocument: doc });
    limitExceeded(await put('big', policyOfSize(2049)), 'Maximum policy size of 2048 bytes exceeded for user quota-user');
    // Pretty-printing adds whitespace only: the same 2,048 characters fit.
    const pretty = policyOfSize(2048, IDENTITY, true);
    assert.ok(pretty.length > 2100);
    ok(await put('big', pretty));
    // A second policy, however small, goes over the aggregate and is not stored.
    limitExceeded(await put('small', policyOfSize(200)), 'Maximum policy size of 2048 bytes exceeded for user quota-user');
    assert.equal(errorCode(await iam({ Action: 'GetUserPolicy', UserName: 'quota-user', PolicyName: 'small' })), 'NoSuchEntity');
    // Replacing a policy counts the new document instead of the old one (names are case-insensitive).
    ok(await put('BIG', policyOfSize(1848)));
    ok(await put('small', policyOfSize(200)));
    limitExceeded(await put('third', policyOfSize(200)), 'Maximum policy size of 2048 bytes exceeded for user quota-user');
    ok(await iam({ Action: 'DeleteUserPolicy', UserName: 'quota-user', PolicyName: 'small' }));
    ok(await put('third', policyOfSize(200)));
  });

  it("limits a role's inline policies together to 10,240 characters: one policy may be larger than 6,144", async () => {
    const put = (name: string, doc: string): Promise<QueryResult> => iam({ Action: 'PutRolePolicy', RoleName: 'quota-role', PolicyName: name, PolicyDocument: doc });
    ok(await put('one', policyOfSize(8000)));
    ok(await put('two', policyOfSize(2240)));
    limitExceeded(await put('three', policyOfSize(200)), 'Maximum policy size of 10240 bytes exceeded for role quota-role');
    limitExceeded(await put('two', policyOfSize(2241)), 'Maximum policy size of 10240 bytes exceeded for role quota-role');
    const kept = await iam({ Action: 'GetRolePolicy', RoleName: 'quota-role', PolicyName: 'two' });
    assert.equal(decodeURIComponent(at(kept.xml, 'GetRolePolicyResponse', 'GetRolePolicyResult', 'PolicyDocument')), policyOfSize(2240));
  });

  it('a document that does not parse is MalformedPolicyDocument (400) whatever its size, not LimitExceeded', async () => {
    const nested = `{"a":${'{"a":'.repeat(3000)}1${'}'.repeat(3001)}`;
    const malformed = (r: QueryResult): void => assert.deepEqual([r.status, errorCode(r)], [400, 'MalformedPolicyDocument'], r.text);
    malformed(await iam({ Action: 'CreateRole', RoleName: 'nested-role', AssumeRolePolicyDocument: nested }));
    malformed(await iam({ Action: 'CreatePolicy', PolicyName: 'nested-policy', PolicyDocument: nested }));
    malformed(await iam({ Action: 'PutUserPolicy', UserName: 'quota-user', PolicyName: 'nested', PolicyDocument: nested }));
  });

  it("holds a user's aggregate under many concurrent PutUserPolicy calls of different names", async () => {
    // The store checks and writes in one transaction (src/iam/operations/policies.test.ts
    // shows the race with a store answering later); here, end to end over the wire.
    ok(await iam({ Action: 'CreateUser', UserName: 'race-user' }));
    const names = Array.from({ length: 24 }, (_, i) => `p${i}`);
    const answers = await Promise.all(names.map((n) => iam({ Action: 'PutUserPolicy', UserName: 'race-user', PolicyName: n, PolicyDocument: policyOfSize(300) })));
    for (const r of answers) if (r.status !== 200) limitExceeded(r, 'Maximum policy size of 2048 bytes exceeded for user race-user');
    const stored = await Promise.all(names.map((n) => iam({ Action: 'GetUserPolicy', UserName: 'race-user', PolicyName: n })));
    // 6 policies of 300 fit in 2,048, a 7th does not: exactly the 6 accepted are stored.
    assert.deepEqual(stored.map((r) => r.status === 200), answers.map((r) => r.status === 200));
    assert.equal(answers.filter((r) => r.status === 200).length, 6);
  });

  it('limits a managed policy to 6,144 characters (PolicySize), whitespace not counted', async () => {
    const create = (name: string, doc: string): Promise<QueryResult> => iam({ Action: 'CreatePolicy', PolicyName: name, PolicyDocument: doc });
    limitExceeded(await create('managed-big', policyOfSize(6145)), 'Cannot exceed quota for PolicySize: 6144');
    assert.equal(errorCode(await iam({ Action: 'GetPolicy', PolicyArn: 'arn:aws:iam::000000000000:policy/managed-big' })), 'NoSuchEntity');
    ok(await create('managed-big', policyOfSize(6144, IDENTITY, true)));
  });

  it("limits a role's trust policy to 2,048 characters (ACLSizePerRole)", async () => {
    const create = (name: string, doc: string): Promise<QueryResult> => iam({ Action: 'CreateRole', RoleName: name, AssumeRolePolicyDocument: doc });
    limitExceeded(await create('trust-big', policyOfSize(2049, TRUST)), 'Cannot exceed quota for ACLSizePerRole: 2048');
    assert.equal(errorCode(await iam({ Action: 'GetRole', RoleName: 'trust-big' })), 'NoSuchEntity');
    ok(await create('trust-big', policyOfSize(2048, TRUST, true)));
  });
});

