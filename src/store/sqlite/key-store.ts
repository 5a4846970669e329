import { KeyAlreadyExistsError, KeyNotFoundError, KeyStoreConflictError, InvalidPageMarkerError, type KeyStore, type Page } from '../../kms/key-store.js';
import { decodeRecord, encodeKeyRecord, type AliasRecord, type GrantRecord, type KeyRecord } from '../../kms/keys/key-record.js';
import { decodeMarker, encodeMarker, type SqliteDatabase } from './database.js';
import { PublishedCount } from './published-count.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kms_keys (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  key_id TEXT NOT NULL UNIQUE,
  revision INTEGER NOT NULL,
  record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kms_aliases (
  alias_name TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kms_aliases_key ON kms_aliases(key_id);
CREATE TABLE IF NOT EXISTS kms_grants (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  grant_id TEXT NOT NULL UNIQUE,
  key_id TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  retiring_principal TEXT,
  grantee_principal TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kms_grants_key ON kms_grants(key_id);
CREATE INDEX IF NOT EXISTS kms_grants_token ON kms_grants(token_hash);
CREATE TABLE IF NOT EXISTS kms_record_changes (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n INTEGER NOT NULL
);
INSERT OR IGNORE INTO kms_record_changes (id, n) VALUES (1, 0);
${changeTriggers('kms_keys')}
${changeTriggers('kms_aliases')}
`;

/**
 * Triggers that count every insert, update and delete of `table` in kms_record_changes, in
 * the writing transaction itself: whichever process or connection writes (a cluster worker,
 * the primary, this connection), the count a reader sees moves in the same commit as the
 * rows (SqliteKeyStore.changeCount).
 */
function changeTriggers(table: string): string {
  return ['INSERT', 'UPDATE', 'DELETE']
    .map((op) => `CREATE TRIGGER IF NOT EXISTS ${table}_counted_${op.toLowerCase()} AFTER ${op} ON ${table} BEGIN UPDATE kms_record_changes SET n = n + 1 WHERE id = 1; END;`)
    .join('\n');
}

const CHANGE_COUNT_SQL = 'SELECT n FROM kms_record_changes WHERE id = 1';

/**
 * KeyStore on the embedded SQLite database (better-sqlite3). On a database file, the count of
 * key and alias record changes is published in `<database>.kms-changes` beside it
 * (PublishedCount), and every write of those records goes through it.
 */
export class SqliteKeyStore implements KeyStore {
  readonly #db: SqliteDatabase;
  readonly #stmts;
  /** Absent for an in-memory database (one connection: the table is read instead). */
  readonly #published: PublishedCount | undefined;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    db.exec(SCHEMA);
    this.#published = db.memory ? undefined : new PublishedCount(db, CHANGE_COUNT_SQL, `${db.name}.kms-changes`);
    this.#stmts = {
      insertKey: db.prepare('INSERT INTO kms_keys (key_id, revision, record) VALUES (?, ?, ?)'),
      changeCount: db.prepare<[], number>(CHANGE_COUNT_SQL).pluck(),
      getKey: db.prepare<[string], { record: string }>('SELECT record FROM kms_keys WHERE key_id = ?'),
      updateKey: db.prepare('UPDATE kms_keys SET revision = ?, record = ? WHERE key_id = ? AND revision = ?'),
      deleteKey: db.prepare('DELETE FROM kms_keys WHERE key_id = ?'),
      listKeys: db.prepare<[number, number], { seq: number; record: string }>('SELECT seq, record FROM kms_keys WHERE seq > ? ORDER BY seq LIMIT ?'),
      insertAlias: db.prepare('INSERT INTO kms_aliases (alias_name, key_id, record) VALUES (?, ?, ?)'),
      getAlias: db.prepare<[string], { record: string }>('SELECT record FROM kms_aliases WHERE alias_name = ?'),
      updateAlias: db.prepare('UPDATE kms_aliases SET key_id = ?, record = ? WHERE alias_name = ?'),
      deleteAlias: db.prepare('DELETE FROM kms_aliases WHERE alias_name = ?'),
      deleteAliasesOfKey: db.prepare('DELETE FROM kms_aliases WHERE key_id = ?'),
      listAliases: db.prepare<[string, number], { alias_name: string; record: string }>('SELECT alias_name, record FROM kms_aliases WHERE alias_name > ? ORDER BY alias_name LIMIT ?'),
      listAliasesOfKey: db.prepare<[string, string, number], { alias_name: string; record: string }>(
        'SELECT alias_name, record FROM kms_aliases WHERE key_id = ? AND alias_name > ? ORDER BY alias_name LIMIT ?',
      ),
      insertGrant: db.prepare('INSERT INTO kms_grants (grant_id, key_id, token_hash, retiring_principal, grantee_principal, record) VALUES (?, ?, ?, ?, ?, ?)'),
      getGrant: db.prepare<[string, string], { record: string }>('SELECT record FROM kms_grants WHERE key_id = ? AND grant_id = ?'),
      grantByToken: db.prepare<[string], { record: string }>('SELECT record FROM kms_grants WHERE token_hash = ?'),
      deleteGrant: db.prepare('DELETE FROM kms_grants WHERE key_id = ? AND grant_id = ?'),
      deleteGrantsOfKey: db.prepare('DELETE FROM kms_grants WHERE key_id = ?'),
      // Named parameters: better-sqlite3 does not bind numbered ones (?2), which this filter reuses.
      listGrants: db.prepare<[{ after: number; keyId: string | null; retiring: string | null; grantee: string | null; limit: number }], { seq: number; record: string }>(
        `SELECT seq, record FROM kms_grants WHERE seq > @after
           AND (@keyId IS NULL OR key_id = @keyId) AND (@retiring IS NULL OR retiring_principal = @retiring) AND (@grantee IS NULL OR grantee_principal = @grantee)
         ORDER BY seq LIMIT @limit`,
      ),
    };
  }

  /** Runs a write of key or alias records, publishing the change count it reaches (see PublishedCount). */
  #write<T>(change: () => T): T {
    return this.#published !== undefined ? this.#published.write(change) : change();
  }

  async createKey(key: KeyRecord): Promise<void> {
    try {
      this.#write(() => this.#stmts.insertKey.run(key.keyId, key.revision, encodeKeyRecord(key)));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new KeyAlreadyExistsError(`key ${key.keyId} already exists`);
      throw err;
    }
  }

  /**
   * How many writes key and alias records have had (triggers count them in each writing
   * transaction, whoever writes), as published beside the database file: one 8-byte read while
   * nothing changes; NaN while a change is being committed (see PublishedCount).
   */
  changeCount(): number {
    return this.#published !== undefined ? this.#published.current() : (this.#stmts.changeCount.get() ?? 0);
  }

  async getKey(keyId: string): Promise<KeyRecord> {
    const row = this.#stmts.getKey.get(keyId);
    if (row === undefined) throw new KeyNotFoundError(`key ${keyId} does not exist`);
    return decodeRecord<KeyRecord>(row.record);
  }

  async updateKey(key: KeyRecord): Promise<void> {
    const result = this.#write(() => this.#stmts.updateKey.run(key.revision, encodeKeyRecord(key), key.keyId, key.revision - 1));
    if (result.changes === 1) return;
    if (this.#stmts.getKey.get(key.keyId) === undefined) throw new KeyNotFoundError(`key ${key.keyId} does not exist`);
    throw new KeyStoreConflictError(`key ${key.keyId} changed concurrently`);
  }

  async deleteKey(keyId: string): Promise<void> {
    const remove = (): void => {
      this.#stmts.deleteGrantsOfKey.run(keyId);
      this.#stmts.deleteAliasesOfKey.run(keyId);
      this.#stmts.deleteKey.run(keyId);
    };
    // IMMEDIATE, as every write transaction on the database other processes (`--workers`) share.
    if (this.#published !== undefined) this.#published.write(remove);
    else this.#db.transaction(remove).immediate();
  }

  async listKeys(limit: number, marker?: string): Promise<Page<KeyRecord>> {
    const after = marker === undefined ? 0 : numericMarker(marker);
    const rows = this.#stmts.listKeys.all(after, limit + 1);
    return page(rows.map((r) => ({ pos: r.seq, item: decodeRecord<KeyRecord>(r.record) })), limit);
  }

  async createAlias(alias: AliasRecord): Promise<void> {
    try {
      this.#write(() => this.#stmts.insertAlias.run(alias.aliasName, alias.targetKeyId, JSON.stringify(alias)));
    } catch (err) {
      if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw new KeyAlreadyExistsError(`alias ${alias.aliasName} already exists`);
      throw err;
    }
  }

  async getAlias(aliasName: string): Promise<AliasRecord | undefined> {
    const row = this.#stmts.getAlias.get(aliasName);
    return row === undefined ? undefined : decodeRecord<AliasRecord>(row.record);
  }

  async updateAlias(alias: AliasRecord): Promise<void> {
    const r = this.#write(() => this.#stmts.updateAlias.run(alias.targetKeyId, JSON.stringify(alias), alias.aliasName));
    if (r.changes !== 1) throw new KeyNotFoundError(`alias ${alias.aliasName} does not exist`);
  }

  async deleteAlias(aliasName: string): Promise<void> {
    const r = this.#write(() => this.#stmts.deleteAlias.run(aliasName));
    if (r.changes !== 1) throw new KeyNotFoundError(`alias ${aliasName} does not exist`);
  }

  async listAliases(limit: number, marker?: string, keyId?: string): Promise<Page<AliasRecord>> {
    const after = marker === undefined ? '' : stringMarker(marker);
    const rows = keyId === undefined ? this.#stmts.listAliases.all(after, limit + 1) : this.#stmts.listAliasesOfKey.all(keyId, after, limit + 1);
    return page(rows.map((r) => ({ pos: r.alias_name, item: decodeRecord<AliasRecord>(r.record) })), limit);
  }

  async createGrant(grant: GrantRecord): Promise<void> {
    this.#stmts.insertGrant.run(grant.grantId, grant.keyId, grant.tokenHash, grant.retiringPrincipal ?? null, grant.granteePrincipal, JSON.stringify(grant));
  }

  async getGrant(keyId: string, grantId: string): Promise<GrantRecord | undefined> {
    const row = this.#stmts.getGrant.get(keyId, grantId);
    return row === undefined ? undefined : decodeRecord<GrantRecord>(row.record);
  }

  async findGrantByTokenHash(tokenHash: string): Promise<GrantRecord | undefined> {
    const row = this.#stmts.grantByToken.get(tokenHash);
    return row === undefined ? undefined : decodeRecord<GrantRecord>(row.record);
  }

  async deleteGrant(keyId: string, grantId: string): Promise<void> {
    this.#stmts.deleteGrant.run(keyId, grantId);
  }

  async listGrants(limit: number, marker?: string, filter: { keyId?: string; retiringPrincipal?: string; granteePrincipal?: string } = {}): Promise<Page<GrantRecord>> {
    const after = marker === undefined ? 0 : numericMarker(marker);
    const rows = this.#stmts.listGrants.all({ after, keyId: filter.keyId ?? null, retiring: filter.retiringPrincipal ?? null, grantee: filter.granteePrincipal ?? null, limit: limit + 1 });
    return page(rows.map((r) => ({ pos: r.seq, item: decodeRecord<GrantRecord>(r.record) })), limit);
  }

  async status(): Promise<{ ok: boolean; detail: string }> {
    try {
      this.#db.prepare('SELECT 1').get();
      return { ok: true, detail: 'sqlite' };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    // The database handle is owned by whoever opened it (it is shared by several stores).
    this.#published?.close();
  }
}

function page<T>(rows: Array<{ pos: string | number; item: T }>, limit: number): Page<T> {
  if (rows.length <= limit) return { items: rows.map((r) => r.item) };
  const kept = rows.slice(0, limit);
  return { items: kept.map((r) => r.item), nextMarker: encodeMarker(kept[kept.length - 1]!.pos) };
}

function numericMarker(marker: string): number {
  const pos = decodeMarker(marker);
  const n = pos === undefined ? NaN : Number(pos);
  if (!Number.isInteger(n) || n < 0) throw new InvalidPageMarkerError('The marker is not valid.');
  return n;
}

function stringMarker(marker: string): string {
  const pos = decodeMarker(marker);
  if (pos === undefined) throw new InvalidPageMarkerError('The marker is not valid.');
  return pos;
}
