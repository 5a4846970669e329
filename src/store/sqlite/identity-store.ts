import { EntityAlreadyExistsError } from '../../iam/errors.js';
import type {
  AccessKeyRecord,
  AccessKeyStatus,
  EntityTag,
  IdentityStore,
  InlinePolicy,
  ManagedPolicyRecord,
  PolicyAttachment,
  PolicyOwnerKind,
  PolicyVersionRecord,
  RoleRecord,
  SessionRecord,
  UserRecord,
} from '../../iam/identity-store.js';
import type { SqliteDatabase } from './database.js';
import { PublishedCount } from './published-count.js';
import { deleteAllVersions, deleteVersionRow, insertVersion, migratePolicyVersions, selectVersions, takeNextVersionId, writePolicyRecord } from './identity-policy-versions.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS iam_users (user_name TEXT PRIMARY KEY COLLATE NOCASE, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS iam_access_keys (
  access_key_id TEXT PRIMARY KEY,
  user_name TEXT NOT NULL COLLATE NOCASE,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  sealed_secret BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS iam_access_keys_user ON iam_access_keys(user_name);
CREATE TABLE IF NOT EXISTS iam_roles (role_name TEXT PRIMARY KEY COLLATE NOCASE, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS iam_inline_policies (
  owner_kind TEXT NOT NULL, owner TEXT NOT NULL COLLATE NOCASE, policy_name TEXT NOT NULL COLLATE NOCASE, document TEXT NOT NULL,
  PRIMARY KEY (owner_kind, owner, policy_name)
);
CREATE TABLE IF NOT EXISTS iam_managed_policies (arn TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS iam_attachments (
  owner_kind TEXT NOT NULL, owner TEXT NOT NULL COLLATE NOCASE, policy_arn TEXT NOT NULL,
  PRIMARY KEY (owner_kind, owner, policy_arn)
);
CREATE TABLE IF NOT EXISTS sts_sessions (access_key_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, record TEXT NOT NULL, sealed_secret BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS sts_sessions_expiry ON sts_sessions(expires_at);
CREATE TABLE IF NOT EXISTS iam_record_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT OR IGNORE INTO iam_record_changes (id, n) VALUES (1, 0);
`;

/** Every table whose rows credentials and identity policies are read from: each write of one is counted. */
const COUNTED_TABLES = ['iam_users', 'iam_access_keys', 'iam_roles', 'iam_inline_policies', 'iam_managed_policies', 'iam_attachments', 'iam_policy_versions', 'sts_sessions'];

/** Triggers that count every insert, update and delete of the counted tables in iam_record_changes, in the writing transaction. */
const CHANGE_TRIGGERS = COUNTED_TABLES.flatMap((table) =>
  ['INSERT', 'UPDATE', 'DELETE'].map((op) => `CREATE TRIGGER IF NOT EXISTS ${table}_counted_${op.toLowerCase()} AFTER ${op} ON ${table} BEGIN UPDATE iam_record_changes SET n = n + 1 WHERE id = 1; END;`),
).join('\n');

const CHANGE_COUNT_SQL = 'SELECT n FROM iam_record_changes WHERE id = 1';

const DATE_FIELDS = new Set(['createdAt', 'updatedAt', 'expiresAt']);

function encode(record: object): string {
  return JSON.stringify(record);
}

function decode<T>(json: string): T {
  return JSON.parse(json, (k, v: unknown) => (DATE_FIELDS.has(k) && typeof v === 'string' ? new Date(v) : v)) as T;
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

/** IdentityStore on the embedded SQLite database; names compare case-insensitively, as IAM's do. */
export class SqliteIdentityStore implements IdentityStore {
  readonly #db: SqliteDatabase;

  /** Absent for an in-memory database (one connection: the table is read instead). */
  readonly #published: PublishedCount | undefined;
  readonly #changeCount;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    db.exec(SCHEMA);
    migratePolicyVersions(db);
    db.exec(CHANGE_TRIGGERS);
    this.#changeCount = db.prepare<[], number>(CHANGE_COUNT_SQL).pluck();
    // After the migration: its writes are in the count the file starts from.
    this.#published = db.memory ? undefined : new PublishedCount(db, CHANGE_COUNT_SQL, `${db.name}.iam-changes`);
  }

  /**
   * How many writes the identity tables have had (triggers count them, whoever writes), as
   * published beside the database file: one 8-byte read while nothing changes; NaN while a
   * change is being committed (see PublishedCount).
   */
  changeCount(): number {
    return this.#published !== undefined ? this.#published.current() : (this.#changeCount.get() ?? 0);
  }

  /**
   * Runs a write in an IMMEDIATE transaction (or inside the one under way), publishing the
   * change count it reaches before COMMIT: every write of this store goes through here.
   */
  #write<T>(change: () => T): T {
    if (this.#published !== undefined) return this.#published.write(change);
    return this.#db.inTransaction ? change() : this.#db.transaction(change).immediate();
  }

  #insert(sql: string, params: unknown[], what: string): void {
    try {
      this.#write(() => this.#db.prepare(sql).run(...params));
    } catch (err) {
      if (isUniqueViolation(err)) throw new EntityAlreadyExistsError(`${what} already exists.`);
      throw err;
    }
  }

  #one<T>(sql: string, params: unknown[]): T | undefined {
    const row = this.#db.prepare<unknown[], { record: string }>(sql).get(...params);
    return row === undefined ? undefined : decode<T>(row.record);
  }

  #changed(sql: string, params: unknown[]): boolean {
    return this.#write(() => this.#db.prepare(sql).run(...params).changes > 0);
  }

  async createUser(user: UserRecord): Promise<void> {
    this.#insert('INSERT INTO iam_users (user_name, record) VALUES (?, ?)', [user.userName, encode(user)], `User with name ${user.userName}`);
  }
  async getUser(userName: string): Promise<UserRecord | undefined> {
    return tagged(this.#one<UserRecord>('SELECT record FROM iam_users WHERE user_name = ?', [userName]));
  }
  async listUsers(): Promise<readonly UserRecord[]> {
    return this.#db.prepare<[], { record: string }>('SELECT record FROM iam_users ORDER BY user_name').all().map((r) => tagged(decode<UserRecord>(r.record)));
  }
  async deleteUser(userName: string): Promise<boolean> {
    return this.#changed('DELETE FROM iam_users WHERE user_name = ?', [userName]);
  }

  async createAccessKey(key: AccessKeyRecord): Promise<void> {
    this.#insert(
      'INSERT INTO iam_access_keys (access_key_id, user_name, status, created_at, sealed_secret) VALUES (?, ?, ?, ?, ?)',
      [key.accessKeyId, key.userName, key.status, key.createdAt.toISOString(), key.sealedSecret],
      'Access key',
    );
  }
  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const row = this.#db.prepare<[string], KeyRow>('SELECT * FROM iam_access_keys WHERE access_key_id = ?').get(accessKeyId);
    return row === undefined ? undefined : keyOf(row);
  }
  async listAccessKeys(userName: string): Promise<readonly AccessKeyRecord[]> {
    return this.#db.prepare<[string], KeyRow>('SELECT * FROM iam_access_keys WHERE user_name = ? ORDER BY created_at').all(userName).map(keyOf);
  }
  async setAccessKeyStatus(accessKeyId: string, status: AccessKeyStatus): Promise<boolean> {
    return this.#changed('UPDATE iam_access_keys SET status = ? WHERE access_key_id = ?', [status, accessKeyId]);
  }
  async deleteAccessKey(accessKeyId: string): Promise<boolean> {
    return this.#changed('DELETE FROM iam_access_keys WHERE access_key_id = ?', [accessKeyId]);
  }

  async createRole(role: RoleRecord): Promise<void> {
    this.#insert('INSERT INTO iam_roles (role_name, record) VALUES (?, ?)', [role.roleName, encode(role)], `Role with name ${role.roleName}`);
  }
  async getRole(roleName: string): Promise<RoleRecord | undefined> {
    return tagged(this.#one<RoleRecord>('SELECT record FROM iam_roles WHERE role_name = ?', [roleName]));
  }
  async updateRoleTrustPolicy(roleName: string, trustPolicy: string): Promise<boolean> {
    return this.#write(() => {
      const role = this.#one<RoleRecord>('SELECT record FROM iam_roles WHERE role_name = ?', [roleName]);
      return role !== undefined && this.#changed('UPDATE iam_roles SET record = ? WHERE role_name = ?', [encode({ ...role, trustPolicy }), roleName]);
    });
  }
  async listRoles(): Promise<readonly RoleRecord[]> {
    return this.#db.prepare<[], { record: string }>('SELECT record FROM iam_roles ORDER BY role_name').all().map((r) => tagged(decode<RoleRecord>(r.record)));
  }
  async updateTags(kind: PolicyOwnerKind, name: string, update: (current: readonly EntityTag[]) => readonly EntityTag[]): Promise<readonly EntityTag[] | undefined> {
    // The tags live in the entity's JSON record, so a record stored before tags were kept needs no
    // migration: it reads as tagless. IMMEDIATE: the write lock is taken before the read.
    const [table, column] = kind === 'user' ? ['iam_users', 'user_name'] : ['iam_roles', 'role_name'];
    return this.#write(() => {
      const found = tagged(this.#one<UserRecord | RoleRecord>(`SELECT record FROM ${table} WHERE ${column} = ?`, [name]));
      if (found === undefined) return undefined;
      const tags = update(found.tags);
      this.#changed(`UPDATE ${table} SET record = ? WHERE ${column} = ?`, [encode({ ...found, tags }), name]);
      return tags;
    });
  }
  async deleteRole(roleName: string): Promise<boolean> {
    return this.#changed('DELETE FROM iam_roles WHERE role_name = ?', [roleName]);
  }

  async putInlinePolicy(kind: PolicyOwnerKind, owner: string, policyName: string, document: string, check?: (others: readonly InlinePolicy[]) => void): Promise<void> {
    // IMMEDIATE: the write lock is taken before the read, so what `check` saw is what the write lands on.
    this.#write(() => {
      if (check !== undefined) {
        // policy_name compares NOCASE (its column's collation): the policy this put replaces is left out.
        const others = this.#db
          .prepare<[string, string, string], { policy_name: string; document: string }>(
            'SELECT policy_name, document FROM iam_inline_policies WHERE owner_kind = ? AND owner = ? AND policy_name <> ? ORDER BY policy_name',
          )
          .all(kind, owner, policyName);
        check(others.map(inlineOf));
      }
      this.#db
        .prepare('INSERT INTO iam_inline_policies (owner_kind, owner, policy_name, document) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET document = excluded.document')
        .run(kind, owner, policyName, document);
    });
  }
  async getInlinePolicy(kind: PolicyOwnerKind, owner: string, policyName: string): Promise<string | undefined> {
    const row = this.#db
      .prepare<[string, string, string], { document: string }>('SELECT document FROM iam_inline_policies WHERE owner_kind = ? AND owner = ? AND policy_name = ?')
      .get(kind, owner, policyName);
    return row?.document;
  }
  async listInlinePolicies(kind: PolicyOwnerKind, owner: string): Promise<readonly InlinePolicy[]> {
    return this.#db
      .prepare<[string, string], { policy_name: string; document: string }>('SELECT policy_name, document FROM iam_inline_policies WHERE owner_kind = ? AND owner = ? ORDER BY policy_name')
      .all(kind, owner)
      .map(inlineOf);
  }
  async deleteInlinePolicy(kind: PolicyOwnerKind, owner: string, policyName: string): Promise<boolean> {
    return this.#changed('DELETE FROM iam_inline_policies WHERE owner_kind = ? AND owner = ? AND policy_name = ?', [kind, owner, policyName]);
  }

  async createManagedPolicy(policy: ManagedPolicyRecord): Promise<void> {
    this.#write(() => {
      const record: ManagedPolicyRecord = { ...policy, defaultVersionId: 'v1' };
      this.#insert('INSERT INTO iam_managed_policies (arn, record) VALUES (?, ?)', [policy.arn, encode(record)], `A policy called ${policy.policyName}`);
      insertVersion(this.#db, policy.arn, 'v1', policy.document, policy.createdAt);
    });
  }
  async getManagedPolicy(arn: string): Promise<ManagedPolicyRecord | undefined> {
    const found = this.#one<ManagedPolicyRecord>('SELECT record FROM iam_managed_policies WHERE arn = ?', [arn]);
    return found === undefined ? undefined : managedOf(found);
  }
  async listManagedPolicies(): Promise<readonly ManagedPolicyRecord[]> {
    return this.#db.prepare<[], { record: string }>('SELECT record FROM iam_managed_policies ORDER BY arn').all().map((r) => managedOf(decode<ManagedPolicyRecord>(r.record)));
  }
  async deleteManagedPolicy(arn: string): Promise<boolean> {
    return this.#write(() => {
      deleteAllVersions(this.#db, arn);
      return this.#changed('DELETE FROM iam_managed_policies WHERE arn = ?', [arn]);
    });
  }

  async listPolicyVersions(policyArn: string): Promise<readonly PolicyVersionRecord[]> {
    const policy = await this.getManagedPolicy(policyArn);
    return policy === undefined ? [] : selectVersions(this.#db, policyArn, policy.defaultVersionId);
  }
  async createPolicyVersion(
    policyArn: string,
    document: string,
    setAsDefault: boolean,
    now: Date,
    check?: (existing: readonly PolicyVersionRecord[]) => void,
  ): Promise<PolicyVersionRecord | undefined> {
    // IMMEDIATE: the write lock is taken before the read, so what `check` saw is what the write lands on.
    return this.#write(() => {
      const policy = this.#policyNow(policyArn);
      if (policy === undefined) return undefined;
      check?.(selectVersions(this.#db, policyArn, policy.defaultVersionId));
      const versionId = takeNextVersionId(this.#db, policyArn);
      if (versionId === undefined) return undefined;
      insertVersion(this.#db, policyArn, versionId, document, now);
      const next = setAsDefault ? { ...policy, defaultVersionId: versionId, document, updatedAt: now } : { ...policy, updatedAt: now };
      writePolicyRecord(this.#db, next);
      return { versionId, document, isDefault: setAsDefault, createdAt: now };
    });
  }
  async setDefaultPolicyVersion(policyArn: string, versionId: string): Promise<boolean> {
    return this.#write(() => {
      const policy = this.#policyNow(policyArn);
      const version = policy === undefined ? undefined : selectVersions(this.#db, policyArn, policy.defaultVersionId).find((v) => v.versionId === versionId);
      if (policy === undefined || version === undefined) return false;
      writePolicyRecord(this.#db, { ...policy, defaultVersionId: version.versionId, document: version.document });
      return true;
    });
  }
  async deletePolicyVersion(policyArn: string, versionId: string): Promise<boolean> {
    return this.#write(() => {
      const policy = this.#policyNow(policyArn);
      if (policy === undefined || policy.defaultVersionId === versionId) return false;
      return deleteVersionRow(this.#db, policyArn, versionId);
    });
  }

  #policyNow(arn: string): ManagedPolicyRecord | undefined {
    const found = this.#one<ManagedPolicyRecord>('SELECT record FROM iam_managed_policies WHERE arn = ?', [arn]);
    return found === undefined ? undefined : managedOf(found);
  }

  async attachPolicy(kind: PolicyOwnerKind, owner: string, policyArn: string): Promise<void> {
    this.#write(() => this.#db.prepare('INSERT OR IGNORE INTO iam_attachments (owner_kind, owner, policy_arn) VALUES (?, ?, ?)').run(kind, owner, policyArn));
  }
  async detachPolicy(kind: PolicyOwnerKind, owner: string, policyArn: string): Promise<boolean> {
    return this.#changed('DELETE FROM iam_attachments WHERE owner_kind = ? AND owner = ? AND policy_arn = ?', [kind, owner, policyArn]);
  }
  async listAttachedPolicies(kind: PolicyOwnerKind, owner: string): Promise<readonly string[]> {
    return this.#db
      .prepare<[string, string], { policy_arn: string }>('SELECT policy_arn FROM iam_attachments WHERE owner_kind = ? AND owner = ? ORDER BY policy_arn')
      .all(kind, owner)
      .map((r) => r.policy_arn);
  }
  async countAttachments(policyArn: string): Promise<number> {
    return this.#db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM iam_attachments WHERE policy_arn = ?').get(policyArn)?.n ?? 0;
  }

  async listPolicyAttachments(policyArn: string): Promise<readonly PolicyAttachment[]> {
    return this.#db
      .prepare<[string], { owner_kind: string; owner: string }>('SELECT owner_kind, owner FROM iam_attachments WHERE policy_arn = ? ORDER BY owner_kind, owner')
      .all(policyArn)
      .map((r) => ({ kind: r.owner_kind === 'role' ? 'role' : 'user', owner: r.owner }));
  }

  async createSession(session: SessionRecord): Promise<void> {
    const { sealedSecret, ...rest } = session;
    this.#insert(
      'INSERT INTO sts_sessions (access_key_id, expires_at, record, sealed_secret) VALUES (?, ?, ?, ?)',
      [session.accessKeyId, session.expiresAt.getTime(), encode(rest), sealedSecret],
      'Session',
    );
  }
  async getSession(accessKeyId: string): Promise<SessionRecord | undefined> {
    const row = this.#db.prepare<[string], { record: string; sealed_secret: Buffer }>('SELECT record, sealed_secret FROM sts_sessions WHERE access_key_id = ?').get(accessKeyId);
    return row === undefined ? undefined : { ...decode<Omit<SessionRecord, 'sealedSecret'>>(row.record), sealedSecret: row.sealed_secret };
  }
  async deleteExpiredSessions(now: Date): Promise<number> {
    return this.#write(() => this.#db.prepare('DELETE FROM sts_sessions WHERE expires_at < ?').run(now.getTime()).changes);
  }
}

/** A stored user or role record with its tags; one stored before tags were kept has none. */
function tagged<T extends { readonly tags: readonly EntityTag[] }>(record: T): T;
function tagged<T extends { readonly tags: readonly EntityTag[] }>(record: T | undefined): T | undefined;
function tagged<T extends { readonly tags: readonly EntityTag[] }>(record: T | undefined): T | undefined {
  if (record === undefined || Array.isArray(record.tags)) return record;
  return { ...record, tags: [] };
}

/** A stored managed policy record; one stored before versions existed has no defaultVersionId and reads as `v1`. */
function managedOf(record: ManagedPolicyRecord): ManagedPolicyRecord {
  return typeof record.defaultVersionId === 'string' ? record : { ...record, defaultVersionId: 'v1' };
}

function inlineOf(row: { policy_name: string; document: string }): InlinePolicy {
  return { policyName: row.policy_name, document: row.document };
}

interface KeyRow {
  access_key_id: string;
  user_name: string;
  status: string;
  created_at: string;
  sealed_secret: Buffer;
}

function keyOf(row: KeyRow): AccessKeyRecord {
  return {
    accessKeyId: row.access_key_id,
    userName: row.user_name,
    status: row.status === 'Inactive' ? 'Inactive' : 'Active',
    createdAt: new Date(row.created_at),
    sealedSecret: row.sealed_secret,
  };
}
