import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { systemClock } from '../../common/clock.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteIdentityStore } from '../../store/sqlite/identity-store.js';
import { IamLimitExceededError } from '../errors.js';
import { policySize, POLICY_SIZE_QUOTAS, type IamDeps } from '../iam-context.js';
import type { IdentityStore } from '../identity-store.js';
import { putInlinePolicy } from './policies.js';
import { createUser } from './users.js';

/**
 * The SQLite store with every call answered a turn of the event loop later, as a store
 * behind I/O would: whatever an operation reads and then writes in two calls, other
 * requests can change in between.
 */
function slowStore(inner: IdentityStore): IdentityStore {
  return new Proxy(inner, {
    get(target, name, receiver): unknown {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]): Promise<unknown> => {
        await turn();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const sealer: IamDeps['sealer'] = {
  wrap: () => Promise.reject(new Error('not used')),
  unwrap: () => Promise.reject(new Error('not used')),
};

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
