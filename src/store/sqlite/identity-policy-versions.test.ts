import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqlite } from './database.js';
import { SqliteIdentityStore } from './identity-store.js';

const ARN = 'arn:aws:iam::000000000000:policy/old-policy';
const DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}';
const CREATED = '2025-01-02T03:04:05.000Z';

/** A database as the store wrote it before policy versions: a record without defaultVersionId, no versions table, no next_version. */
function oldDatabase(): ReturnType<typeof openSqlite> {
  const db = openSqlite(':memory:');
  db.exec('CREATE TABLE iam_managed_policies (arn TEXT PRIMARY KEY, record TEXT NOT NULL)');
  const record = { arn: ARN, policyName: 'old-policy', policyId: 'ANPAOLDOLDOLDOLDOLDOL', path: '/', description: '', document: DOC, createdAt: CREATED, updatedAt: CREATED };
  db.prepare('INSERT INTO iam_managed_policies (arn, record) VALUES (?, ?)').run(ARN, JSON.stringify(record));
  return db;
}

describe('SqliteIdentityStore policy versions', () => {
  it('reads a managed policy stored before versions as v1, the default, and counts on from there', async () => {
    const db = oldDatabase();
    const store = new SqliteIdentityStore(db);
    assert.equal((await store.getManagedPolicy(ARN))?.defaultVersionId, 'v1');
    assert.deepEqual(await store.listPolicyVersions(ARN), [{ versionId: 'v1', document: DOC, isDefault: true, createdAt: new Date(CREATED) }]);
    const v2 = await store.createPolicyVersion(ARN, '{"Version":"2012-10-17","Statement":[]}', false, new Date(), undefined);
    assert.equal(v2?.versionId, 'v2');
    // Opening again (a restart) migrates nothing twice.
    const again = new SqliteIdentityStore(db);
    assert.deepEqual((await again.listPolicyVersions(ARN)).map((v) => [v.versionId, v.isDefault]), [['v2', false], ['v1', true]]);
    assert.equal((await again.getManagedPolicy(ARN))?.document, DOC, 'the default is still v1');
  });

  it('a migration that fails part-way leaves the database as it was, and the next open migrates it', async () => {
    const db = oldDatabase();
    // The versions table exists already with an insert that fails: the migration stops after adding next_version.
    db.exec(`CREATE TABLE iam_policy_versions (policy_arn TEXT NOT NULL, version_id TEXT NOT NULL, document TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (policy_arn, version_id));
      CREATE TRIGGER fail_migration BEFORE INSERT ON iam_policy_versions BEGIN SELECT RAISE(ABORT, 'disk gone'); END;`);
    assert.throws(() => new SqliteIdentityStore(db), /disk gone/);
    const columns = db.prepare<[], { name: string }>('PRAGMA table_info(iam_managed_policies)').all().map((c) => c.name);
    assert.deepEqual(columns, ['arn', 'record'], 'the added column is rolled back with the failed insert');
    assert.deepEqual(db.prepare('SELECT count(*) AS n FROM iam_policy_versions').get(), { n: 0 });
    db.exec('DROP TRIGGER fail_migration');
    const store = new SqliteIdentityStore(db);
    assert.deepEqual((await store.listPolicyVersions(ARN)).map((v) => [v.versionId, v.isDefault, v.document]), [['v1', true, DOC]]);
    assert.equal((await store.createPolicyVersion(ARN, DOC, false, new Date()))?.versionId, 'v2');
  });

  it('setDefaultPolicyVersion moves the document evaluation reads; the default cannot be deleted; deleting the policy deletes its versions', async () => {
    const store = new SqliteIdentityStore(oldDatabase());
    const other = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}';
    await store.createPolicyVersion(ARN, other, false, new Date());
    assert.equal(await store.deletePolicyVersion(ARN, 'v1'), false);
    assert.equal(await store.setDefaultPolicyVersion(ARN, 'v2'), true);
    assert.equal((await store.getManagedPolicy(ARN))?.document, other);
    assert.equal(await store.setDefaultPolicyVersion(ARN, 'v7'), false);
    assert.equal(await store.deletePolicyVersion(ARN, 'v1'), true);
    assert.equal(await store.deleteManagedPolicy(ARN), true);
    assert.deepEqual(await store.listPolicyVersions(ARN), []);
    assert.equal(await store.createPolicyVersion(ARN, other, true, new Date()), undefined);
  });
});
