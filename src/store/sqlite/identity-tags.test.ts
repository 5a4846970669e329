import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IamLimitExceededError } from '../../iam/errors.js';
import { mergeTags } from '../../iam/operations/tags.js';
import { openSqlite } from './database.js';
import { SqliteIdentityStore } from './identity-store.js';

describe('SqliteIdentityStore tags', () => {
  it('a user or role record stored before tags were kept reads as tagless and can be tagged', async () => {
    const db = openSqlite(':memory:');
    const store = new SqliteIdentityStore(db);
    // The record shapes as written before this change: no `tags` field.
    const user = { userName: 'old', userId: 'AIDAOLD', arn: 'arn:aws:iam::000000000000:user/old', path: '/', createdAt: new Date(0).toISOString() };
    db.prepare('INSERT INTO iam_users (user_name, record) VALUES (?, ?)').run('old', JSON.stringify(user));
    const role = { roleName: 'old-role', roleId: 'AROAOLD', arn: 'arn:aws:iam::000000000000:role/old-role', path: '/', createdAt: new Date(0).toISOString(), description: '', trustPolicy: '{}', maxSessionDuration: 3600 };
    db.prepare('INSERT INTO iam_roles (role_name, record) VALUES (?, ?)').run('old-role', JSON.stringify(role));
    assert.deepEqual((await store.getUser('old'))?.tags, []);
    assert.deepEqual((await store.listRoles()).map((r) => r.tags), [[]]);
    assert.deepEqual(await store.updateTags('role', 'OLD-ROLE', (current) => [...current, { key: 'k', value: 'v' }]), [{ key: 'k', value: 'v' }]);
    assert.deepEqual((await store.getRole('old-role'))?.tags, [{ key: 'k', value: 'v' }]);
    assert.equal((await store.getRole('old-role'))?.trustPolicy, '{}', 'the rest of the record is kept');
    assert.equal(await store.updateTags('user', 'nobody', () => []), undefined);
  });

  it('an update that raises writes nothing: a tag call over the quota leaves the tags as they were', async () => {
    const store = new SqliteIdentityStore(openSqlite(':memory:'));
    await store.createUser({ userName: 'u', userId: 'AIDAU', arn: 'arn:aws:iam::000000000000:user/u', path: '/', createdAt: new Date(0), tags: [] });
    const fifty = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    await store.updateTags('user', 'u', (current) => mergeTags('user', current, fifty));
    await assert.rejects(store.updateTags('user', 'u', (current) => mergeTags('user', current, [{ key: 'one-more', value: 'x' }])), IamLimitExceededError);
    const kept = (await store.getUser('u'))?.tags ?? [];
    assert.equal(kept.length, 50);
    assert.equal(kept.some((t) => t.key === 'one-more'), false);
  });
});
