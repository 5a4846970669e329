import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IamLimitExceededError } from '../errors.js';
import { MAX_ENTITY_TAGS, tagEntity, untagEntity, listEntityTags } from './tags.js';
import { sqliteDeps } from './test-support.js';
import { createUser } from './users.js';

const tags = (prefix: string, n: number): { key: string; value: string }[] => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: 'v' }));

describe('user and role tags', () => {
  it('concurrent TagUser calls behind a store that answers a turn later never pass the 50-tag quota', async () => {
    const deps = sqliteDeps();
    await createUser(deps, { userName: 'raced' });
    const outcomes = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((p) => tagEntity(deps, 'user', 'raced', tags(p, 20))));
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof IamLimitExceededError, String(o.reason));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 2, 'two calls of 20 fit in 50, a third does not');
    const kept = await listEntityTags(deps, 'user', 'raced');
    assert.equal(kept.length, 40);
    assert.ok(kept.length <= MAX_ENTITY_TAGS);
  });

  it('a concurrent tag and untag lose neither change; keys are matched case-insensitively, the first spelling kept', async () => {
    const deps = sqliteDeps();
    await createUser(deps, { userName: 'both', tags: [{ key: 'Team', value: 'ml' }, { key: 'old', value: 'x' }] });
    await Promise.all([tagEntity(deps, 'user', 'both', [{ key: 'TEAM', value: 'web' }, { key: 'new', value: 'y' }]), untagEntity(deps, 'user', 'both', ['OLD'])]);
    assert.deepEqual(await listEntityTags(deps, 'user', 'both'), [{ key: 'Team', value: 'web' }, { key: 'new', value: 'y' }]);
  });
});
