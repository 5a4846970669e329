import { echoed } from '../../common/bounded-echo.js';
import { DeleteConflictError, IamLimitExceededError, IamValidationError, NoSuchEntityError } from '../errors.js';
import { checkName, checkPath, checkPolicy, checkPolicyQuota, iamArn, newUniqueId, policySize, POLICY_SIZE_QUOTAS, type IamDeps } from '../iam-context.js';
import type { InlinePolicy, ManagedPolicyRecord, PolicyOwnerKind } from '../identity-store.js';
import { getRole } from './roles.js';
import { getUser } from './users.js';

/** The owner's canonical name (as stored), raising NoSuchEntityError if it does not exist. */
async function owner(deps: IamDeps, kind: PolicyOwnerKind, name: string): Promise<string> {
  return kind === 'user' ? (await getUser(deps, name)).userName : (await getRole(deps, name)).roleName;
}

/**
 * Creates or replaces an inline policy of a user or role.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html (and PutRolePolicy)
 * Raises NoSuchEntityError, IamValidationError, IamMalformedPolicyError, IamLimitExceededError.
 */
export async function putInlinePolicy(deps: IamDeps, kind: PolicyOwnerKind, name: string, policyName: string, document: string): Promise<void> {
  const who = await owner(deps, kind, name);
  checkName(policyName, 'PolicyName', 128);
  // Malformed before over quota: a document that does not parse is MalformedPolicyDocument whatever its size.
  checkPolicy(document, 'identity');
  // Checked against the owner's other policies as the store writes, in one transaction: two
  // concurrent puts cannot both fit on what each saw and together go over the quota.
  await deps.store.putInlinePolicy(kind, who, policyName, document, (others) => checkInlineAggregate(kind, who, document, others));
  deps.onChange?.({ principalName: who });
}

/**
 * IAM limits the inline policies of one user or role together, not each one: their sizes
 * (policySize, whitespace not counted) may not add up past POLICY_SIZE_QUOTAS[kind], counting
 * `document` in place of the policy of the same name it replaces (not among `others`). Raises
 * IamLimitExceededError in IAM's wording ("Maximum policy size of 2048 bytes exceeded for
 * user NAME", quoted in aws-cdk#18531 and HumanCellAtlas/data-store#1963).
 */
function checkInlineAggregate(kind: PolicyOwnerKind, who: string, document: string, others: readonly InlinePolicy[]): void {
  const quota = POLICY_SIZE_QUOTAS[kind];
  let total = policySize(document);
  for (const p of others) total += policySize(p.document);
  if (total > quota) throw new IamLimitExceededError(`Maximum policy size of ${quota} bytes exceeded for ${kind} ${who}`);
}

/** An inline policy's document; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUserPolicy.html */
export async function getInlinePolicy(deps: IamDeps, kind: PolicyOwnerKind, name: string, policyName: string): Promise<string> {
  const who = await owner(deps, kind, name);
  const document = await deps.store.getInlinePolicy(kind, who, policyName);
  if (document === undefined) throw new NoSuchEntityError(`The ${kind} policy with name ${echoed(policyName)} cannot be found.`);
  return document;
}

/** Deletes an inline policy; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUserPolicy.html */
export async function deleteInlinePolicy(deps: IamDeps, kind: PolicyOwnerKind, name: string, policyName: string): Promise<void> {
  const who = await owner(deps, kind, name);
  if (!(await deps.store.deleteInlinePolicy(kind, who, policyName))) throw new NoSuchEntityError(`The ${kind} policy with name ${echoed(policyName)} cannot be found.`);
  deps.onChange?.({ principalName: who });
}

/** A managed policy's path, IAM's policyPathType (botocore's iam service-2.json): `/`, or `/`-separated segments of [A-Za-z0-9.,+@=_-] ending in `/`. */
export const POLICY_PATH = /^(?:\/[A-Za-z0-9.,+@=_-]+)*\/$/;

/**
 * Creates a customer managed policy. https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html
 * Raises IamValidationError, IamLimitExceededError (over 6,144 characters), IamMalformedPolicyError,
 * EntityAlreadyExistsError.
 */
export async function createManagedPolicy(deps: IamDeps, req: { policyName: string; document: string; path?: string; description?: string }): Promise<ManagedPolicyRecord> {
  const policyName = checkName(req.policyName, 'PolicyName', 128);
  const path = checkPath(req.path);
  // A policy's Path is policyPathType in IAM's model (botocore's iam service-2.json): segments of
  // [A-Za-z0-9.,+@=_-] only, narrower than the printable ASCII a user's or role's path may hold.
  if (!POLICY_PATH.test(path)) {
    throw new IamValidationError('The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.');
  }
  // Malformed before over quota, as for an inline or trust policy.
  checkPolicy(req.document, 'identity');
  checkPolicyQuota(req.document, 'managed');
  const now = deps.clock.now();
  const record: ManagedPolicyRecord = {
    arn: iamArn(deps.accountId, 'policy', path, policyName),
    policyName,
    policyId: newUniqueId('ANPA'),
    path,
    description: req.description ?? '',
    document: req.document,
    defaultVersionId: 'v1',
    createdAt: now,
    updatedAt: now,
  };
  await deps.store.createManagedPolicy(record);
  return record;
}

/** A managed policy by ARN; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicy.html */
export async function getManagedPolicy(deps: IamDeps, arn: string): Promise<ManagedPolicyRecord> {
  const policy = await deps.store.getManagedPolicy(arn);
  if (policy === undefined) throw new NoSuchEntityError(`Policy ${echoed(arn)} does not exist or is not attachable.`);
  return policy;
}

/**
 * Deletes a managed policy attached to nobody and with only its default version left, as IAM
 * requires; raises NoSuchEntityError, DeleteConflictError (IAM's wording for versions, quoted in
 * rebuy-de/aws-nuke#1). https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html
 */
export async function deleteManagedPolicy(deps: IamDeps, arn: string): Promise<void> {
  await getManagedPolicy(deps, arn);
  if ((await deps.store.countAttachments(arn)) > 0) throw new DeleteConflictError('Cannot delete a policy attached to entities.');
  if ((await deps.store.listPolicyVersions(arn)).length > 1) {
    throw new DeleteConflictError("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.");
  }
  await deps.store.deleteManagedPolicy(arn);
}

/**
 * Attaches a managed policy to a user or role; raises NoSuchEntityError. The ARN's form is the
 * wire layer's check (policyArnParam). https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachUserPolicy.html
 */
export async function attachPolicy(deps: IamDeps, kind: PolicyOwnerKind, name: string, policyArn: string): Promise<void> {
  const who = await owner(deps, kind, name);
  await getManagedPolicy(deps, policyArn);
  await deps.store.attachPolicy(kind, who, policyArn);
  deps.onChange?.({ principalName: who });
}

/** Detaches a managed policy; raises NoSuchEntityError if it was not attached. https://docs.aws.amazon.com/IAM/latest/APIReference/API_DetachUserPolicy.html */
export async function detachPolicy(deps: IamDeps, kind: PolicyOwnerKind, name: string, policyArn: string): Promise<void> {
  const who = await owner(deps, kind, name);
  if (!(await deps.store.detachPolicy(kind, who, policyArn))) throw new NoSuchEntityError(`Policy ${echoed(policyArn)} was not found.`);
  deps.onChange?.({ principalName: who });
}

/** The managed policies attached to a user or role; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedUserPolicies.html */
export async function listAttachedPolicies(deps: IamDeps, kind: PolicyOwnerKind, name: string): Promise<readonly ManagedPolicyRecord[]> {
  const who = await owner(deps, kind, name);
  const arns = await deps.store.listAttachedPolicies(kind, who);
  const found = await Promise.all(arns.map((arn) => deps.store.getManagedPolicy(arn)));
  return found.filter((p): p is ManagedPolicyRecord => p !== undefined);
}
