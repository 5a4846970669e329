import type { Clock } from '../../common/clock.js';
import type { SecretBytes } from '../../crypto/index.js';
import type { DataKeyProvider, KmsContext } from './data-key-provider.js';

/** How long a bucket key is reused for writes, and an opened one kept for reads (S3 does not publish its bound; 5 minutes here). */
export const BUCKET_KEY_TTL_MS = 5 * 60 * 1000;
/** At most this many bucket keys (generated + opened) are held in memory; the oldest go first. */
const MAX_ENTRIES = 1024;

interface Entry {
  readonly plaintext: SecretBytes;
  readonly blob: Buffer;
  readonly keyArn: string;
  readonly expiresAt: number;
  readonly timer: NodeJS.Timeout;
}

/** A bucket key in use: the plaintext is lent only for the synchronous call it is passed to. */
export interface LentBucketKey {
  readonly key: SecretBytes;
  readonly blob: Buffer;
  readonly keyArn: string;
}

/**
 * Per-bucket intermediate keys for SSE-KMS with bucket keys enabled. `seal` reuses one KMS
 * data key per (KMS key, encryption context) for at most `ttlMs`, so N PUTs to a bucket
 * make one GenerateDataKey per TTL instead of N; `open` keeps a decrypted bucket key for at
 * most `ttlMs`, so reads make one KMS Decrypt per bucket key per TTL. Every entry is
 * zeroed when it expires (by the injected clock at lookup, and by an unref'd timer in real
 * time) or is evicted. Consequence, documented in s3/sse/README.md: disabling or deleting
 * the KMS key stops writes and reads of bucket-key objects within `ttlMs`, not at once.
 * Concurrent misses for the same entry share one KMS call. Never logs key material.
 */
export class BucketKeyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<Entry>>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number = BUCKET_KEY_TTL_MS,
  ) {
    if (!(ttlMs > 0)) throw new RangeError('bucket key TTL must be positive');
  }

  /**
   * Runs `use` with the current bucket key for (keyId, context), generating one through
   * `kms` when none is live. Raises the KMS errors of GenerateDataKey.
   */
  async seal<T>(kms: DataKeyProvider, keyId: string, context: KmsContext, use: (k: LentBucketKey) => T): Promise<T> {
    // Scoped to the caller: a bucket key KMS authorized for one caller is never lent to another.
    const id = `${kms.cacheScope ?? ''}\0g\0${keyId}\0${canonical(context)}`;
    return this.#use(id, use, async () => {
      const dk = await kms.generateDataKey(keyId, context);
      return { plaintext: dk.plaintext, blob: dk.blob, keyArn: dk.keyArn };
    });
  }

  /**
   * Runs `use` with the bucket key sealed in `blob` (base64, as an object's sealed key stores
   * it), decrypting it through `kms` when not cached. Raises KMS Decrypt's errors.
   */
  async open<T>(kms: DataKeyProvider, blob: string, context: KmsContext, use: (k: LentBucketKey) => T): Promise<T> {
    // Keyed by the stored text itself (a few hundred characters): a hit neither decodes nor hashes it.
    const id = `${kms.cacheScope ?? ''}\0o\0${blob}\0${canonical(context)}`;
    return this.#use(id, use, async () => {
      const bytes = Buffer.from(blob, 'base64');
      const dk = await kms.decrypt(bytes, context);
      return { plaintext: dk.plaintext, blob: bytes, keyArn: dk.keyArn };
    });
  }

  /** Zeroes and forgets every bucket key (shutdown, tests). */
  clear(): void {
    for (const id of [...this.#entries.keys()]) this.#drop(id);
  }

  /** Lends a live entry to `use` synchronously; retries if it expired between the load and the lending. */
  async #use<T>(id: string, use: (k: LentBucketKey) => T, load: () => Promise<Omit<Entry, 'expiresAt' | 'timer'>>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const e = await this.#get(id, load);
      if (this.#entries.get(id) === e || attempt >= 2) return use({ key: e.plaintext, blob: e.blob, keyArn: e.keyArn });
    }
  }

  async #get(id: string, load: () => Promise<Omit<Entry, 'expiresAt' | 'timer'>>): Promise<Entry> {
    const now = this.clock.now().getTime();
    const live = this.#entries.get(id);
    if (live !== undefined && live.expiresAt > now) return live;
    if (live !== undefined) this.#drop(id);
    let pending = this.#pending.get(id);
    if (pending === undefined) {
      pending = load()
        .then((loaded) => this.#store(id, loaded))
        .finally(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
    }
    return pending;
  }

  #store(id: string, loaded: Omit<Entry, 'expiresAt' | 'timer'>): Entry {
    while (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#drop(oldest);
    }
    const timer = setTimeout(() => this.#drop(id), this.ttlMs);
    timer.unref();
    const entry: Entry = { ...loaded, expiresAt: this.clock.now().getTime() + this.ttlMs, timer };
    this.#entries.set(id, entry);
    return entry;
  }

  #drop(id: string): void {
    const e = this.#entries.get(id);
    if (e === undefined) return;
    this.#entries.delete(id);
    clearTimeout(e.timer);
    e.plaintext.dispose();
  }
}

function canonical(context: KmsContext): string {
  return JSON.stringify(Object.keys(context).sort().map((k) => [k, context[k]]));
}

const caches = new WeakMap<object, BucketKeyCache>();

/**
 * The bucket-key cache of one S3 service, keyed by its long-lived metadata store so every
 * request of that service shares it (and two services in one process never do).
 */
export function bucketKeyCacheFor(owner: object, clock: Clock): BucketKeyCache {
  let c = caches.get(owner);
  if (c === undefined) {
    c = new BucketKeyCache(clock);
    caches.set(owner, c);
  }
  return c;
}
