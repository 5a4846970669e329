/**
 * Access decisions, pure: who (the caller and its channel), what (action, resource), which
 * policies (identity, resource, endpoint, KMS key policy and grants) → allow or deny with
 * a reason for the server log and AWS's client message. No I/O; callers load the policies.
 */
import type { Policy } from './policy/index.js';
import { evaluatePolicies, evaluatePreparedPolicy, parsePolicy, prepareRequest } from './policy/index.js';
import type { ContextValue, PreparedRequest, RequestPrincipal } from './policy/index.js';
import type { Principal } from './principals.js';

/** The caller and the channel it used: the part of a call context authorization reads. */
export interface AuthzCall {
  readonly principal: Principal;
  readonly sourceIp: string;
  readonly secureTransport: boolean;
  readonly tlsVersion?: string;
  readonly vpcEndpointId?: string;
  readonly endpointPolicy?: Policy;
  /** e.g. `s3.us-east-1.amazonaws.com` when another part calls KMS on the caller's behalf. */
  readonly viaService?: string;
}

/** Condition keys → values supplied by the request (encryption context, SSE headers, tags…). */
export type ConditionFacts = Readonly<Record<string, ContextValue>>;

/** Why a request was denied; it selects AWS's message wording. */
export type DenialCause = 'explicit-identity' | 'explicit-resource' | 'explicit-endpoint' | 'no-identity-allow' | 'no-resource-allow' | 'no-endpoint-allow';

/** An access decision; `reason` is for the server log only. */
export type AccessDecision =
  | { readonly allowed: true; readonly reason: string }
  | { readonly allowed: false; readonly reason: string; readonly cause: DenialCause };

/** A KMS grant as the authorizer needs it. */
export interface GrantView {
  readonly grantId: string;
  readonly granteePrincipal: string;
  readonly operations: readonly string[];
  readonly constraints?: {
    readonly encryptionContextEquals?: Readonly<Record<string, string>>;
    readonly encryptionContextSubset?: Readonly<Record<string, string>>;
  };
}

function tagsOf(p: Principal): { tags?: Readonly<Record<string, string>> } {
  return p.tags !== undefined ? { tags: p.tags } : {};
}

/** Maps an authenticated principal to the policy language's principal (its tags feed aws:PrincipalTag). Never throws. */
export function requestPrincipal(p: Principal): RequestPrincipal {
  switch (p.type) {
    case 'Root':
      return { type: 'Account', arn: p.arn, account: p.accountId, userid: p.principalId };
    case 'IAMUser':
      return { type: 'User', arn: p.arn, account: p.accountId, userid: p.principalId, ...(p.userName !== undefined ? { username: p.userName } : {}), ...tagsOf(p) };
    case 'AssumedRole':
      return { type: 'AssumedRole', arn: p.arn, account: p.accountId, userid: p.principalId, ...(p.roleArn !== undefined ? { roleArn: p.roleArn } : {}), ...tagsOf(p) };
    case 'AWSService':
      return { type: 'Service', service: p.arn, userid: p.principalId };
    case 'Anonymous':
      return { type: 'Anonymous', userid: p.principalId };
    default: {
      const never: never = p.type;
      throw new Error(`unknown principal type ${String(never)}`);
    }
  }
}

/** The global condition keys of the channel: aws:SecureTransport, aws:SourceIp, aws:SourceVpce, aws:ViaAWSService. */
export function channelFacts(call: AuthzCall): Record<string, ContextValue> {
  return {
    'aws:SecureTransport': call.secureTransport ? 'true' : 'false',
    'aws:SourceIp': call.sourceIp === '' ? undefined : call.sourceIp,
    'aws:SourceVpce': call.vpcEndpointId,
    'aws:ViaAWSService': call.viaService !== undefined ? 'true' : 'false',
  };
}

// The prototype of condition-fact bags: empty, frozen, itself without a prototype.
const FACTS_PROTOTYPE: object = Object.freeze(Object.create(null) as object);

/**
 * An empty bag for condition facts, to fill by assignment. Object.prototype is not in its
 * chain, so assigning a key named `__proto__` (fact names can be the caller's) makes an own
 * key, as a spread would, never a prototype. Unlike Object.create(null), whose objects V8
 * keeps in dictionary mode (slower to fill and to enumerate), it stays a fast-mode object.
 * Never shared: each call returns a new object.
 */
export function newConditionFacts(): Record<string, ContextValue> {
  return Object.create(FACTS_PROTOTYPE) as Record<string, ContextValue>;
}

/**
 * A decision's condition context: the channel's facts, then `facts` over them (later keys win),
 * exactly the own keys and values `{ ...channelFacts(call), ...facts }` had. Built by assignment
 * (newConditionFacts): on Node 20 that two-spread literal takes V8's slow path (about 4 µs per
 * decision).
 */
function conditionContext(call: AuthzCall, facts: ConditionFacts | undefined): Record<string, ContextValue> {
  const context = Object.assign(newConditionFacts(), channelFacts(call));
  if (facts !== undefined) Object.assign(context, facts);
  return context;
}

const ROOT_IDENTITY: Policy = parsePolicy('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}', 'identity');

/** The account root: allowed by IAM, still subject to explicit denies and endpoint policies. */
function identityOf(call: AuthzCall, identity: readonly Policy[]): readonly Policy[] {
  return call.principal.type === 'Root' ? [ROOT_IDENTITY] : identity;
}

function firstDeny(groups: ReadonlyArray<[DenialCause, readonly Policy[]]>, req: PreparedRequest): DenialCause | undefined {
  for (const [cause, policies] of groups) {
    if (policies.some((p) => evaluatePreparedPolicy(p, req).effect === 'Deny')) return cause;
  }
  return undefined;
}

/**
 * Identity policy ∧ resource policy ∧ endpoint policy, AWS's logic (see policy/README.md):
 * for IAM, STS and S3 actions. `resourcePolicies` are bucket or trust policies. With
 * `requireResourceAllow` (a role's trust policy for sts:AssumeRole), a resource policy must
 * also allow the caller, directly or through its account: in the same account an identity
 * policy alone never lets a principal the trust policy does not name assume the role
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html). Never throws.
 */
export function decideAccess(input: {
  readonly call: AuthzCall;
  readonly action: string;
  readonly resource: string;
  readonly identity: readonly Policy[];
  readonly resourcePolicies?: readonly Policy[];
  readonly facts?: ConditionFacts;
  readonly requireResourceAllow?: boolean;
  readonly time: Date;
}): AccessDecision {
  const { call } = input;
  const endpoint = call.endpointPolicy !== undefined ? [call.endpointPolicy] : [];
  const request = { principal: requestPrincipal(call.principal), action: input.action, resource: input.resource, context: conditionContext(call, input.facts), time: input.time };
  const identity = identityOf(call, input.identity);
  const d = evaluatePolicies(request, { identity, resource: input.resourcePolicies ?? [], endpoint });
  if (d.decision === 'Allow') {
    if (input.requireResourceAllow !== true) return { allowed: true, reason: d.reason };
    const prepared = prepareRequest(request);
    if ((input.resourcePolicies ?? []).some((p) => evaluatePreparedPolicy(p, prepared).effect === 'Allow')) return { allowed: true, reason: d.reason };
    return { allowed: false, reason: 'no resource policy (trust policy) statement allows the principal', cause: 'no-resource-allow' };
  }
  if (d.decision === 'ExplicitDeny') {
    const prepared = prepareRequest(request);
    const cause = firstDeny([['explicit-endpoint', endpoint], ['explicit-resource', input.resourcePolicies ?? []], ['explicit-identity', identity]], prepared) ?? 'explicit-identity';
    return { allowed: false, reason: d.reason, cause };
  }
  return { allowed: false, reason: d.reason, cause: d.reason.includes('endpoint policy') ? 'no-endpoint-allow' : 'no-identity-allow' };
}

/** The grant operation names a KMS action covers (`kms:ReEncrypt*` covers both directions). */
function grantOperationsOf(action: string): readonly string[] {
  const op = action.replace(/^kms:/i, '');
  return op === 'ReEncrypt*' ? ['ReEncryptFrom', 'ReEncryptTo'] : [op];
}

function contextMatches(grant: GrantView, context: Readonly<Record<string, string>>): boolean {
  const equals = grant.constraints?.encryptionContextEquals;
  if (equals !== undefined) {
    const a = Object.keys(equals);
    if (a.length !== Object.keys(context).length || !a.every((k) => context[k] === equals[k])) return false;
  }
  const subset = grant.constraints?.encryptionContextSubset;
  return subset === undefined || Object.entries(subset).every(([k, v]) => context[k] === v);
}

/**
 * The grant (if any) that lets the caller perform the action: its grantee is the caller
 * (or the caller's role), it lists the operation, and its encryption-context constraints
 * hold for the request's context. Never throws.
 */
export function matchingGrant(call: AuthzCall, action: string, grants: readonly GrantView[], context: Readonly<Record<string, string>>): GrantView | undefined {
  const names = new Set([call.principal.arn, call.principal.roleArn].filter((s): s is string => s !== undefined));
  const ops = grantOperationsOf(action);
  return grants.find((g) => names.has(g.granteePrincipal) && g.operations.some((o) => ops.includes(o)) && contextMatches(g, context));
}

/** The KMS condition keys of a request's encryption context. */
export function encryptionContextFacts(context: Readonly<Record<string, string>> | undefined): Record<string, ContextValue> {
  const facts: Record<string, ContextValue> = { 'kms:EncryptionContextKeys': Object.keys(context ?? {}) };
  for (const [k, v] of Object.entries(context ?? {})) facts[`kms:EncryptionContext:${k}`] = v;
  return facts;
}

// Whether a parsed policy has any Deny statement; policies are immutable once parsed, so
// this is worked out once per policy object.
const HAS_DENY = new WeakMap<Policy, boolean>();

function hasDenyStatement(policy: Policy): boolean {
  let has = HAS_DENY.get(policy);
  if (has === undefined) {
    has = policy.statements.some((s) => s.effect === 'Deny');
    HAS_DENY.set(policy, has);
  }
  return has;
}

/**
 * True when `decideKmsAccess` must allow without evaluating anything: the caller is the
 * account root, the channel has no endpoint policy, and neither the key policy nor any
 * identity policy has a Deny statement (so no explicit deny can apply). Lets the caller
 * skip gathering condition facts for the root's calls. Never throws.
 */
export function kmsRootAllowedOutright(call: AuthzCall, keyPolicy: Policy, identity: readonly Policy[]): boolean {
  if (call.principal.type !== 'Root' || call.endpointPolicy !== undefined || hasDenyStatement(keyPolicy)) return false;
  for (const p of identity) if (hasDenyStatement(p)) return false;
  return true;
}

const ROOT_ALLOWED: AccessDecision = { allowed: true, reason: 'account root, no explicit deny' };

/**
 * KMS's logic: an explicit deny anywhere (key policy, identity, endpoint) wins; an endpoint
 * policy must allow; then the key policy must allow — naming the caller directly, or
 * naming the account, which delegates to the caller's identity policies — or a grant must
 * allow. The account root is allowed unless something denies it explicitly. Never throws.
 */
export function decideKmsAccess(input: {
  readonly call: AuthzCall;
  readonly action: string;
  readonly keyArn: string;
  readonly keyPolicy: Policy;
  readonly identity: readonly Policy[];
  readonly grants: readonly GrantView[];
  readonly encryptionContext?: Readonly<Record<string, string>>;
  readonly facts?: ConditionFacts;
  readonly time: Date;
}): AccessDecision {
  const { call } = input;
  if (kmsRootAllowedOutright(call, input.keyPolicy, input.identity)) return ROOT_ALLOWED;
  const endpoint = call.endpointPolicy !== undefined ? [call.endpointPolicy] : [];
  const req = prepareRequest({ principal: requestPrincipal(call.principal), action: input.action, resource: input.keyArn, context: conditionContext(call, input.facts), time: input.time });
  const deny = firstDeny([['explicit-endpoint', endpoint], ['explicit-resource', [input.keyPolicy]], ['explicit-identity', input.identity]], req);
  if (deny !== undefined) return { allowed: false, reason: `explicit deny in the ${deny.slice('explicit-'.length)} policy`, cause: deny };
  if (endpoint.length > 0 && !endpoint.some((p) => evaluatePreparedPolicy(p, req).effect === 'Allow')) {
    return { allowed: false, reason: 'the endpoint policy does not allow the request', cause: 'no-endpoint-allow' };
  }
  if (call.principal.type === 'Root') return ROOT_ALLOWED;
  const key = evaluatePreparedPolicy(input.keyPolicy, req);
  if (key.effect === 'Allow' && key.principalMatch === 'direct') return { allowed: true, reason: `key policy statement ${key.statementId} allows` };
  if (key.effect === 'Allow') {
    const allow = input.identity.find((p) => evaluatePreparedPolicy(p, req).effect === 'Allow');
    if (allow !== undefined) return { allowed: true, reason: `key policy statement ${key.statementId} delegates to IAM; an identity policy allows` };
  }
  const grant = matchingGrant(call, input.action, input.grants, input.encryptionContext ?? {});
  if (grant !== undefined) return { allowed: true, reason: `grant ${grant.grantId} allows` };
  return key.effect === 'Allow'
    ? { allowed: false, reason: 'the key policy delegates to IAM and no identity policy or grant allows', cause: 'no-identity-allow' }
    : { allowed: false, reason: 'no key policy statement or grant allows', cause: 'no-resource-allow' };
}

/**
 * AWS's AccessDenied message for a denial, e.g. "User: ARN is not authorized to perform:
 * kms:Decrypt on resource: KEYARN because no identity-based policy allows the kms:Decrypt
 * action". It names the caller, action and resource, never the policy text or statement.
 */
export function accessDeniedMessage(principal: Principal, action: string, resource: string, cause: DenialCause): string {
  const who = principal.type === 'Anonymous' ? 'anonymous' : principal.arn;
  const head = `User: ${who} is not authorized to perform: ${action} on resource: ${resource}`;
  switch (cause) {
    case 'explicit-identity':
      return `${head} with an explicit deny in an identity-based policy`;
    case 'explicit-resource':
      return `${head} with an explicit deny in a resource-based policy`;
    case 'explicit-endpoint':
      return `${head} with an explicit deny in a VPC endpoint policy`;
    case 'no-identity-allow':
      return `${head} because no identity-based policy allows the ${action} action`;
    case 'no-resource-allow':
      return `${head} because no resource-based policy allows the ${action} action`;
    case 'no-endpoint-allow':
      return `${head} because no VPC endpoint policy allows the ${action} action`;
    default: {
      const never: never = cause;
      return `${head} (${String(never)})`;
    }
  }
}
