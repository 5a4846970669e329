/**
 * AWS's policy evaluation logic across the policies that bear on one request:
 * identity policies, resource policies, an endpoint policy and a permissions boundary.
 *
 * Simplifications (see README.md): no SCPs, RCPs or session policies; a permissions
 * boundary limits every allow, including one from a resource policy that names the
 * principal directly (AWS exempts that case for IAM users).
 */
import { evaluatePreparedPolicy } from './evaluate-policy.js';
import type { PolicyResult } from './evaluate-policy.js';
import { prepareRequest } from './request-context.js';
import type { PreparedRequest, RequestContext } from './request-context.js';
import type { Policy } from './types.js';

/** The policies that apply to one request. An absent or empty list is "no such policy". */
export interface PolicySet {
  readonly identity: readonly Policy[];
  readonly resource?: readonly Policy[];
  readonly endpoint?: readonly Policy[];
  readonly permissionsBoundary?: readonly Policy[];
}

/** The final decision with a reason for the server log (never sent to the client). */
export interface Decision {
  readonly decision: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
  readonly reason: string;
}

type Source = 'identity' | 'resource' | 'endpoint' | 'permissions boundary';

interface Found {
  readonly source: Source;
  readonly policy: Policy;
  readonly result: PolicyResult;
}

function describe(found: Found): string {
  const id = found.policy.id === undefined ? '' : ` ${JSON.stringify(found.policy.id)}`;
  const sid = found.result.effect === 'NotApplicable' ? '' : ` statement ${JSON.stringify(found.result.statementId)}`;
  return `${found.source} policy${id}${sid}`;
}

function evaluateAll(source: Source, policies: readonly Policy[] | undefined, request: PreparedRequest): Found[] {
  return (policies ?? []).map((policy) => ({ source, policy, result: evaluatePreparedPolicy(policy, request) }));
}

function firstAllow(found: readonly Found[], directOnly = false): Found | undefined {
  return found.find(
    (f) => f.result.effect === 'Allow' && (!directOnly || f.result.principalMatch === 'direct'),
  );
}

/**
 * Decides a request the way AWS does:
 * 1. An explicit Deny in any policy wins (ExplicitDeny).
 * 2. An endpoint policy, when present, must allow; so must a permissions boundary.
 * 3. Cross-account (resourceAccount given and different from the principal's account):
 *    both an identity policy and a resource policy must allow.
 * 4. Same account: an identity-policy allow suffices, or a resource-policy allow that
 *    names the principal (or everyone). A resource policy that only names the caller's
 *    account delegates to the account's identity policies, as a KMS key policy naming
 *    `arn:aws:iam::ACCOUNT:root` does, so it is not enough alone — except for the
 *    account root itself.
 * Anything else is ImplicitDeny. Never throws, never performs I/O.
 */
export function evaluatePolicies(request: RequestContext, policies: PolicySet): Decision {
  const prepared = prepareRequest(request);
  const identity = evaluateAll('identity', policies.identity, prepared);
  const resource = evaluateAll('resource', policies.resource, prepared);
  const endpoint = evaluateAll('endpoint', policies.endpoint, prepared);
  const boundary = evaluateAll('permissions boundary', policies.permissionsBoundary, prepared);
  const all = [...endpoint, ...boundary, ...resource, ...identity];
  const deny = all.find((f) => f.result.effect === 'Deny');
  if (deny !== undefined) return { decision: 'ExplicitDeny', reason: `explicitly denied by ${describe(deny)}` };
  if (endpoint.length > 0 && firstAllow(endpoint) === undefined) {
    return { decision: 'ImplicitDeny', reason: 'no endpoint policy statement allows the request' };
  }
  if (boundary.length > 0 && firstAllow(boundary) === undefined) {
    return { decision: 'ImplicitDeny', reason: 'the permissions boundary does not allow the request' };
  }
  return decideAllow(request, identity, resource);
}

function decideAllow(request: RequestContext, identity: readonly Found[], resource: readonly Found[]): Decision {
  const fromIdentity = firstAllow(identity);
  const principalAccount = request.principal.account;
  const crossAccount = request.resourceAccount !== undefined && request.resourceAccount !== principalAccount;
  if (crossAccount) {
    const fromResource = firstAllow(resource);
    if (fromIdentity !== undefined && fromResource !== undefined) {
      return { decision: 'Allow', reason: `cross-account: allowed by ${describe(fromIdentity)} and ${describe(fromResource)}` };
    }
    // An anonymous or service caller has no identity policies: the resource policy decides.
    const noIdentity = request.principal.type === 'Anonymous' || request.principal.type === 'Service';
    if (noIdentity && fromResource !== undefined && fromResource.result.effect === 'Allow') {
      return { decision: 'Allow', reason: `allowed by ${describe(fromResource)}` };
    }
    const missing = fromIdentity === undefined ? 'an identity policy' : 'the resource policy';
    return { decision: 'ImplicitDeny', reason: `cross-account request not allowed by ${missing}` };
  }
  if (fromIdentity !== undefined) return { decision: 'Allow', reason: `allowed by ${describe(fromIdentity)}` };
  const direct = firstAllow(resource, true);
  if (direct !== undefined) return { decision: 'Allow', reason: `allowed by ${describe(direct)}` };
  const delegated = firstAllow(resource);
  if (delegated !== undefined) {
    return {
      decision: 'ImplicitDeny',
      reason: `${describe(delegated)} delegates to the account, and no identity policy allows the request`,
    };
  }
  return { decision: 'ImplicitDeny', reason: 'no policy allows the request' };
}
