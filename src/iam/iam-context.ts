import { randomInt } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import type { SecretBytes } from '../crypto/index.js';
import { IamLimitExceededError, IamMalformedPolicyError, IamValidationError } from './errors.js';
import type { IdentityStore } from './identity-store.js';
import { MalformedPolicyDocumentError, parsePolicy, type Policy, type PolicyKind } from './policy/index.js';

/**
 * Seals and opens secrets under the root key. The KMS part's RootKeyProvider fulfils it;
 * IAM declares only what it needs so it does not depend on KMS.
 */
export interface SecretSealer {
  wrap(plaintext: SecretBytes, label: string): Promise<Buffer>;
  unwrap(wrapped: Buffer, label: string): Promise<SecretBytes>;
}

/** What IAM and STS operations are given. */
export interface IamDeps {
  readonly store: IdentityStore;
  readonly sealer: SecretSealer;
  readonly clock: Clock;
  readonly accountId: string;
  /** Called after any change that can alter a credential or a policy, so caches drop it at once. */
  readonly onChange?: (what: { readonly accessKeyId?: string; readonly principalName?: string }) => void;
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An IAM unique id with AWS's prefix (AIDA users, AROA roles, ANPA policies): 21 characters. */
export function newUniqueId(prefix: 'AIDA' | 'AROA' | 'ANPA'): string {
  let id = prefix;
  while (id.length < 21) id += ID_CHARS[randomInt(ID_CHARS.length)];
  return id;
}

const NAME = /^[\w+=,.@-]+$/;

/** Checks an IAM entity name (users, roles, policies); raises IamValidationError naming the parameter. */
export function checkName(value: string, parameter: string, max: number): string {
  if (value.length < 1 || value.length > max || !NAME.test(value)) {
    throw new IamValidationError(`The specified value for ${parameter[0]?.toLowerCase()}${parameter.slice(1)} is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-`);
  }
  return value;
}

/** Checks an IAM path (`/` or `/a/b/`); raises IamValidationError. */
export function checkPath(value: string | undefined): string {
  const path = value ?? '/';
  if (path.length > 512 || !/^\/([\x21-\x7e]*\/)?$/.test(path)) throw new IamValidationError('The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.');
  return path;
}

/**
 * Parses a policy document for storage; raises IamMalformedPolicyError with the parser's
 * reason. Its size cap is the parser's default (MAX_POLICY_BYTES), the same the evaluators
 * parse stored documents with, so a stored policy is never one they would drop; IAM's own
 * size quotas (checkPolicyQuota, the inline aggregate in putInlinePolicy) are in characters
 * without whitespace and far below it.
 */
export function checkPolicy(document: string, kind: PolicyKind): Policy {
  try {
    return parsePolicy(document, kind);
  } catch (err) {
    if (err instanceof MalformedPolicyDocumentError) throw new IamMalformedPolicyError(err.message);
    throw err;
  }
}

/**
 * IAM's policy size quotas, in characters not counting whitespace
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a managed
 * policy, a role's trust policy, and the aggregate of all inline policies of a user or a role.
 */
export const POLICY_SIZE_QUOTAS = { managed: 6144, trust: 2048, user: 2048, role: 10240 } as const;

/** A policy document's size as IAM counts it against its quotas: characters other than JSON whitespace. */
export function policySize(document: string): number {
  let size = 0;
  for (const c of document) if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') size++;
  return size;
}

/**
 * Checks a managed or trust policy against its size quota; raises IamLimitExceededError
 * (LimitExceeded, 409) in IAM's wording: "Cannot exceed quota for PolicySize: 6144"
 * (CreatePolicy) and "Cannot exceed quota for ACLSizePerRole: 2048" (CreateRole), as IAM
 * answers them (quoted in cfn-lint#3871 and aws-cdk#18564).
 */
export function checkPolicyQuota(document: string, kind: 'managed' | 'trust'): void {
  const quota = POLICY_SIZE_QUOTAS[kind];
  if (policySize(document) > quota) throw new IamLimitExceededError(`Cannot exceed quota for ${kind === 'managed' ? 'PolicySize' : 'ACLSizePerRole'}: ${quota}`);
}

/** `arn:aws:iam::ACCOUNT:user/PATH/NAME` and its role and policy counterparts. */
export function iamArn(accountId: string, kind: 'user' | 'role' | 'policy', path: string, name: string): string {
  return `arn:aws:iam::${accountId}:${kind}${path}${name}`;
}
