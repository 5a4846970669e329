import { ChangeWatch } from '../common/change-watch.js';
import type { Clock } from '../common/clock.js';
import type { IdentityStore, PolicyOwnerKind } from './identity-store.js';
import { parsePolicy, type Policy } from './policy/index.js';
import type { Principal } from './principals.js';

/** Where the authorizer gets a principal's identity-based policies from. */
export interface IdentityPolicySource {
  /**
   * The parsed inline and attached policies of the principal (the role's, for a role
   * session, only while the role of the session's AROA… id exists: none once it is deleted
   * or replaced by a new role of the same name); empty for the root, anonymous and service
   * principals. A stored document
   * that no longer parses is skipped (it was validated when stored). Never throws for an
   * unknown principal.
   */
  policiesFor(principal: Principal): Promise<readonly Policy[]>;
}

/** How long a principal's parsed policies are reused before a store without a change count is read again. */
export const IDENTITY_POLICY_CACHE_TTL_MS = 5_000;

/** The role name of a role ARN: its last path segment. */
export function roleNameOf(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf('/') + 1);
}

/**
 * IdentityPolicySource over an IdentityStore with a cache. Over a store with a change count
 * (SqliteIdentityStore) it is exact: a write by any process sharing the store (a policy put,
 * attached, detached or given a new default version, a role replaced) drops it before the
 * next request here reads it (ChangeWatch). Over a store without one, entries are bounded in
 * time (ttlMs). `invalidate` drops one owner (or everything) at once after a change made
 * through this process.
 */
export class StoredIdentityPolicies implements IdentityPolicySource {
  /** `ownerId`: the unique id (AIDA…/AROA…) of the user or role whose policies these are, when it exists. */
  readonly #cache = new Map<string, { policies: readonly Policy[]; ownerId: string | undefined; loadedAt: number }>();
  readonly #watch: ChangeWatch | undefined;
  /** Bumped by every invalidate(), so a load that raced one is not cached stale. */
  #generation = 0;

  constructor(
    private readonly store: IdentityStore,
    private readonly clock: Clock,
    private readonly ttlMs = IDENTITY_POLICY_CACHE_TTL_MS,
  ) {
    const changeCount = store.changeCount?.bind(store);
    this.#watch = changeCount === undefined ? undefined : new ChangeWatch(changeCount, () => this.#cache.clear());
  }

  async policiesFor(principal: Principal): Promise<readonly Policy[]> {
    const owner = ownerOf(principal);
    if (owner === undefined) return [];
    const cacheKey = `${owner.kind}:${owner.name.toLowerCase()}`;
    const now = this.clock.now().getTime();
    // Read before the store: what is loaded after it is at least as new.
    const seen = this.#watch?.check();
    const generation = this.#generation;
    const hit = this.#cache.get(cacheKey);
    const fresh = hit !== undefined && (this.#watch !== undefined || (now - hit.loadedAt >= 0 && now - hit.loadedAt < this.ttlMs));
    const entry = fresh ? hit : await this.#loadEntry(owner, now);
    const keep = seen === undefined || this.#watch!.stillAt(seen);
    if (entry !== hit && keep && generation === this.#generation) {
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(cacheKey, entry);
    }
    // A role session gets the policies of the role id it was issued for only: a role deleted
    // and created again under the same name is another role (a credential cached before the
    // change, here or on another node, must not reach the new role's policies either).
    return owner.id === undefined || owner.id === entry.ownerId ? entry.policies : [];
  }

  /** Forgets the cached policies of a user or role name (all when undefined). */
  invalidate(name?: string): void {
    this.#generation++;
    if (name === undefined) {
      this.#cache.clear();
      return;
    }
    this.#cache.delete(`user:${name.toLowerCase()}`);
    this.#cache.delete(`role:${name.toLowerCase()}`);
  }

  async #loadEntry(owner: Owner, now: number): Promise<{ policies: readonly Policy[]; ownerId: string | undefined; loadedAt: number }> {
    const [policies, role] = await Promise.all([this.#load(owner.kind, owner.name), owner.kind === 'role' ? this.store.getRole(owner.name) : undefined]);
    return { policies, ownerId: role?.roleId, loadedAt: now };
  }

  async #load(kind: PolicyOwnerKind, name: string): Promise<readonly Policy[]> {
    const [inline, attached] = await Promise.all([this.store.listInlinePolicies(kind, name), this.store.listAttachedPolicies(kind, name)]);
    const managed = await Promise.all(attached.map((arn) => this.store.getManagedPolicy(arn)));
    const documents = [...inline.map((p) => p.document), ...managed.flatMap((m) => (m === undefined ? [] : [m.document]))];
    return documents.flatMap((doc) => {
      try {
        return [parsePolicy(doc, 'identity')];
      } catch {
        return [];
      }
    });
  }
}

/** Whose policies a principal gets; `id` (a role session's AROA… id) must match the owner's current id. */
interface Owner {
  readonly kind: PolicyOwnerKind;
  readonly name: string;
  readonly id?: string;
}

function ownerOf(principal: Principal): Owner | undefined {
  if (principal.type === 'IAMUser' && principal.userName !== undefined) return { kind: 'user', name: principal.userName };
  if (principal.type === 'AssumedRole' && principal.roleArn !== undefined) {
    // principalId is `AROA…:session`: the role id comes before the first colon.
    const id = principal.principalId.slice(0, Math.max(0, principal.principalId.indexOf(':')));
    return { kind: 'role', name: roleNameOf(principal.roleArn), id };
  }
  return undefined;
}
