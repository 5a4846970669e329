import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { boto3Suite } from '../helpers/boto3-suite.js';
import { RealTimeClock } from '../helpers/server.js';

const SCRIPT = fileURLToPath(new URL('./policy-operations-boto3.py', import.meta.url));
const ACCOUNT = '000000000000';

/**
 * boto3 (Debian python3-boto3) driving the IAM policy operations tools call around a role's or
 * policy's life (src/iam/wire/routes-iam-policies.ts): ListRolePolicies and ListUserPolicies
 * (as boto3 users and Terraform call them before DeleteRole), UpdateAssumeRolePolicy, managed
 * policy versions (Create/Get/List/Delete/SetDefaultPolicyVersion) and ListPolicies with its
 * filters and boto3's paginators; shapes and error codes as botocore's iam model has them.
 */
describe('boto3 against Cipherlake IAM policy operations', () => {
  const section = boto3Suite(SCRIPT, { prefix: 'cipherlake-iam-policy-ops-', clock: new RealTimeClock() });

  it('a role with inline and attached policies is deleted the boto3 way (list, detach, delete inline, delete role); ListUserPolicies; UpdateAssumeRolePolicy changes who may assume', async () => {
    const out = await section('roles');
    assert.deepEqual(out.names, ['a-write', 'b-list', 'c-read']);
    assert.deepEqual(out.paged, [['a-write', 'b-list'], true, ['c-read'], false], 'MaxItems=2 then the Marker: each name once');
    assert.deepEqual(out.conflict, ['DeleteConflict', 409, true], 'DeleteRole with policies still there');
    assert.deepEqual(out.deleted, [['NoSuchEntity', 404, true], ['NoSuchEntity', 404, true], [0, 0, 0]]);
    assert.deepEqual(out.user, [['mine'], ['NoSuchEntity', 404, true]]);
    assert.deepEqual(out.trust, {
      before: ['AccessDenied', 403, true],
      after: `arn:aws:sts::${ACCOUNT}:assumed-role/ops-target/s2`,
      get: true,
      malformed: ['MalformedPolicyDocument', 400, true],
      notTrust: ['MalformedPolicyDocument', 400, true],
      kept: true,
      noRole: ['NoSuchEntity', 404, true],
      denied: ['AccessDenied', 403, true],
      scoped: ['no error', ['AccessDenied', 403, true], true],
    });
  });

  it('policy versions: a non-default version changes nothing, SetDefaultPolicyVersion changes what evaluation uses; 5 versions at most; ids never reused; errors; audited under the policy', async () => {
    const out = await section('versions');
    assert.equal(out.v1, 'no error', 'v1 allows iam:ListUsers');
    assert.deepEqual(out.created, ['v2', false, true, false], 'CreatePolicyVersion answers no Document');
    assert.equal(out.nonDefault, 'no error', 'a non-default v2 changes nothing');
    assert.deepEqual(out.setDefault, [['AccessDenied', 403, true], 'v2', 'no error'], 'v2 (iam:ListRoles only) is what evaluation uses now');
    assert.deepEqual(out.get, ['v1', false, true]);
    assert.deepEqual(out.listed, [[['v5', false], ['v4', false], ['v3', true], ['v2', false], ['v1', false]], false, false, 'no error']);
    assert.deepEqual(out.sixth, ['LimitExceeded', 409, true]);
    assert.deepEqual(out.pages, [['v5', 'v4'], ['v3', 'v2'], ['v1']], "boto3's paginator: newest first, pages of 2");
    assert.deepEqual(out.deleteDefault, ['DeleteConflict', 409, true]);
    assert.equal(out.notReused, 'v6', 'v5 deleted: the next version is v6');
    assert.deepEqual(out.errors, {
      noVersion: ['NoSuchEntity', 404, true],
      badVersion: ['ValidationError', 400, true],
      setMissing: ['NoSuchEntity', 404, true],
      deleteMissing: ['NoSuchEntity', 404, true],
      noPolicy: ['NoSuchEntity', 404, true],
      malformed: ['MalformedPolicyDocument', 400, true],
      denied: ['AccessDenied', 403, true],
      badArn: [
        ['InvalidInput', 400, true],
        ['InvalidInput', 400, true],
        ['InvalidInput', 400, true],
        ['InvalidInput', 400, true],
      ],
      badArnMessage: `ARN arn:aws:iam::${ACCOUNT}:policy/a:b is not valid.`,
    });
    assert.deepEqual(out.deletePolicy, ['DeleteConflict', 409, true], 'DeletePolicy with more than one version');
    assert.deepEqual(out.gone, ['NoSuchEntity', 404, true]);
    assert.deepEqual(out.audited, ['CreatePolicyVersion', 'DeletePolicyVersion', 'GetPolicyVersion', 'ListPolicyVersions', 'SetDefaultPolicyVersion']);
    // Each successful CreatePolicyVersion's record: setAsDefault only when sent, the policy, and the version it made.
    assert.deepEqual(out.recorded, [[null, true, 'v2'], [true, true, 'v3'], [null, true, 'v4'], [null, true, 'v5'], [null, true, 'v6']]);
  });

  it('ListPolicies: Scope, OnlyAttached, PathPrefix, PolicyUsageFilter, the list shape, paging, iam:ListPolicies required; PathPrefix validated on ListPolicies, ListUsers, ListRoles; the narrower Path of CreatePolicy', async () => {
    const out = await section('list-policies');
    const all = ['lp-a', 'lp-b', 'lp-c', 'lp-d'];
    assert.deepEqual(out.all, all);
    assert.deepEqual(out.local, all);
    assert.deepEqual(out.aws, [], 'no AWS managed policies here');
    assert.deepEqual(out.attached, ['lp-c']);
    assert.deepEqual(out.prefix, ['lp-b', 'lp-c']);
    assert.deepEqual(out.boundary, [], 'no policy is used as a permissions boundary');
    assert.deepEqual(
      out.boundarySet,
      [['ValidationError', 400, true], ['NoSuchEntity', 404, true], ['ValidationError', 400, true], ['NoSuchEntity', 404, true]],
      'CreateUser and CreateRole with a PermissionsBoundary are refused, not created unbounded',
    );
    assert.deepEqual(out.permissions, all);
    assert.deepEqual(out.shape, { arn: true, version: 'v1', count: 1, boundaryCount: 0, attachable: true, description: false, dates: true });
    assert.deepEqual(out.pages, [true, true, true, all]);
    assert.deepEqual(out.authz, [true, ['AccessDenied', 403, true], true, ['AccessDenied', 403, true]]);
    assert.deepEqual(out.invalid, {
      policies: ['ValidationError', 400, true],
      policiesChars: ['ValidationError', 400, true],
      scope: ['ValidationError', 400, true],
      users: ['ValidationError', 400, true],
      roles: ['ValidationError', 400, true],
      createPath: ['ValidationError', 400, true],
      usersOk: ['lp-user'],
    });
  });
});
