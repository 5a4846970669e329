/** The listing operations over managed and inline policies. */
import type { IamDeps } from '../iam-context.js';
import type { ManagedPolicyRecord, PolicyOwnerKind } from '../identity-store.js';
import { getRole } from './roles.js';
import { getUser } from './users.js';

/** ListPolicies' filters, in domain form (the wire layer validated them). */
export interface ListPoliciesFilter {
  /** `AWS` lists AWS managed policies, of which there are none here; `Local` and `All` the account's. */
  readonly scope: 'All' | 'AWS' | 'Local';
  readonly onlyAttached: boolean;
  readonly pathPrefix: string;
  /** `PermissionsBoundary` lists policies used as a permissions boundary: none here (boundaries are not served). */
  readonly usage: 'PermissionsPolicy' | 'PermissionsBoundary' | undefined;
}

/** A managed policy as ListPolicies answers it: with how many users and roles it is attached to. */
export interface ListedPolicy {
  readonly policy: ManagedPolicyRecord;
  readonly attachmentCount: number;
}

/**
 * The customer managed policies that pass `filter`, by ARN; never raises for an empty result.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicies.html
 */
export async function listPolicies(deps: IamDeps, filter: ListPoliciesFilter): Promise<readonly ListedPolicy[]> {
  if (filter.scope === 'AWS' || filter.usage === 'PermissionsBoundary') return [];
  const policies = (await deps.store.listManagedPolicies()).filter((p) => p.path.startsWith(filter.pathPrefix));
  const listed = await Promise.all(policies.map(async (policy) => ({ policy, attachmentCount: await deps.store.countAttachments(policy.arn) })));
  return filter.onlyAttached ? listed.filter((p) => p.attachmentCount > 0) : listed;
}

/**
 * The names of a user's or role's inline policies; raises NoSuchEntityError for an unknown owner.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUserPolicies.html (and ListRolePolicies)
 */
export async function listInlinePolicyNames(deps: IamDeps, kind: PolicyOwnerKind, name: string): Promise<readonly string[]> {
  const owner = kind === 'user' ? (await getUser(deps, name)).userName : (await getRole(deps, name)).roleName;
  return (await deps.store.listInlinePolicies(kind, owner)).map((p) => p.policyName);
}
