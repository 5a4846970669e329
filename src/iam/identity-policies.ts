import type { Clock } from '../common/clock.js';
import type { IdentityStore, PolicyOwnerKind } from './identity-store.js';
import { parsePolicy, type Policy } from './policy/index.js';
import type { Principal } from './principals.js';

/** Where the authorizer gets a principal's identity-based policies from. */
export interface IdentityPolicySource {
  /**
   * The parsed inline and attached policies of the principal (the role's, for a role
   * session); empty for the root, anonymous and service principals. A stored document
   * that no longer parses is skipped (it was validated when stored). Never throws for an
   * unknown principal.
   */
  policiesFor(principal: Principal): Promise<readonly Policy[]>;
}

/** How long a principal's parsed policies are reused before the store is read again. */
export const IDENTITY_POLICY_CACHE_TTL_MS = 5_000;

/** The role name of a role ARN: its last path segment. */
export function roleNameOf(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf('/') + 1);
}

/**
 * IdentityPolicySource over an IdentityStore with a cache bounded in time; `invalidate`
 * drops one owner (or everything) at once after a change made through this process.
 */
export class StoredIdentityPolicies implements IdentityPolicySource {
  readonly #cache = new Map<string, { policies: readonly Policy[]; loadedAt: number }>();

  constructor(
    private readonly store: IdentityStore,
    private readonly clock: Clock,
    private readonly ttlMs = IDENTITY_POLICY_CACHE_TTL_MS,
  ) {}

  async policiesFor(principal: Principal): Promise<readonly Policy[]> {
    const owner = ownerOf(principal);
    if (owner === undefined) return [];
    const cacheKey = `${owner.kind}:${owner.name.toLowerCase()}`;
    const now = this.clock.now().getTime();
    const hit = this.#cache.get(cacheKey);
    if (hit !== undefined && now - hit.loadedAt >= 0 && now - hit.loadedAt < this.ttlMs) return hit.policies;
    const policies = await this.#load(owner.kind, owner.name);
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(cacheKey, { policies, loadedAt: now });
    return policies;
  }

  /** Forgets the cached policies of a user or role name (all when undefined). */
  invalidate(name?: string): void {
    if (name === undefined) {
      this.#cache.clear();
      return;
    }
    this.#cache.delete(`user:${name.toLowerCase()}`);
    this.#cache.delete(`role:${name.toLowerCase()}`);
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

function ownerOf(principal: Principal): { kind: PolicyOwnerKind; name: string } | undefined {
  if (principal.type === 'IAMUser' && principal.userName !== undefined) return { kind: 'user', name: principal.userName };
  if (principal.type === 'AssumedRole' && principal.roleArn !== undefined) return { kind: 'role', name: roleNameOf(principal.roleArn) };
  return undefined;
}
