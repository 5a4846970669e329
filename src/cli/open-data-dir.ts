import Database from 'better-sqlite3';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../common/clock.js';
import type { CipherlakeConfig } from '../config/config.js';
import { AUDIT_SIGNING_ALIAS, KeyService, openRootKey } from '../kms/index.js';
import { SqliteAuditStore } from '../store/sqlite/audit-store.js';
import { SqliteKeyStore } from '../store/sqlite/key-store.js';
import { DataDirError } from './errors.js';

/** A data directory's stores, opened by an offline command (the server may be running). */
export interface OfflineDataDir {
  readonly config: CipherlakeConfig;
  readonly auditStore: SqliteAuditStore;
  /**
   * Runs `fn` inside one read transaction on audit.db, so it sees a single snapshot even
   * while a running server appends (WAL: readers never block the writer, nor it them).
   */
  snapshot<T>(fn: () => Promise<T>): Promise<T>;
  /** Lowest seq at or after `time`, or null when no record is that new. */
  firstSeqAtOrAfter(time: Date): number | null;
  /** Highest seq at or before `time`, or null when no record is that old. */
  lastSeqAtOrBefore(time: Date): number | null;
  /** Closes what was opened here. Never throws. */
  close(): void;
}

/**
 * Opens audit.db of `config.dataDir` read-only, without starting anything: no listener, no
 * trail, no digest is written, no key is created, and audit.db and its WAL stay as found
 * (also after a crash). Raises DataDirError when audit.db is absent (this never creates a
 * data directory by accident).
 */
export function openDataDirOffline(config: CipherlakeConfig): OfflineDataDir {
  const path = join(config.dataDir, 'audit.db');
  // Read-only: a read-write connection that closes last (no server running) would checkpoint
  // the WAL a killed server left into audit.db and delete it, writing the evidence it inspects.
  const db = openExisting(path, 'audit store', { readonly: true });
  let auditStore: SqliteAuditStore;
  try {
    // The server chose WAL when it created the file; a reader must not change pragmas.
    auditStore = new SqliteAuditStore(db, { applyPragmas: false });
  } catch (err) {
    db.close();
    throw err;
  }
  return {
    config,
    auditStore,
    async snapshot<T>(fn: () => Promise<T>): Promise<T> {
      db.exec('BEGIN DEFERRED');
      try {
        return await fn();
      } finally {
        db.exec('COMMIT');
      }
    },
    // Through the store: audit_records has no event_ms index any more (the time index is deferred).
    firstSeqAtOrAfter: (time) => auditStore.firstSeqAtOrAfter(time),
    lastSeqAtOrBefore: (time) => auditStore.lastSeqAtOrBefore(time),
    close: () => db.close(),
  };
}

/**
 * The public key of the KMS audit signing key (alias/cipherlake/audit-digests), derived from
 * its private half: the root key unwraps the stored material and the public key is computed
 * from it, then compared with the stored public key. So a metadata.db whose public key was
 * swapped for an attacker's (to pass forged digests) is refused with DataDirError rather
 * than trusted. Never creates a root key or a KMS key; never returns private material.
 */
export async function readAuditPublicKey(config: CipherlakeConfig): Promise<KeyObject> {
  const rootKeyFile = config.rootKey.kind === 'file' ? (config.rootKey.path ?? join(config.dataDir, 'root.key')) : join(config.dataDir, 'root-kdf.json');
  if (!existsSync(rootKeyFile)) throw new DataDirError(`no root key at ${rootKeyFile}: is ${config.dataDir} a Cipherlake data directory?`);
  const db = openExisting(join(config.dataDir, 'metadata.db'), 'metadata store');
  const rootKey = openRootKey(config.dataDir, config.rootKey);
  const store = new SqliteKeyStore(db);
  const keys = new KeyService({
    store,
    rootKey,
    clock: systemClock,
    settings: { region: config.region, accountId: config.accountId, materialCacheTtlMs: 0 },
  });
  try {
    const alias = await store.getAlias(AUDIT_SIGNING_ALIAS);
    if (alias === undefined) throw new DataDirError(`no ${AUDIT_SIGNING_ALIAS} key: the server has never started on ${config.dataDir}`);
    const key = await store.getKey(alias.targetKeyId);
    const material = await keys.material(key);
    const publicKey = createPublicKey(createPrivateKey({ key: material.unsafeBytes(), format: 'der', type: 'pkcs8' }));
    const stored = key.versions.at(-1)?.publicKey; // ECC keys never rotate: one version
    const derived = publicKey.export({ type: 'spki', format: 'der' });
    if (stored !== undefined && !derived.equals(stored)) {
      throw new DataDirError(`the stored public key of ${AUDIT_SIGNING_ALIAS} does not match its private key: metadata.db was modified`);
    }
    return publicKey;
  } finally {
    keys.close();
    rootKey.close();
    db.close();
  }
}

function openExisting(path: string, what: string, options: { readonly?: boolean } = {}): Database.Database {
  if (!existsSync(path)) throw new DataDirError(`no ${what} at ${path}: is this a Cipherlake data directory?`);
  const db = new Database(path, { fileMustExist: true, readonly: options.readonly === true });
  db.pragma('busy_timeout = 5000');
  return db;
}
