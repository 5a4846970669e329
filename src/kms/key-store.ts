import { CipherlakeError } from '../common/errors.js';
import type { AliasRecord, GrantRecord, KeyRecord } from './keys/key-record.js';

/** A record with this id already exists. */
export class KeyAlreadyExistsError extends CipherlakeError {
  readonly userError = true;
}
/** No record with this id. */
export class KeyNotFoundError extends CipherlakeError {
  readonly userError = true;
}
/** The record changed since it was read (another node or request updated it). */
export class KeyStoreConflictError extends CipherlakeError {
  readonly userError = false;
}

/** One page of a listing. `nextMarker` is absent on the last page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextMarker?: string;
}

/**
 * Where KMS keeps key records, aliases and grants.
 *
 * It only ever sees material already wrapped by the root key, never plaintext keys.
 * Implementations: SqliteKeyStore (embedded default) and, for many nodes, PostgreSQL;
 * every implementation passes `store/contract/key-store-contract.ts`.
 */
export interface KeyStore {
  /** Creates a key record; raises KeyAlreadyExistsError if the id exists. */
  createKey(key: KeyRecord): Promise<void>;
  /** Raises KeyNotFoundError. */
  getKey(keyId: string): Promise<KeyRecord>;
  /**
   * Replaces a key record whose stored revision is `key.revision - 1`; raises
   * KeyStoreConflictError if it changed meanwhile, KeyNotFoundError if it is gone.
   */
  updateKey(key: KeyRecord): Promise<void>;
  /** Destroys a key record with its aliases and grants. Idempotent. */
  deleteKey(keyId: string): Promise<void>;
  /** Keys in creation order; `marker` is an opaque value from a previous page. */
  listKeys(limit: number, marker?: string): Promise<Page<KeyRecord>>;

  /** Raises KeyAlreadyExistsError if the alias exists. */
  createAlias(alias: AliasRecord): Promise<void>;
  getAlias(aliasName: string): Promise<AliasRecord | undefined>;
  /** Replaces the alias; raises KeyNotFoundError if it does not exist. */
  updateAlias(alias: AliasRecord): Promise<void>;
  /** Raises KeyNotFoundError if it does not exist. */
  deleteAlias(aliasName: string): Promise<void>;
  /** Aliases sorted by name, optionally only those of one key. */
  listAliases(limit: number, marker?: string, keyId?: string): Promise<Page<AliasRecord>>;

  createGrant(grant: GrantRecord): Promise<void>;
  getGrant(keyId: string, grantId: string): Promise<GrantRecord | undefined>;
  findGrantByTokenHash(tokenHash: string): Promise<GrantRecord | undefined>;
  deleteGrant(keyId: string, grantId: string): Promise<void>;
  /** Grants of one key, or (keyId undefined) all grants; in creation order. */
  listGrants(limit: number, marker?: string, filter?: { keyId?: string; retiringPrincipal?: string; granteePrincipal?: string }): Promise<Page<GrantRecord>>;

  /**
   * A number that changes whenever a key or alias record may have changed, by a write through
   * any process or connection that shares the store (optional). A record read after this
   * number was read is at least as new as the number says; so a cache that keeps records
   * read since the number last changed (CachedKeyStore) serves exactly what the store holds.
   * Read per request: it must be cheap, and is synchronous. A store without it is not cached.
   */
  changeCount?(): number;

  /** Health of the store, for /_cipherlake/health. */
  status(): Promise<{ ok: boolean; detail: string }>;
  close(): Promise<void>;
}

/** A paging marker that this store did not issue. */
export class InvalidPageMarkerError extends CipherlakeError {
  readonly userError = true;
}
