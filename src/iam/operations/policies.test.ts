import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../common/clock.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteIdentityStore } from '../../store/sqlite/identity-store.js';
import { IamLimitExceededError } from '../errors.js';
import { policySize, POLICY_SIZE_QUOTAS, type IamDeps } from '../iam-context.js';
import { putInlinePolicy } from './policies.js';
import { createUser } from './users.js';
import { slowStore, UNUSED_SEALER as sealer } from './test-support.js';

describe('putInlinePolicy', () => {
  it("checks a user's inline aggregate and writes in one step: concurrent puts of different names never exceed the quota", async () => {
    const deps: IamDeps = { store: slowStore(new SqliteIdentityStore(openSqlite(':memory:'))), sealer, clock: systemClock, accountId: '000000000000' };
    await createUser(deps, { userName: 'racer' });
    // 300 characters each: 6 fit in the user's 2,048, a 7th does not.
    const build = (sid: string): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: sid, Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
    const document = build('S'.repeat(300 - policySize(build(''))));
    assert.equal(policySize(document), 300);
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => putInlinePolicy(deps, 'user', 'racer', `p${i}`, document)));
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof IamLimitExceededError, String(o.reason));
    const stored = await deps.store.listInlinePolicies('user', 'racer');
    const total = stored.reduce((sum, p) => sum + policySize(p.document), 0);
    assert.ok(total <= POLICY_SIZE_QUOTAS.user, `${stored.length} policies stored, ${total} characters`);
    assert.equal(stored.length, 6);
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 6);
  });
});
