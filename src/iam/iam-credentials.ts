import { ChangeWatch } from '../common/change-watch.js';
import type { Clock } from '../common/clock.js';
import type { SecretSealer } from './iam-context.js';
import type { EntityTag, IdentityStore, RoleRecord } from './identity-store.js';
import { accessKeyLabel } from './operations/access-keys.js';
import { sessionLabel, sessionPrincipal } from './operations/sts.js';
import type { Credential, CredentialLookup, Principal } from './principals.js';

/** How long a loaded credential is trusted before the store is asked again (other nodes may change it). */
export const CREDENTIAL_CACHE_TTL_MS = 5_000;
const MAX_CACHED = 10_000;
/** How many times prepare() reads a credential that keeps changing under it before caching the last read. */
const MAX_LOADS = 3;

/** How long an expired session is kept, so its use answers "expired" rather than "unknown". */
export const EXPIRED_SESSION_RETENTION_MS = 24 * 3600 * 1000;

/**
 * The edge's credential lookup: fixed credentials (the account root) first, then IAM users'
 * active access keys and STS sessions from the identity store. `prepare` loads and unseals
 * a credential into a small cache bounded in time (ttlMs) and size, so `find` stays
 * synchronous; changes made through this process invalidate at once. Over a store with a
 * change count (every write, by any process: IdentityStore.changeCount), each entry remembers
 * the count it was read at and `current` says whether the store has moved since: the edge asks
 * it at a request's first look and prepares (reloads) a credential that is not current, so a
 * key deleted or deactivated, a user deleted or re-tagged through another worker holds from the
 * next request. `find` itself does not ask: the signature check of a request under way (after
 * its body was read, a later run) uses what that request's first look prepared, whatever was
 * written since. Over a store without a count, changes by other nodes show within ttlMs.
 * Never logs a secret.
 */
export class IamCredentialLookup implements CredentialLookup {
  readonly #cache = new Map<string, { credential: Credential; loadedAt: number; count: number }>();
  /** Bumped by every invalidate(), so a load that raced one is not cached stale. */
  #generation = 0;
  /** Reads the store's change count at most once per run; drops nothing itself (see the class comment). */
  readonly #watch: ChangeWatch | undefined;

  constructor(
    private readonly base: CredentialLookup,
    private readonly deps: { store: IdentityStore; sealer: SecretSealer; clock: Clock; accountId: string },
    private readonly ttlMs = CREDENTIAL_CACHE_TTL_MS,
  ) {
    const changeCount = deps.store.changeCount?.bind(deps.store);
    this.#watch = changeCount === undefined ? undefined : new ChangeWatch(changeCount, () => undefined);
  }

  /**
   * Whether `find`'s answer for this key is what the store holds now: true for fixed
   * credentials and for a cached one read at the store's present change count (or, without a
   * count, within ttlMs); false when nothing is cached or the store changed since (prepare
   * reloads it). A count read that fails says false.
   */
  current(accessKeyId: string): boolean {
    if (this.base.find(accessKeyId) !== undefined) return true;
    const hit = this.#cache.get(accessKeyId);
    return hit !== undefined && this.#fresh(hit.loadedAt) && this.#atCount(hit.count);
  }

  find(accessKeyId: string): Credential | undefined {
    const fixed = this.base.find(accessKeyId);
    if (fixed !== undefined) return fixed;
    const hit = this.#cache.get(accessKeyId);
    return hit !== undefined && this.#fresh(hit.loadedAt) ? hit.credential : undefined;
  }

  async prepare(accessKeyId: string): Promise<void> {
    if (this.current(accessKeyId)) return;
    // The entry stays until the read replaces it: a request of the same key under way (its
    // signature checked after its body, a later run) must not find it gone meanwhile.
    // A change made through this process while the store was read (a tag, a key deleted) must
    // not be cached over for ttlMs: load again, a bounded number of times, when one came.
    for (let attempt = 1; ; attempt++) {
      const generation = this.#generation;
      // The count before the read: a write during it leaves the entry behind the store's
      // count, so the next request's first look reloads it. NaN (a write committing, or the
      // count unreadable) is never current.
      const count = this.#countNow();
      const credential = accessKeyId.startsWith('ASIA') ? await this.#loadSession(accessKeyId) : await this.#loadAccessKey(accessKeyId);
      if (credential === undefined) {
        this.#cache.delete(accessKeyId);
        return;
      }
      if (generation !== this.#generation && attempt < MAX_LOADS) continue;
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
      this.#cache.set(accessKeyId, { credential, loadedAt: this.deps.clock.now().getTime(), count });
      return;
    }
  }

  /** Drops cached credentials: one access key, or (no argument) all of them; a load under way is read again. */
  invalidate(accessKeyId?: string): void {
    this.#generation++;
    if (accessKeyId === undefined) this.#cache.clear();
    else this.#cache.delete(accessKeyId);
  }

  /** The store's change count now (0 without a count); NaN when it cannot be read. */
  #countNow(): number {
    if (this.#watch === undefined) return 0;
    try {
      return this.#watch.check();
    } catch {
      return Number.NaN;
    }
  }

  #atCount(count: number): boolean {
    return this.#watch === undefined || count === this.#countNow();
  }

  #fresh(loadedAt: number): boolean {
    const age = this.deps.clock.now().getTime() - loadedAt;
    return age >= 0 && age < this.ttlMs;
  }

  async #loadAccessKey(accessKeyId: string): Promise<Credential | undefined> {
    const key = await this.deps.store.getAccessKey(accessKeyId);
    if (key === undefined || key.status !== 'Active') return undefined;
    const user = await this.deps.store.getUser(key.userName);
    if (user === undefined) return undefined;
    const secret = await this.deps.sealer.unwrap(key.sealedSecret, accessKeyLabel(accessKeyId));
    try {
      return {
        accessKeyId,
        secretAccessKey: secret.unsafeBytes().toString('utf8'),
        principal: { type: 'IAMUser', arn: user.arn, accountId: this.deps.accountId, principalId: user.userId, userName: user.userName, tags: tagRecord(user.tags) },
      };
    } finally {
      secret.dispose();
    }
  }

  async #loadSession(accessKeyId: string): Promise<Credential | undefined> {
    const session = await this.deps.store.getSession(accessKeyId);
    if (session === undefined) return undefined;
    const role = await this.deps.store.getRole(session.roleName);
    const sealed = await this.deps.sealer.unwrap(session.sealedSecret, sessionLabel(accessKeyId));
    try {
      const { secret, token } = JSON.parse(sealed.unsafeBytes().toString('utf8')) as { secret: string; token: string };
      return { accessKeyId, secretAccessKey: secret, sessionToken: token, expiresAt: session.expiresAt, principal: boundPrincipal(sessionPrincipal(this.deps.accountId, session), session.roleId, role) };
    } finally {
      sealed.dispose();
    }
  }
}

/**
 * A session belongs to the role id (AROA…) it was issued for, not to the role's name, as on
 * AWS: while that role exists the session carries its tags (aws:PrincipalTag/…); once it is
 * deleted, or replaced by a new role of the same name, the session keeps authenticating
 * (until it expires) but has no role ARN and no tags, so neither the new role's identity
 * policies, nor a resource policy naming the role's ARN, nor its tags reach it.
 */
function boundPrincipal(principal: Principal, roleId: string, role: RoleRecord | undefined): Principal {
  if (role !== undefined && role.roleId === roleId) return { ...principal, tags: tagRecord(role.tags) };
  const { roleArn: _gone, ...orphan } = principal;
  return { ...orphan, tags: tagRecord([]) };
}

/** A user's or role's tags as the principal carries them (key → value), frozen: shared by every request of the credential. */
function tagRecord(tags: readonly EntityTag[]): Readonly<Record<string, string>> {
  const record: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const t of tags) record[t.key] = t.value;
  return Object.freeze(record);
}
