import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../common/clock.js';
import { StoredIdentityPolicies } from './identity-policies.js';
import type { IdentityStore, RoleRecord } from './identity-store.js';
import type { Principal } from './principals.js';

const ACCOUNT = '111122223333';
const DOC = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });

const session = (roleId: string): Principal => ({
  type: 'AssumedRole',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/r/s`,
  accountId: ACCOUNT,
  principalId: `${roleId}:s`,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/r`,
  sessionName: 's',
});

/**
 * A credential cached before its role was replaced (here, on another node, for up to 5 s)
 * still names the role's ARN: the policies must follow the session's AROA id, not the name.
 */
test("a role session gets the role's policies only while the role of its id exists, not a same-name replacement's", async () => {
  let role: RoleRecord | undefined = { roleName: 'r', roleId: 'AROANEWROLE', arn: `arn:aws:iam::${ACCOUNT}:role/r`, path: '/', createdAt: new Date(0), description: '', trustPolicy: '{}', maxSessionDuration: 3600, tags: [] };
  const store = {
    getRole: async () => role,
    listInlinePolicies: async () => [{ policyName: 'p', document: DOC }],
    listAttachedPolicies: async () => [],
  } as unknown as IdentityStore;
  const policies = new StoredIdentityPolicies(store, new ManualClock());
  assert.equal((await policies.policiesFor(session('AROANEWROLE'))).length, 1, 'a session of the current role');
  assert.equal((await policies.policiesFor(session('AROAOLDROLE'))).length, 0, 'a session of the replaced role, answered from the cache');
  policies.invalidate();
  assert.equal((await policies.policiesFor(session('AROAOLDROLE'))).length, 0, 'a session of the replaced role, read from the store');
  role = undefined;
  policies.invalidate();
  assert.equal((await policies.policiesFor(session('AROANEWROLE'))).length, 0, 'the role is gone');
});
