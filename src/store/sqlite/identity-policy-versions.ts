/**
 * Managed policy versions on SQLite, for SqliteIdentityStore: one row per version, the
 * policy's record (iam_managed_policies.record) keeping the default version's id and document,
 * so what evaluation reads stays one lookup; `next_version` counts up so an id is never reused.
 */
import type { ManagedPolicyRecord, PolicyVersionRecord } from '../../iam/identity-store.js';
import type { SqliteDatabase } from './database.js';

const VERSIONS_SCHEMA = `
CREATE TABLE IF NOT EXISTS iam_policy_versions (
  policy_arn TEXT NOT NULL, version_id TEXT NOT NULL, document TEXT NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (policy_arn, version_id)
);
`;

/**
 * Creates the versions table and migrates a database written before versions existed: each
 * managed policy without versions gets its document as `v1` (its creation time), and the
 * `next_version` column (2 for those). Idempotent; run in one IMMEDIATE transaction, so two
 * processes opening the same file never both add the column. Raises better-sqlite3's errors.
 */
export function migratePolicyVersions(db: SqliteDatabase): void {
  db.transaction(() => {
    db.exec(VERSIONS_SCHEMA);
    const columns = db.prepare<[], { name: string }>('PRAGMA table_info(iam_managed_policies)').all();
    if (!columns.some((c) => c.name === 'next_version')) db.exec('ALTER TABLE iam_managed_policies ADD COLUMN next_version INTEGER NOT NULL DEFAULT 2');
    db.exec(`INSERT INTO iam_policy_versions (policy_arn, version_id, document, created_at)
      SELECT arn, 'v1', json_extract(record, '$.document'), json_extract(record, '$.createdAt') FROM iam_managed_policies p
      WHERE NOT EXISTS (SELECT 1 FROM iam_policy_versions v WHERE v.policy_arn = p.arn)`);
  }).immediate();
}

interface VersionRow {
  version_id: string;
  document: string;
  created_at: string;
}

/** The number of a `v<N>` id (0 for any other form, which this store never writes). */
function versionNumber(versionId: string): number {
  const m = /^v(\d+)$/.exec(versionId);
  return m === null ? 0 : Number(m[1]);
}

/** The policy's versions, newest first, marked against its default. */
export function selectVersions(db: SqliteDatabase, policyArn: string, defaultVersionId: string): PolicyVersionRecord[] {
  return db
    .prepare<[string], VersionRow>('SELECT version_id, document, created_at FROM iam_policy_versions WHERE policy_arn = ?')
    .all(policyArn)
    .map((r) => ({ versionId: r.version_id, document: r.document, isDefault: r.version_id === defaultVersionId, createdAt: new Date(r.created_at) }))
    .sort((a, b) => versionNumber(b.versionId) - versionNumber(a.versionId));
}

/** Inserts a version row. */
export function insertVersion(db: SqliteDatabase, policyArn: string, versionId: string, document: string, createdAt: Date): void {
  db.prepare('INSERT INTO iam_policy_versions (policy_arn, version_id, document, created_at) VALUES (?, ?, ?, ?)').run(policyArn, versionId, document, createdAt.toISOString());
}

/** The next version id of a policy, and advances its counter; undefined when there is no such policy. */
export function takeNextVersionId(db: SqliteDatabase, policyArn: string): string | undefined {
  const row = db.prepare<[string], { next_version: number }>('UPDATE iam_managed_policies SET next_version = next_version + 1 WHERE arn = ? RETURNING next_version - 1 AS next_version').get(policyArn);
  return row === undefined ? undefined : `v${row.next_version}`;
}

/** Rewrites a policy's record (its default version, document, UpdateDate). */
export function writePolicyRecord(db: SqliteDatabase, policy: ManagedPolicyRecord): void {
  db.prepare('UPDATE iam_managed_policies SET record = ? WHERE arn = ?').run(JSON.stringify(policy), policy.arn);
}

/** Deletes one version row; whether it existed. */
export function deleteVersionRow(db: SqliteDatabase, policyArn: string, versionId: string): boolean {
  return db.prepare('DELETE FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?').run(policyArn, versionId).changes > 0;
}

/** Deletes every version of a policy. */
export function deleteAllVersions(db: SqliteDatabase, policyArn: string): void {
  db.prepare('DELETE FROM iam_policy_versions WHERE policy_arn = ?').run(policyArn);
}
