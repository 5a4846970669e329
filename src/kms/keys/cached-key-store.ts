import { ChangeWatch } from '../../common/change-watch.js';
import type { KeyStore, Page } from '../key-store.js';
import type { AliasRecord, GrantRecord, KeyRecord } from './key-record.js';

/**
 * A KeyStore in front of another that keeps the key and alias records it has read, so that
 * the cryptographic hot path does not read and decode the same record on every request,
 * and serves them exactly: never a record older than the store's.
 *
 * Exactness comes from the inner store's changeCount, which moves with every write of a key
 * or alias record by any process sharing the store (SqliteKeyStore counts them with
 * triggers). The count is read once per synchronous run of requests (ChangeWatch); when
 * it moved, every cached record is dropped. So a key disabled, rotated, re-policied or
 * re-tagged through another cluster worker, or an alias moved, is what the very next request
 * here sees; there is no time bound. A store without changeCount is passed through
 * uncached. Writes made through this store drop what they may change as well. Misses (not
 * found) are never cached. Records are shared between callers: they are readonly and must
 * not be mutated.
 */
export class CachedKeyStore implements KeyStore {
  readonly #inner: KeyStore;
  /** Over the inner store's change count; undefined: nothing is cached. */
  readonly #watch: ChangeWatch | undefined;
  readonly #keys = new Map<string, KeyRecord>();
  readonly #aliases = new Map<string, AliasRecord>();
  /** Bumped by every write through this store, so that a read racing a write does not cache what it read. */
  #generation = 0;

  constructor(inner: KeyStore) {
    this.#inner = inner;
    const changeCount = inner.changeCount?.bind(inner);
    this.#watch =
      changeCount === undefined
        ? undefined
        : new ChangeWatch(changeCount, () => {
            this.#keys.clear();
            this.#aliases.clear();
          });
  }

  /**
   * The cached record of `keyId` if the store has not changed since it was read, else
   * undefined (then call getKey). The same rule as getKey, without a promise: the hot path
   * reads a hit synchronously.
   */
  cachedKey(keyId: string): KeyRecord | undefined {
    if (this.#watch === undefined) return undefined;
    this.#watch.check();
    return this.#keys.get(keyId);
  }

  async getKey(keyId: string): Promise<KeyRecord> {
    const watch = this.#watch;
    if (watch === undefined) return this.#inner.getKey(keyId);
    // The count is read before the record: the record is at least as new as the count.
    const seen = watch.check();
    const hit = this.#keys.get(keyId);
    if (hit !== undefined) return hit;
    const generation = this.#generation;
    const key = await this.#inner.getKey(keyId);
    // Kept only if nothing was dropped meanwhile (a later count, a write through this store).
    if (watch.stillAt(seen) && generation === this.#generation) {
      if (this.#keys.size >= 10_000) this.#keys.clear();
      this.#keys.set(keyId, key);
    }
    return key;
  }

  async getAlias(aliasName: string): Promise<AliasRecord | undefined> {
    const watch = this.#watch;
    if (watch === undefined) return this.#inner.getAlias(aliasName);
    const seen = watch.check();
    const hit = this.#aliases.get(aliasName);
    if (hit !== undefined) return hit;
    const generation = this.#generation;
    const alias = await this.#inner.getAlias(aliasName);
    if (alias !== undefined && watch.stillAt(seen) && generation === this.#generation) {
      if (this.#aliases.size >= 10_000) this.#aliases.clear();
      this.#aliases.set(aliasName, alias);
    }
    return alias;
  }

  createKey(key: KeyRecord): Promise<void> {
    return this.#write(() => this.#inner.createKey(key), () => this.#keys.delete(key.keyId));
  }

  updateKey(key: KeyRecord): Promise<void> {
    return this.#write(() => this.#inner.updateKey(key), () => this.#keys.delete(key.keyId));
  }

  deleteKey(keyId: string): Promise<void> {
    // The store deletes the key's aliases too; which ones is not known here, so drop them all.
    return this.#write(() => this.#inner.deleteKey(keyId), () => {
      this.#keys.delete(keyId);
      this.#aliases.clear();
    });
  }

  createAlias(alias: AliasRecord): Promise<void> {
    return this.#write(() => this.#inner.createAlias(alias), () => this.#aliases.delete(alias.aliasName));
  }

  updateAlias(alias: AliasRecord): Promise<void> {
    return this.#write(() => this.#inner.updateAlias(alias), () => this.#aliases.delete(alias.aliasName));
  }

  deleteAlias(aliasName: string): Promise<void> {
    return this.#write(() => this.#inner.deleteAlias(aliasName), () => this.#aliases.delete(aliasName));
  }

  /** Drops what `forget` names before and after the write, also when the write fails. */
  async #write(write: () => Promise<void>, forget: () => void): Promise<void> {
    this.#generation++;
    forget();
    try {
      await write();
    } finally {
      this.#generation++;
      forget();
    }
  }

  listKeys(limit: number, marker?: string): Promise<Page<KeyRecord>> {
    return this.#inner.listKeys(limit, marker);
  }

  listAliases(limit: number, marker?: string, keyId?: string): Promise<Page<AliasRecord>> {
    return this.#inner.listAliases(limit, marker, keyId);
  }

  createGrant(grant: GrantRecord): Promise<void> {
    return this.#inner.createGrant(grant);
  }

  getGrant(keyId: string, grantId: string): Promise<GrantRecord | undefined> {
    return this.#inner.getGrant(keyId, grantId);
  }

  findGrantByTokenHash(tokenHash: string): Promise<GrantRecord | undefined> {
    return this.#inner.findGrantByTokenHash(tokenHash);
  }

  deleteGrant(keyId: string, grantId: string): Promise<void> {
    return this.#inner.deleteGrant(keyId, grantId);
  }

  listGrants(limit: number, marker?: string, filter?: { keyId?: string; retiringPrincipal?: string; granteePrincipal?: string }): Promise<Page<GrantRecord>> {
    return this.#inner.listGrants(limit, marker, filter);
  }

  status(): Promise<{ ok: boolean; detail: string }> {
    return this.#inner.status();
  }

  /** Forgets every cached record and closes the store behind. */
  close(): Promise<void> {
    this.#keys.clear();
    this.#aliases.clear();
    return this.#inner.close();
  }
}
