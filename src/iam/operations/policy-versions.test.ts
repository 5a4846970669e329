import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../common/clock.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteIdentityStore } from '../../store/sqlite/identity-store.js';
import { IamLimitExceededError } from '../errors.js';
import type { IamDeps } from '../iam-context.js';
import { createManagedPolicy } from './policies.js';
import { createPolicyVersion, MAX_POLICY_VERSIONS, setDefaultPolicyVersion } from './policy-versions.js';
import { slowStore, UNUSED_SEALER as sealer } from './test-support.js';

const doc = (action: string): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });

describe('policy versions', () => {
  it('concurrent CreatePolicyVersion calls never make more than MAX_POLICY_VERSIONS versions', async () => {
    const deps: IamDeps = { store: slowStore(new SqliteIdentityStore(openSqlite(':memory:'))), sealer, clock: systemClock, accountId: '000000000000' };
    const { arn } = await createManagedPolicy(deps, { policyName: 'raced', document: doc('s3:GetObject') });
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => createPolicyVersion(deps, arn, doc('s3:PutObject'), false)));
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof IamLimitExceededError, String(o.reason));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, MAX_POLICY_VERSIONS - 1);
    assert.equal((await deps.store.listPolicyVersions(arn)).length, MAX_POLICY_VERSIONS);
  });

  it('SetDefaultPolicyVersion and a default CreatePolicyVersion tell the caches of everyone attached, and only then', async () => {
    const changed: string[] = [];
    const deps: IamDeps = {
      store: new SqliteIdentityStore(openSqlite(':memory:')),
      sealer,
      clock: systemClock,
      accountId: '000000000000',
      onChange: (what) => changed.push(what.principalName ?? ''),
    };
    const { arn } = await createManagedPolicy(deps, { policyName: 'shared', document: doc('s3:GetObject') });
    await deps.store.attachPolicy('user', 'ann', arn);
    await deps.store.attachPolicy('role', 'builder', arn);
    await createPolicyVersion(deps, arn, doc('s3:PutObject'), false);
    assert.deepEqual(changed, [], 'a non-default version changes no one');
    await setDefaultPolicyVersion(deps, arn, 'v2');
    assert.deepEqual(changed.sort(), ['ann', 'builder']);
    changed.length = 0;
    await createPolicyVersion(deps, arn, doc('s3:ListBucket'), true);
    assert.deepEqual(changed.sort(), ['ann', 'builder']);
  });
});
