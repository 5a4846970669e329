import { KeyNotFoundError, KeyStoreConflictError } from '../key-store.js';
import type { KmsDeps } from '../kms-context.js';
import { DisabledError, KeyInvalidStateError, NotFoundError, ValidationError } from '../errors.js';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import { currentVersion, keyArn, materialLabel, type KeyRecord, type KeyVersion } from './key-record.js';
import { generateMaterial } from './key-material.js';
import { CachedKeyStore } from './cached-key-store.js';

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/;
const ALIAS_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(alias\/.+)$/;

// The last identifier that matched KEY_ID: GenerateDataKey and Decrypt resolve the same key
// id twice per request (to authorize, to operate), and request after request.
let lastKeyId = '';

/** KEY_ID.test(identifier), without running the pattern for the identifier that matched last. */
function isKeyId(identifier: string): boolean {
  if (identifier === lastKeyId) return true;
  if (!KEY_ID.test(identifier)) return false;
  lastKeyId = identifier;
  return true;
}

interface CachedMaterial {
  readonly secret: SecretBytes;
  readonly expiresAt: number;
}

/**
 * Key lookup, lifecycle upkeep and the in-memory caches of key records and unwrapped material.
 *
 * Every read of a key passes through `resolve`, which also carries out what time has made
 * due: a key whose deletion date has passed is destroyed (and reported as not found), and
 * a key whose rotation date has passed gets new material. Unwrapped material is cached for
 * at most `materialCacheTtlMs`, so a key disabled or deleted elsewhere stops working within
 * that bound; the cache is zeroed on eviction and on close. Key and alias records are
 * served from memory while the store has not changed (CachedKeyStore wraps `deps.store`):
 * a write through this process or any other sharing the store is seen by the next request.
 */
export class KeyService {
  readonly #deps: KmsDeps;
  readonly #cache = new Map<string, CachedMaterial>();

  readonly #records: CachedKeyStore;

  constructor(deps: KmsDeps) {
    // Every read and write of key records goes through `deps.store`, so wrapping it here
    // keeps the record cache coherent with this process's own writes.
    this.#records = new CachedKeyStore(deps.store);
    this.#deps = { ...deps, store: this.#records };
  }

  get deps(): KmsDeps {
    return this.#deps;
  }

  /**
   * Finds a key by key id, key ARN, alias name or alias ARN. Raises NotFoundError (also for
   * a key of another account or region, or one whose deletion has come due).
   */
  async resolve(keyIdentifier: string): Promise<KeyRecord> {
    const cached = this.resolveCached(keyIdentifier);
    if (cached !== undefined) return cached;
    const keyId = await this.#toKeyId(keyIdentifier);
    let key: KeyRecord;
    try {
      key = await this.#deps.store.getKey(keyId);
    } catch (err) {
      if (err instanceof KeyNotFoundError) throw new NotFoundError(`Key '${keyArn({ ...this.#deps.settings, keyId })}' does not exist`);
      throw err;
    }
    return this.#upkeep(key);
  }

  /**
   * What `resolve` answers for a bare key id whose record is cached and owes no upkeep, with
   * neither a promise nor an await; undefined otherwise (an alias, an ARN, a miss, a key due
   * for deletion or rotation: then call `resolve`). Never throws, never reads the store.
   */
  resolveCached(keyIdentifier: string): KeyRecord | undefined {
    // Hot path: GenerateDataKey and Decrypt resolve twice (to authorize and to operate).
    if (!isKeyId(keyIdentifier)) return undefined;
    const cached = this.#records.cachedKey(keyIdentifier);
    return cached !== undefined && !upkeepDue(cached, this.#deps.clock.now()) ? cached : undefined;
  }

  async #toKeyId(identifier: string): Promise<string> {
    const { region, accountId } = this.#deps.settings;
    if (KEY_ID.test(identifier)) return identifier;
    const arn = KEY_ARN.exec(identifier);
    if (arn !== null) {
      if (arn[1] !== region || arn[2] !== accountId) throw new NotFoundError(`Key '${identifier}' does not exist`);
      return arn[3]!;
    }
    let aliasName = identifier;
    const aliasArn = ALIAS_ARN.exec(identifier);
    if (aliasArn !== null) {
      if (aliasArn[1] !== region || aliasArn[2] !== accountId) throw new NotFoundError(`Alias '${identifier}' is not found.`);
      aliasName = aliasArn[3]!;
    }
    if (aliasName.startsWith('alias/')) {
      const alias = await this.#deps.store.getAlias(aliasName);
      if (alias === undefined) throw new NotFoundError(`Alias '${aliasArnOf(this.#deps, aliasName)}' is not found.`);
      return alias.targetKeyId;
    }
    if (identifier.startsWith('arn:')) throw new NotFoundError(`Invalid arn ${identifier}`);
    throw new NotFoundError(`Invalid keyId '${identifier}'`);
  }

  // Keep the conditions in step with upkeepDue (the hot path's check of the same two cases).
  async #upkeep(key: KeyRecord): Promise<KeyRecord> {
    const now = this.#deps.clock.now();
    if (key.keyState === 'PendingDeletion' && key.deletionDate !== undefined && now >= key.deletionDate) {
      await this.destroy(key.keyId);
      throw new NotFoundError(`Key '${keyArn(key)}' does not exist`);
    }
    if (key.rotation.enabled && key.rotation.nextRotationDate !== undefined && now >= key.rotation.nextRotationDate && key.keyState === 'Enabled') {
      try {
        return await this.rotate(key, 'AUTOMATIC');
      } catch (err) {
        if (err instanceof KeyStoreConflictError) return this.resolve(key.keyId);
        throw err;
      }
    }
    return key;
  }

  /** Destroys a key: its record, wrapped material, aliases and grants, and cached material. */
  async destroy(keyId: string): Promise<void> {
    await this.#deps.store.deleteKey(keyId);
    this.#lastMaterial = undefined;
    for (const [k, v] of this.#cache) {
      if (k.startsWith(`${keyId}:`)) {
        v.secret.dispose();
        this.#cache.delete(k);
      }
    }
  }

  /** Adds a new material version and makes it current; returns the updated record. */
  async rotate(key: KeyRecord, rotationType: 'AUTOMATIC' | 'ON_DEMAND'): Promise<KeyRecord> {
    const now = this.#deps.clock.now();
    const version = currentVersion(key).version + 1;
    const material = generateMaterial(key.keySpec);
    try {
      const wrapped = await this.#deps.rootKey.wrap(material.secret, materialLabel(key.keyId, version));
      const next: KeyVersion = { version, createdAt: now, wrappedMaterial: wrapped, rotationType };
      const rotation = key.rotation.enabled
        ? { ...key.rotation, nextRotationDate: new Date(now.getTime() + key.rotation.periodDays * 86_400_000) }
        : key.rotation;
      const updated: KeyRecord = { ...key, versions: [...key.versions, next], rotation, revision: key.revision + 1 };
      await this.#deps.store.updateKey(updated);
      return updated;
    } finally {
      material.secret.dispose();
    }
  }

  /** Writes an updated record (revision + 1) and returns it. */
  async update(key: KeyRecord, change: Partial<Omit<KeyRecord, 'keyId' | 'revision'>>): Promise<KeyRecord> {
    const updated: KeyRecord = { ...key, ...change, revision: key.revision + 1 };
    await this.#deps.store.updateKey(updated);
    return updated;
  }

  /**
   * Raises DisabledError / KeyInvalidStateError unless the key can be used for
   * cryptographic operations.
   */
  requireEnabled(key: KeyRecord): void {
    if (key.keyState === 'Enabled') return;
    if (key.keyState === 'Disabled') throw new DisabledError(`${keyArn(key)} is disabled.`);
    throw new KeyInvalidStateError(`${keyArn(key)} is pending deletion.`);
  }

  /**
   * The unwrapped material of one version, from the cache or the root key. The returned
   * SecretBytes belongs to the cache: do not dispose it, and do not keep it beyond the call.
   * Raises NotFoundError for a version the key does not have.
   */
  async material(key: KeyRecord, version: number = currentVersion(key).version): Promise<SecretBytes> {
    const fresh = this.cachedMaterial(key, version);
    if (fresh !== undefined) return fresh;
    const cacheKey = `${key.keyId}:${version}`;
    const now = Date.now();
    const hit = this.#cache.get(cacheKey);
    if (hit !== undefined && hit.expiresAt > now) return hit.secret;
    const v = key.versions.find((x) => x.version === version);
    if (v === undefined) throw new NotFoundError(`key version ${version} not found`);
    const secret = await this.#deps.rootKey.unwrap(v.wrappedMaterial, materialLabel(key.keyId, version));
    if (hit !== undefined) {
      // Keep the expired entry alive until in-flight users are done: zero it after a grace period.
      setTimeout(() => hit.secret.dispose(), 1000).unref();
    }
    this.#cache.set(cacheKey, { secret, expiresAt: now + this.#deps.settings.materialCacheTtlMs });
    return secret;
  }

  /**
   * The cached material of one version while it is fresh, else undefined (then call
   * `material`): the same rule as `material`, without a promise. The same ownership rule too:
   * do not dispose it, do not keep it beyond the call. Never throws, never unwraps.
   */
  cachedMaterial(key: KeyRecord, version: number): SecretBytes | undefined {
    // Calls repeat one key and version: the last entry found is remembered with its key id
    // and version, so a repeat builds no cache-key string. It is checked against the map,
    // as destroy and a refresh replace or drop entries.
    let entry = this.#lastMaterial;
    if (entry === undefined || entry.keyId !== key.keyId || entry.version !== version || this.#cache.get(entry.cacheKey) !== entry.cached) {
      const cacheKey = `${key.keyId}:${version}`;
      const cached = this.#cache.get(cacheKey);
      if (cached === undefined) return undefined;
      entry = { keyId: key.keyId, version, cacheKey, cached };
      this.#lastMaterial = entry;
    }
    return entry.cached.expiresAt > Date.now() ? entry.cached.secret : undefined;
  }

  #lastMaterial: { readonly keyId: string; readonly version: number; readonly cacheKey: string; readonly cached: CachedMaterial } | undefined;

  /** Zeroes and forgets every cached key. */
  close(): void {
    for (const v of this.#cache.values()) v.secret.dispose();
    this.#cache.clear();
    this.#lastMaterial = undefined;
  }
}

/** Whether #upkeep would act on `key` at `now`: its deletion or its automatic rotation has come due. */
function upkeepDue(key: KeyRecord, now: Date): boolean {
  if (key.keyState === 'PendingDeletion' && key.deletionDate !== undefined && now >= key.deletionDate) return true;
  return key.rotation.enabled && key.rotation.nextRotationDate !== undefined && now >= key.rotation.nextRotationDate && key.keyState === 'Enabled';
}

function aliasArnOf(deps: KmsDeps, aliasName: string): string {
  return `arn:aws:kms:${deps.settings.region}:${deps.settings.accountId}:${aliasName}`;
}

/** Raises ValidationError unless `value` is a plausible key identifier. */
export function checkKeyIdentifier(value: string, field = 'keyId'): void {
  if (value.length < 1 || value.length > 2048) throw new ValidationError(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length between 1 and 2048`);
}
