/**
 * What the IAM route tables share: the ARN authorization sees for a named user or role, and
 * the parameter checks IAM's API model makes before an action runs (its constraint messages,
 * "1 validation error detected: …", answered ValidationError).
 */
import { echoed } from '../../common/bounded-echo.js';
import { IamInvalidInputError, IamValidationError } from '../errors.js';
import type { IamDeps } from '../iam-context.js';
import type { PolicyOwnerKind } from '../identity-store.js';
import { POLICY_PATH } from '../operations/policies.js';
import type { QueryParams } from './query.js';

/**
 * The ARN a policy sees for the named user or role: the stored one, which carries the entity's
 * path (`user/ml/alice`), as IAM authorizes against it; the pathless form for one that does not
 * exist (the operation then answers NoSuchEntity, or creates it). Raises only the store's errors.
 */
export async function ownerArn(d: IamDeps, kind: PolicyOwnerKind, account: string, name: string): Promise<string> {
  const found = kind === 'user' ? await d.store.getUser(name) : await d.store.getRole(name);
  return found?.arn ?? `arn:aws:iam::${account}:${kind}/${name}`;
}

function constraint(value: string, field: string, rule: string): IamValidationError {
  return new IamValidationError(`1 validation error detected: Value '${echoed(value)}' at '${field}' failed to satisfy constraint: Member must ${rule}`);
}

/** A PathPrefix pattern of IAM's model, with the spelling its error message quotes. */
export interface PathPrefixRule {
  readonly test: RegExp;
  readonly pattern: string;
}

/** ListUsers' and ListRoles' pathPrefixType (botocore's iam service-2.json): `/` then printable ASCII, 1 to 512 long. */
export const ENTITY_PATH_PREFIX: PathPrefixRule = { test: /^\/[\x21-\x7F]*$/, pattern: '\\u002F[\\u0021-\\u007F]*' };
/** ListPolicies' policyPathType: `/`, or `/`-separated segments of [A-Za-z0-9.,+@=_-] ending in `/`, 1 to 512 long. */
export const POLICY_PATH_PREFIX: PathPrefixRule = { test: POLICY_PATH, pattern: '((/[A-Za-z0-9\\.,\\+@=_-]+)*)/' };

/**
 * The PathPrefix parameter checked against `rule` and IAM's length limits (1 to 512); undefined
 * when absent. Raises IamValidationError in the model's wording.
 */
export function pathPrefixParam(p: QueryParams, rule: PathPrefixRule): string | undefined {
  const v = p.optional('PathPrefix');
  if (v === undefined) return undefined;
  if (v.length < 1) throw constraint(v, 'pathPrefix', 'have length greater than or equal to 1');
  if (v.length > 512) throw constraint(v, 'pathPrefix', 'have length less than or equal to 512');
  if (!rule.test.test(v)) throw constraint(v, 'pathPrefix', `satisfy regular expression pattern: ${rule.pattern}`);
  return v;
}

/** A required ARN parameter (the model's arnType: 20 to 2048 characters); raises IamValidationError. */
export function arnParam(p: QueryParams, name: string): string {
  const v = p.required(name);
  const field = `${name[0]?.toLowerCase()}${name.slice(1)}`;
  if (v.length < 20) throw constraint(v, field, 'have length greater than or equal to 20');
  if (v.length > 2048) throw constraint(v, field, 'have length less than or equal to 2048');
  return v;
}

/**
 * A customer or AWS managed policy's ARN as IAM reads it: partition `aws`, no region, a
 * 12-digit account (or `aws`), then `policy/`, a policyPathType path and a policyNameType name
 * (botocore's iam service-2.json).
 */
const POLICY_ARN = /^arn:aws:iam::(?:\d{12}|aws):policy\/(?:[A-Za-z0-9.,+@=_-]+\/)*[\w+=,.@-]{1,128}$/;

/**
 * The required PolicyArn: arnType's length (ValidationError), then a policy ARN's form, which IAM
 * answers InvalidInput "ARN … is not valid." when it is not (aws-samples/aws-cdk-examples#287:
 * a doubled `arn:aws:iam::aws:policy/` prefix, 400 InvalidInput). Raises IamValidationError,
 * IamInvalidInputError.
 */
export function policyArnParam(p: QueryParams): string {
  const v = arnParam(p, 'PolicyArn');
  if (!POLICY_ARN.test(v)) throw new IamInvalidInputError(`ARN ${echoed(v)} is not valid.`);
  return v;
}

const VERSION_ID = /^v[1-9][0-9]*(?:\.[A-Za-z0-9-]*)?$/;

/** The required VersionId (policyVersionIdType, `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`); raises IamValidationError. */
export function versionIdParam(p: QueryParams): string {
  const v = p.required('VersionId');
  if (!VERSION_ID.test(v)) throw constraint(v, 'versionId', 'satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?');
  return v;
}

/** An optional boolean parameter (`true` or `false`, as the Query protocol sends it); false when absent. Raises IamValidationError. */
export function flagParam(p: QueryParams, name: string): boolean {
  const v = p.optional(name);
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw new IamValidationError(`Invalid value for parameter ${name}: ${echoed(v)}`);
}

/** An optional enumerated parameter; undefined when absent. Raises IamValidationError naming the allowed values. */
export function optionalOneOf<T extends string>(p: QueryParams, name: string, values: readonly T[]): T | undefined {
  return p.optional(name) === undefined ? undefined : p.oneOf(name, values);
}
