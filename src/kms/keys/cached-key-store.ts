import type { KeyStore, Page } from '../key-store.js';
import type { AliasRecord, GrantRecord, KeyRecord } from './key-record.js';

/** The longest a cached key or alias record may be served: the cross-process staleness bound. */
export const MAX_KEY_RECORD_CACHE_TTL_MS = 1000;

interface Entry<T> {
  readonly value: T;
  readonly expiresAt: number;
}

/**
 * A KeyStore in front of another that keeps the key and alias records it has read for a
 * short time (at most MAX_KEY_RECORD_CACHE_TTL_MS), so that the cryptographic hot path does
 * not read and decode the same record on every request.
 *
 * Every write made through this store drops the records it may change before it returns,
 * so this process always reads its own writes. A write made by another process (another
 * cluster worker, another node) is seen within the TTL: a key disabled elsewhere stops
 * working here within that bound. A write that loses an optimistic-revision race drops
 * the stale record, so a retry reads the current one. Misses (not found) are never cached.
 * Records are shared between callers: they are readonly and must not be mutated.
 */
export class CachedKeyStore implements KeyStore {
  readonly #inner: KeyStore;
  readonly #ttlMs: number;
  readonly #keys = new Map<string, Entry<KeyRecord>>();
  readonly #aliases = new Map<string, Entry<AliasRecord>>();
  /** Bumped by every write, so that a read racing a write does not cache what it read. */
  #generation = 0;

  constructor(inner: KeyStore, ttlMs: number = MAX_KEY_RECORD_CACHE_TTL_MS) {
    this.#inner = inner;
    this.#ttlMs = Math.max(0, Math.min(ttlMs, MAX_KEY_RECORD_CACHE_TTL_MS));
  }

  /**
   * The cached record of `keyId` while it is fresh, else undefined (then call getKey). The
   * same freshness rule as getKey, without a promise: the hot path reads a hit synchronously.
   */
  cachedKey(keyId: string): KeyRecord | undefined {
    const hit = this.#keys.get(keyId);
    return hit !== undefined && hit.expiresAt > Date.now() ? hit.value : undefined;
  }

  async getKey(keyId: string): Promise<KeyRecord> {
    const now = Date.now();
    const hit = this.#keys.get(keyId);
    if (hit !== undefined && hit.expiresAt > now) return hit.value;
    const generation = this.#generation;
    const key = await this.#inner.getKey(keyId);
    if (generation === this.#generation && this.#ttlMs > 0) {
      if (this.#keys.size >= 10_000) this.#keys.clear();
      this.#keys.set(keyId, { value: key, expiresAt: now + this.#ttlMs });
    }
    return key;
  }

  async getAlias(aliasName: string): Promise<AliasRecord | undefined> {
    const now = Date.now();
    const hit = this.#aliases.get(aliasName);
    if (hit !== undefined && hit.expiresAt > now) return hit.value;
    const generation = this.#generation;
    const alias = await this.#inner.getAlias(aliasName);
    if (alias !== undefined && generation === this.#generation && this.#ttlMs > 0) {
      if (this.#aliases.size >= 10_000) this.#aliases.clear();
      this.#aliases.set(aliasName, { value: alias, expiresAt: now + this.#ttlMs });
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
