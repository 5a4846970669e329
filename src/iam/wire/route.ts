import type { AuthzCall, ConditionFacts } from '../authorizer.js';
import type { IamDeps } from '../iam-context.js';
import type { Policy } from '../policy/index.js';
import type { QueryParams, QueryService, XmlValue } from './query.js';

/** The caller of a Query request (a CallContext satisfies it). */
export interface QueryCall extends AuthzCall {
  readonly accessKeyId?: string;
}

/**
 * One IAM or STS action, declared as data: the IAM action authorized, how to read the
 * request, which resource (and resource policies, e.g. a trust policy) authorization
 * sees, the operation, and the `…Result` element it answers with (undefined: none).
 */
export interface QueryRoute<Req = unknown, Res = unknown> {
  readonly service: QueryService;
  /** e.g. `iam:CreateUser`; undefined for actions everyone may call (GetCallerIdentity). */
  readonly action: string | undefined;
  readonly readOnly: boolean;
  readonly parse: (params: QueryParams, call: QueryCall) => Req;
  /** The resource ARN authorized: an existing user's or role's carries its path, as IAM's do. */
  readonly resource: (req: Req, accountId: string, deps: IamDeps) => string | Promise<string>;
  readonly resourcePolicies?: (deps: IamDeps, req: Req, call: QueryCall) => Promise<readonly Policy[]>;
  /**
   * The request's own condition keys (aws:RequestTag/…, aws:TagKeys); the handler adds the
   * resource's (aws:ResourceTag/… of the user or role authorized on).
   */
  readonly facts?: (req: Req) => ConditionFacts;
  /** Whether a resource policy must allow as well as the identity policies (a role's trust policy for AssumeRole). */
  readonly resourcePolicyRequired?: boolean;
  readonly operate: (deps: IamDeps, req: Req, call: QueryCall) => Promise<Res>;
  readonly respond: (res: Res) => Readonly<Record<string, XmlValue>> | undefined;
}

/** Declares a route with its request and result types checked together. */
export function queryRoute<Req, Res>(r: QueryRoute<Req, Res>): QueryRoute {
  return r as unknown as QueryRoute;
}
