import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePolicies } from './evaluate-policies.js';
import { evaluatePolicy } from './evaluate-policy.js';
import { parsePolicy } from './parse-policy.js';
import type { RequestContext, RequestPrincipal } from './request-context.js';
import type { Policy, PolicyKind } from './types.js';

const A = '111122223333';
const B = '444455556666';
const alice: RequestPrincipal = { type: 'User', arn: `arn:aws:iam::${A}:user/alice`, account: A, username: 'alice' };
const bob: RequestPrincipal = { type: 'User', arn: `arn:aws:iam::${B}:user/bob`, account: B, username: 'bob' };
const anonymous: RequestPrincipal = { type: 'Anonymous' };
const object = 'arn:aws:s3:::shared/data.csv';

function policy(kind: PolicyKind, statement: unknown): Policy {
  return parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statement }), kind);
}

function get(principal: RequestPrincipal, extra: Partial<RequestContext> = {}): RequestContext {
  return { principal, action: 's3:GetObject', resource: object, resourceAccount: A, ...extra };
}

const allowGetIdentity = policy('identity', { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });
const bucketFor = (principal: unknown): Policy =>
  policy('resource', { Effect: 'Allow', Principal: principal, Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/*' });

describe('evaluatePolicies', () => {
  it('denies implicitly when nothing applies', () => {
    assert.deepEqual(evaluatePolicies(get(alice), { identity: [] }), { decision: 'ImplicitDeny', reason: 'no policy allows the request' });
  });

  it('same account: an identity allow or a resource allow naming the user suffices', () => {
    assert.equal(evaluatePolicies(get(alice), { identity: [allowGetIdentity] }).decision, 'Allow');
    assert.equal(evaluatePolicies(get(alice), { identity: [], resource: [bucketFor({ AWS: alice.arn })] }).decision, 'Allow');
    assert.equal(evaluatePolicies(get(alice), { identity: [], resource: [bucketFor({ AWS: `arn:aws:iam::${A}:user/carol` })] }).decision, 'ImplicitDeny');
  });

  it('cross-account: both the identity policy and the resource policy must allow', () => {
    const bucket = bucketFor({ AWS: B });
    const identityB = policy('identity', { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/*' });
    assert.equal(evaluatePolicies(get(bob), { identity: [identityB], resource: [bucket] }).decision, 'Allow');
    assert.match(evaluatePolicies(get(bob), { identity: [], resource: [bucket] }).reason, /identity policy/);
    assert.match(evaluatePolicies(get(bob), { identity: [identityB], resource: [bucketFor({ AWS: A })] }).reason, /resource policy/);
  });

  it('anonymous callers are allowed only by a public resource policy', () => {
    assert.equal(evaluatePolicies(get(anonymous), { identity: [], resource: [bucketFor('*')] }).decision, 'Allow');
    assert.equal(evaluatePolicies(get(anonymous), { identity: [], resource: [bucketFor({ AWS: '*' })] }).decision, 'Allow');
    assert.equal(evaluatePolicies(get(anonymous), { identity: [], resource: [bucketFor({ AWS: A })] }).decision, 'ImplicitDeny');
  });

  it('an endpoint policy must also allow, and its deny wins', () => {
    const onlyShared = policy('endpoint', { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/*' });
    const other = { ...get(alice), resource: 'arn:aws:s3:::private/x' };
    const identity = [policy('identity', { Effect: 'Allow', Action: 's3:*', Resource: '*' })];
    assert.equal(evaluatePolicies(get(alice), { identity, endpoint: [onlyShared] }).decision, 'Allow');
    const blocked = evaluatePolicies(other, { identity, endpoint: [onlyShared] });
    assert.equal(blocked.decision, 'ImplicitDeny');
    assert.match(blocked.reason, /endpoint policy/);
    const denyAll = policy('endpoint', { Effect: 'Deny', Action: '*' });
    assert.equal(evaluatePolicies(get(alice), { identity, endpoint: [onlyShared, denyAll] }).decision, 'ExplicitDeny');
    // An endpoint policy alone grants nothing.
    assert.equal(evaluatePolicies(get(alice), { identity: [], endpoint: [onlyShared] }).decision, 'ImplicitDeny');
  });

  it('a permissions boundary caps identity allows', () => {
    const identity = [policy('identity', { Effect: 'Allow', Action: '*', Resource: '*' })];
    const boundary = [policy('identity', { Effect: 'Allow', Action: 's3:*', Resource: '*' })];
    assert.equal(evaluatePolicies(get(alice), { identity, permissionsBoundary: boundary }).decision, 'Allow');
    const kms = { ...get(alice), action: 'kms:Decrypt', resource: '*' };
    assert.match(evaluatePolicies(kms, { identity, permissionsBoundary: boundary }).reason, /permissions boundary/);
  });

  it('a deny in a resource policy beats an allow in an identity policy, and names both policy and statement', () => {
    const bucket = parsePolicy(
      JSON.stringify({ Version: '2012-10-17', Id: 'b1', Statement: { Sid: 'NoAlice', Effect: 'Deny', Principal: { AWS: alice.arn }, Action: 's3:*', Resource: '*' } }),
      'resource',
    );
    assert.deepEqual(evaluatePolicies(get(alice), { identity: [allowGetIdentity], resource: [bucket] }), {
      decision: 'ExplicitDeny',
      reason: 'explicitly denied by resource policy "b1" statement "NoAlice"',
    });
  });
});

describe('principal matching', () => {
  it('an assumed-role session matches its role ARN', () => {
    const role: RequestPrincipal = { type: 'AssumedRole', arn: `arn:aws:sts::${A}:assumed-role/etl/run-1`, account: A, roleArn: `arn:aws:iam::${A}:role/etl` };
    assert.equal(evaluatePolicies(get(role), { identity: [], resource: [bucketFor({ AWS: role.roleArn })] }).decision, 'Allow');
  });

  it('service principals match by service name only', () => {
    const s3: RequestPrincipal = { type: 'Service', service: 's3.amazonaws.com' };
    const keyPolicy = policy('resource', { Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'kms:GenerateDataKey', Resource: '*' });
    const req = { principal: s3, action: 'kms:GenerateDataKey', resource: '*' };
    assert.equal(evaluatePolicy(keyPolicy, req).effect, 'Allow');
    assert.equal(evaluatePolicy(keyPolicy, { ...req, principal: { type: 'Service', service: 'ec2.amazonaws.com' } }).effect, 'NotApplicable');
  });

  it('NotPrincipal with Deny denies everyone not listed', () => {
    const bucket = policy('resource', [
      { Effect: 'Allow', Principal: { AWS: [A, B] }, Action: 's3:GetObject', Resource: '*' },
      { Effect: 'Deny', NotPrincipal: { AWS: alice.arn }, Action: 's3:*', Resource: '*' },
    ]);
    assert.equal(evaluatePolicy(bucket, get(alice)).effect, 'Allow');
    assert.equal(evaluatePolicy(bucket, get(bob)).effect, 'Deny');
  });

  it('actions match case-insensitively, resources case-sensitively', () => {
    const p = policy('identity', { Effect: 'Allow', Action: 'S3:getobject', Resource: 'arn:aws:s3:::shared/*' });
    assert.equal(evaluatePolicy(p, get(alice)).effect, 'Allow');
    assert.equal(evaluatePolicy(p, { ...get(alice), resource: 'arn:aws:s3:::SHARED/data.csv' }).effect, 'NotApplicable');
  });

  it('NotResource applies to every resource except those listed', () => {
    const p = policy('identity', { Effect: 'Deny', Action: 's3:*', NotResource: ['arn:aws:s3:::shared', 'arn:aws:s3:::shared/*'] });
    assert.equal(evaluatePolicy(p, get(alice)).effect, 'NotApplicable');
    assert.deepEqual(evaluatePolicy(p, { ...get(alice), resource: 'arn:aws:s3:::other/x' }), { effect: 'Deny', statementId: '#0' });
  });

  it('a statement without a Sid is reported by index; deny wins within one policy', () => {
    const p = policy('identity', [
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:GetObject', Resource: '*' },
    ]);
    assert.deepEqual(evaluatePolicy(p, get(alice)), { effect: 'Deny', statementId: '#1' });
  });
});
