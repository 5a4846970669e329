import type { QueryParams } from './query.js';

/** One resource an IAM or STS call names, as the audit record's `resources` lists it. */
export interface IamAuditResource {
  readonly arn: string;
  readonly type: string;
}

// IAM ARN kinds a record lists, by their CloudTrail type; the name must follow the kind's
// path (a listing's `user/` names no one, nor does the account's `root`). The path and the
// name as IAM's grammar has them (printable ASCII path segments; a name of [\w+=,.@-], at most
// 128 for a policy), and the ARN at most 2048 long (a role ARN's limit): AssumeRole's RoleArn
// is not validated before the call is authorized, and what is listed becomes index terms.
const IAM_ARN = /^arn:[\w-]+:iam::\d*:(user|role|policy)\/(?:[\x21-\x2E\x30-\x7E]+\/)*[\w+=,.@-]{1,128}$/;
const MAX_ARN_LENGTH = 2048;
// An access key id as IAM's API has it ([\w]+, at most 128): UpdateAccessKey and
// DeleteAccessKey read it unvalidated.
const ACCESS_KEY_ID = /^\w{1,128}$/;
const TYPES = { user: 'AWS::IAM::User', role: 'AWS::IAM::Role', policy: 'AWS::IAM::Policy' } as const;

// The operations whose request names a managed policy or an access key besides the user or
// role they are authorized on. Only these read the parameter: any other request could carry
// it unread, and must not file its record under a policy or key it never acted on.
const POLICY_ARN_OPERATIONS: ReadonlySet<string> = new Set(['AttachUserPolicy', 'DetachUserPolicy', 'AttachRolePolicy', 'DetachRolePolicy']);
const ACCESS_KEY_OPERATIONS: ReadonlySet<string> = new Set(['UpdateAccessKey', 'DeleteAccessKey']);

/**
 * The users, roles, managed policies and access keys an IAM or STS call names, for its
 * audit record: the resource `operation` was authorized on (`authorized`; undefined when
 * the call failed before that, e.g. an unparsable request: then nothing is listed), the
 * managed policy of an Attach/Detach…Policy, the access key of an Update/DeleteAccessKey,
 * and the access key a CreateAccessKey created (`createdAccessKeyId`). An access key has
 * no ARN: it is listed by its id, as CloudTrail's LookupEvents names it. An ARN or id not of
 * IAM's form (see IAM_ARN, ACCESS_KEY_ID) is not listed. Each once; never
 * throws; [] when none.
 */
export function iamResourcesOf(operation: string, authorized: string | undefined, params: QueryParams, createdAccessKeyId?: string): IamAuditResource[] {
  const listed: IamAuditResource[] = [];
  if (authorized === undefined) return listed;
  const add = (arn: string | undefined, type: string | undefined): void => {
    if (arn === undefined || arn === '' || type === undefined) return;
    if (!listed.some((r) => r.arn === arn)) listed.push({ arn, type });
  };
  add(authorized, iamTypeOf(authorized));
  if (POLICY_ARN_OPERATIONS.has(operation)) {
    const policyArn = params.optional('PolicyArn');
    if (policyArn !== undefined) add(policyArn, iamTypeOf(policyArn) === TYPES.policy ? TYPES.policy : undefined);
  }
  if (ACCESS_KEY_OPERATIONS.has(operation)) {
    const accessKeyId = params.optional('AccessKeyId');
    if (accessKeyId !== undefined && ACCESS_KEY_ID.test(accessKeyId)) add(accessKeyId, 'AWS::IAM::AccessKey');
  }
  add(createdAccessKeyId, 'AWS::IAM::AccessKey');
  return listed;
}

/** The CloudTrail type of an IAM user, role or policy ARN; undefined for any other string. */
function iamTypeOf(arn: string): string | undefined {
  const kind = arn.length > MAX_ARN_LENGTH ? undefined : IAM_ARN.exec(arn)?.[1];
  return kind === undefined ? undefined : TYPES[kind as keyof typeof TYPES];
}
