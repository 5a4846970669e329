/**
 * Managed policy versions: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
 * A policy has v1 from its creation and at most MAX_POLICY_VERSIONS versions; exactly one is
 * the default, the one evaluation uses (the store keeps it as the policy's document).
 */
import { echoed } from '../../common/bounded-echo.js';
import { DeleteConflictError, IamLimitExceededError, NoSuchEntityError } from '../errors.js';
import { checkPolicy, checkPolicyQuota, type IamDeps } from '../iam-context.js';
import type { PolicyVersionRecord } from '../identity-store.js';
import { getManagedPolicy } from './policies.js';

/** Versions one managed policy may have ("A managed policy can have up to five versions", IAM quotas). */
export const MAX_POLICY_VERSIONS = 5;

function noSuchVersion(arn: string, versionId: string): NoSuchEntityError {
  return new NoSuchEntityError(`Policy ${echoed(arn)} version ${echoed(versionId)} does not exist or is not attachable.`);
}

/** Drops the cached policies of everyone the policy is attached to: what evaluation uses for them changed. */
async function policyChanged(deps: IamDeps, arn: string): Promise<void> {
  for (const a of await deps.store.listPolicyAttachments(arn)) deps.onChange?.({ principalName: a.owner });
}

/**
 * Adds a version to a managed policy, the default when `setAsDefault`.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html
 * Raises NoSuchEntityError, IamMalformedPolicyError, IamLimitExceededError (over 6,144
 * characters, or a sixth version: IAM's wording, quoted in 99designs/iamy#21). The quota is
 * checked in the store's transaction, so concurrent creates never make a sixth.
 */
export async function createPolicyVersion(deps: IamDeps, arn: string, document: string, setAsDefault: boolean): Promise<PolicyVersionRecord> {
  await getManagedPolicy(deps, arn);
  // Malformed before over quota, as CreatePolicy.
  checkPolicy(document, 'identity');
  checkPolicyQuota(document, 'managed');
  const created = await deps.store.createPolicyVersion(arn, document, setAsDefault, deps.clock.now(), (existing) => {
    if (existing.length >= MAX_POLICY_VERSIONS) {
      throw new IamLimitExceededError(`A managed policy can have up to ${MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.`);
    }
  });
  // Deleted between the read above and the write.
  if (created === undefined) throw new NoSuchEntityError(`Policy ${echoed(arn)} does not exist or is not attachable.`);
  if (setAsDefault) await policyChanged(deps, arn);
  return created;
}

/** One version with its document; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicyVersion.html */
export async function getPolicyVersion(deps: IamDeps, arn: string, versionId: string): Promise<PolicyVersionRecord> {
  const found = (await listPolicyVersions(deps, arn)).find((v) => v.versionId === versionId);
  if (found === undefined) throw noSuchVersion(arn, versionId);
  return found;
}

/** The policy's versions, newest first; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicyVersions.html */
export async function listPolicyVersions(deps: IamDeps, arn: string): Promise<readonly PolicyVersionRecord[]> {
  await getManagedPolicy(deps, arn);
  return deps.store.listPolicyVersions(arn);
}

/**
 * Deletes a version that is not the default. https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicyVersion.html
 * Raises NoSuchEntityError, DeleteConflictError (the default version: delete the policy instead).
 */
export async function deletePolicyVersion(deps: IamDeps, arn: string, versionId: string): Promise<void> {
  const version = await getPolicyVersion(deps, arn, versionId);
  if (version.isDefault) throw new DeleteConflictError('Cannot delete the default version of a policy.');
  // False: it became the default (or went) since the read; report what is true now.
  if (!(await deps.store.deletePolicyVersion(arn, versionId))) {
    const now = (await deps.store.listPolicyVersions(arn)).find((v) => v.versionId === versionId);
    if (now?.isDefault === true) throw new DeleteConflictError('Cannot delete the default version of a policy.');
    throw noSuchVersion(arn, versionId);
  }
}

/**
 * Makes a version the default: from now on evaluation uses its document for everyone the
 * policy is attached to. https://docs.aws.amazon.com/IAM/latest/APIReference/API_SetDefaultPolicyVersion.html
 * Raises NoSuchEntityError.
 */
export async function setDefaultPolicyVersion(deps: IamDeps, arn: string, versionId: string): Promise<void> {
  await getManagedPolicy(deps, arn);
  if (!(await deps.store.setDefaultPolicyVersion(arn, versionId))) throw noSuchVersion(arn, versionId);
  await policyChanged(deps, arn);
}
