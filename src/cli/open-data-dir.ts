import Database from 'better-sqlite3';
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CipherlakeConfig } from '../config/config.js';
import type { CloudTrailDigestSigner } from '../audit/index.js';
import { AUDIT_SIGNING_ALIAS, AUDIT_SIGNING_KEY_SPEC, CLOUDTRAIL_DIGEST_ALIAS, CLOUDTRAIL_DIGEST_KEY_SPEC, cloudTrailPublicKeyOf, isServiceSigningKey, openRootKey } from '../kms/index.js';
import { currentVersion, decodeRecord, keyArn, materialLabel, type AliasRecord, type KeyRecord, type KeySpec } from '../kms/keys/key-record.js';
import { SqliteAuditStore } from '../store/sqlite/audit-store.js';
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
 * than trusted. Reads metadata.db through a read-only connection with two SELECTs (no
 * SqliteKeyStore: its constructor runs the schema, and a read-write connection closing last
 * would checkpoint a killed server's WAL into metadata.db and delete it), so the data
 * directory stays as found. Never creates a root key or a KMS key; never returns private
 * material. Raises DataDirError for a missing root key, store or audit key, and for an alias that names any key but the one the server made.
 */
export async function readAuditPublicKey(config: CipherlakeConfig): Promise<KeyObject> {
  requireRootKey(config);
  const key = readAliasedKey(config, AUDIT_SIGNING_ALIAS);
  if (key === undefined) throw new DataDirError(`no ${AUDIT_SIGNING_ALIAS} key: the server has never started on ${config.dataDir}`);
  requireServiceKey(AUDIT_SIGNING_ALIAS, key, AUDIT_SIGNING_KEY_SPEC);
  const privateKey = await unwrapPrivateKey(config, key);
  const publicKey = createPublicKey(privateKey);
  const stored = currentVersion(key).publicKey; // ECC keys never rotate: one version
  const derived = publicKey.export({ type: 'spki', format: 'der' });
  if (stored !== undefined && !derived.equals(stored)) {
    throw new DataDirError(`the stored public key of ${AUDIT_SIGNING_ALIAS} does not match its private key: metadata.db was modified`);
  }
  return publicKey;
}

/**
 * The signer of exported CloudTrail digest files (the KMS's CLOUDTRAIL_DIGEST_ALIAS key, RSA),
 * its private half unwrapped with the root key as the server would; undefined when the data
 * directory has none (last served by a version before it). Raises DataDirError without a
 * root key, when the alias names a key that is not an RSA signing key or not the one the server made, or when the stored
 * public key does not match the private one. The KeyObject
 * lives as long as the signer; the unwrapped bytes are zeroed at once.
 */
export async function readCloudTrailDigestSigner(config: CipherlakeConfig): Promise<CloudTrailDigestSigner | undefined> {
  requireRootKey(config);
  const key = readAliasedKey(config, CLOUDTRAIL_DIGEST_ALIAS);
  if (key === undefined) return undefined;
  if (!key.keySpec.startsWith('RSA_') || key.keyUsage !== 'SIGN_VERIFY') {
    throw new DataDirError(`${CLOUDTRAIL_DIGEST_ALIAS} names a ${key.keySpec} ${key.keyUsage} key, not an RSA signing key: metadata.db was modified`);
  }
  requireServiceKey(CLOUDTRAIL_DIGEST_ALIAS, key, CLOUDTRAIL_DIGEST_KEY_SPEC);
  const privateKey = await unwrapPrivateKey(config, key);
  const listed = cloudTrailPublicKeyOf(key);
  if (!createPublicKey(privateKey).export({ type: 'pkcs1', format: 'der' }).equals(listed.value)) {
    throw new DataDirError(`the stored public key of ${CLOUDTRAIL_DIGEST_ALIAS} does not match its private key: metadata.db was modified`);
  }
  return { fingerprint: listed.fingerprint, sign: (message) => sign('sha256', message, privateKey) };
}

/**
 * Raises DataDirError unless `key` is the signing key the server made for `aliasName`
 * (isServiceSigningKey), as the server refuses to start otherwise: a key someone repointed
 * the alias at may be usable by them, and `audit public-key` would then vouch for digests
 * they signed, or an export be signed with their key.
 */
function requireServiceKey(aliasName: string, key: KeyRecord, keySpec: KeySpec): void {
  if (isServiceSigningKey(key, keySpec)) return;
  const manager = key.keyManager === 'AWS' ? 'AWS managed' : 'customer managed';
  throw new DataDirError(`${aliasName} names ${keyArn(key)}, a ${manager} ${key.keySpec} ${key.keyUsage} key, not the ${keySpec} signing key the server made: point it back, or restore metadata.db`);
}

/** Raises DataDirError when the data directory has no root key (checked first: it says best what is wrong with a directory that is not a data directory). */
function requireRootKey(config: CipherlakeConfig): void {
  const rootKeyFile = config.rootKey.kind === 'file' ? (config.rootKey.path ?? join(config.dataDir, 'root.key')) : join(config.dataDir, 'root-kdf.json');
  if (!existsSync(rootKeyFile)) throw new DataDirError(`no root key at ${rootKeyFile}: is ${config.dataDir} a Cipherlake data directory?`);
}

/** A KMS key's current private key (PKCS#8 material), unwrapped by the data directory's root key; call requireRootKey first. */
async function unwrapPrivateKey(config: CipherlakeConfig, key: KeyRecord): Promise<KeyObject> {
  // The caller checked that the root key exists, so this opens it and never creates one.
  const rootKey = openRootKey(config.dataDir, config.rootKey);
  try {
    const version = currentVersion(key);
    const material = await rootKey.unwrap(version.wrappedMaterial, materialLabel(key.keyId, version.version));
    try {
      return createPrivateKey({ key: material.unsafeBytes(), format: 'der', type: 'pkcs8' });
    } finally {
      material.dispose();
    }
  } finally {
    rootKey.close();
  }
}

/** The record of the key an alias names, read from metadata.db read-only; undefined when there is no such alias (or the server never started). */
function readAliasedKey(config: CipherlakeConfig, aliasName: string): KeyRecord | undefined {
  const db = openExisting(join(config.dataDir, 'metadata.db'), 'metadata store', { readonly: true });
  try {
    // The server creates these tables at its first start; before that there is no key.
    const tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('kms_aliases', 'kms_keys')").pluck().get() as number;
    if (tables !== 2) return undefined;
    // The same rows and decoding as SqliteKeyStore.getAlias / getKey.
    const alias = db.prepare<[string], { record: string }>('SELECT record FROM kms_aliases WHERE alias_name = ?').get(aliasName);
    if (alias === undefined) return undefined;
    const keyId = decodeRecord<AliasRecord>(alias.record).targetKeyId;
    const row = db.prepare<[string], { record: string }>('SELECT record FROM kms_keys WHERE key_id = ?').get(keyId);
    if (row === undefined) throw new DataDirError(`${aliasName} names key ${keyId}, which metadata.db does not hold`);
    return decodeRecord<KeyRecord>(row.record);
  } finally {
    db.close();
  }
}

function openExisting(path: string, what: string, options: { readonly?: boolean } = {}): Database.Database {
  if (!existsSync(path)) throw new DataDirError(`no ${what} at ${path}: is this a Cipherlake data directory?`);
  const db = new Database(path, { fileMustExist: true, readonly: options.readonly === true });
  db.pragma('busy_timeout = 5000');
  return db;
}
