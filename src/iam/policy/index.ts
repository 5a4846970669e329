/**
 * The IAM policy language: parse policy documents and decide requests against them.
 * Pure: no I/O, no clock reads except a default request time, no HTTP.
 */
export { MalformedPolicyDocumentError } from './errors.js';
export { MAX_POLICY_BYTES, parsePolicy } from './parse-policy.js';
export type { ParsePolicyOptions } from './parse-policy.js';
export { evaluatePolicy, evaluatePreparedPolicy } from './evaluate-policy.js';
export type { PolicyResult } from './evaluate-policy.js';
export { evaluatePolicies } from './evaluate-policies.js';
export type { Decision, PolicySet } from './evaluate-policies.js';
export { prepareRequest } from './request-context.js';
export type { ContextValue, PreparedRequest, RequestContext, RequestPrincipal } from './request-context.js';
export type { PrincipalMatch } from './principal.js';
export type { Policy, PolicyKind, PolicyVersion, Statement } from './types.js';
