/**
 * Evaluation of one policy: which of its statements apply to a request, and the
 * policy's own verdict (a Deny statement beats an Allow statement in the same policy).
 */
import { conditionHolds } from './evaluate-condition.js';
import { globMatches, resolveGlob } from './pattern.js';
import { matchPrincipal } from './principal.js';
import type { PrincipalMatch } from './principal.js';
import { prepareRequest } from './request-context.js';
import type { PreparedRequest, RequestContext } from './request-context.js';
import type { Policy, ResourceMatcher, Statement } from './types.js';

/** One policy's verdict, with the statement that decided it (Sid, or `#index` without one). */
export type PolicyResult =
  | { readonly effect: 'NotApplicable' }
  | { readonly effect: 'Deny'; readonly statementId: string }
  | { readonly effect: 'Allow'; readonly statementId: string; readonly principalMatch: PrincipalMatch };

function resourceMatches(resources: ResourceMatcher, request: PreparedRequest): boolean {
  if (resources.kind === 'all') return true;
  let hit = false;
  for (const template of resources.patterns) {
    // A template without variables is compiled already: request.values (built on first use) is not needed.
    const glob = template.glob ?? resolveGlob(template, request.values);
    // An unresolvable variable: the entry never matches, and a NotResource with one
    // cannot be trusted to exclude anything, so that statement does not apply at all.
    if (glob === undefined) {
      if (resources.negated) return false;
      continue;
    }
    if (globMatches(glob, request.resource)) {
      hit = true;
      break;
    }
  }
  return hit !== resources.negated;
}

/**
 * Whether a statement applies to the request: action, resource, principal (if the
 * statement has one; otherwise the caller is the principal) and every condition.
 * Returns how the principal matched, or undefined when the statement does not apply.
 */
export function statementApplies(statement: Statement, request: PreparedRequest): PrincipalMatch | undefined {
  const actions = statement.actions;
  let actionHit = false;
  for (const pattern of actions.patterns) {
    if (globMatches(pattern, request.action)) {
      actionHit = true;
      break;
    }
  }
  if (actionHit === actions.negated) return undefined;
  if (!resourceMatches(statement.resources, request)) return undefined;
  const principal = statement.principal === undefined ? 'direct' : matchPrincipal(statement.principal, request.principal);
  if (principal === undefined) return undefined;
  for (const condition of statement.conditions) {
    if (!conditionHolds(condition, request)) return undefined;
  }
  return principal;
}

/**
 * Evaluates one policy against an already prepared request (see `prepareRequest`), for
 * callers that evaluate many policies for one request. Deny if any applicable statement
 * denies; otherwise Allow if one allows (preferring a direct principal match over an
 * account delegation); otherwise NotApplicable. Never throws.
 */
export function evaluatePreparedPolicy(policy: Policy, request: PreparedRequest): PolicyResult {
  let allow: PolicyResult | undefined;
  for (let i = 0; i < policy.statements.length; i += 1) {
    const statement = policy.statements[i];
    if (statement === undefined) continue;
    if (statement.effect === 'Allow' && allow?.effect === 'Allow' && allow.principalMatch === 'direct') continue;
    const match = statementApplies(statement, request);
    if (match === undefined) continue;
    const statementId = statement.sid ?? `#${i}`;
    if (statement.effect === 'Deny') return { effect: 'Deny', statementId };
    if (allow === undefined || match === 'direct') allow = { effect: 'Allow', statementId, principalMatch: match };
  }
  return allow ?? { effect: 'NotApplicable' };
}

/**
 * Evaluates one policy against a request: 'Deny' (an applicable Deny statement),
 * 'Allow' (an applicable Allow and no Deny) or 'NotApplicable', with the deciding
 * statement's id. This is the building block for callers that combine policies their
 * own way (KMS: key policy and grants). Never throws, never performs I/O.
 */
export function evaluatePolicy(policy: Policy, request: RequestContext): PolicyResult {
  return evaluatePreparedPolicy(policy, prepareRequest(request));
}
