import { echoed } from '../../common/bounded-echo.js';
import { DeleteConflictError, IamValidationError, NoSuchEntityError } from '../errors.js';
import { checkName, checkPath, checkPolicy, checkPolicyQuota, iamArn, newUniqueId, type IamDeps } from '../iam-context.js';
import type { EntityTag, RoleRecord } from '../identity-store.js';

/** MaxSessionDuration bounds IAM accepts (seconds). */
export const MIN_MAX_SESSION = 3600;
export const MAX_MAX_SESSION = 43200;

/**
 * Creates a role with its trust policy. https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
 * Raises IamValidationError, IamLimitExceededError (trust policy over 2,048 characters),
 * IamMalformedPolicyError, EntityAlreadyExistsError. `tags` arrive checked by the wire layer
 * (at most 50, no key twice) and are stored as given.
 */
export async function createRole(
  deps: IamDeps,
  req: { roleName: string; trustPolicy: string; path?: string; description?: string; maxSessionDuration?: number; tags?: readonly EntityTag[] },
): Promise<RoleRecord> {
  const roleName = checkName(req.roleName, 'RoleName', 64);
  const path = checkPath(req.path);
  // Malformed before over quota: a document that does not parse is MalformedPolicyDocument whatever its size.
  checkPolicy(req.trustPolicy, 'trust');
  checkPolicyQuota(req.trustPolicy, 'trust');
  const maxSessionDuration = req.maxSessionDuration ?? MIN_MAX_SESSION;
  if (maxSessionDuration < MIN_MAX_SESSION || maxSessionDuration > MAX_MAX_SESSION) {
    throw new IamValidationError(`1 validation error detected: Value '${maxSessionDuration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between ${MIN_MAX_SESSION} and ${MAX_MAX_SESSION}`);
  }
  const role: RoleRecord = {
    roleName,
    roleId: newUniqueId('AROA'),
    arn: iamArn(deps.accountId, 'role', path, roleName),
    path,
    createdAt: deps.clock.now(),
    description: req.description ?? '',
    trustPolicy: req.trustPolicy,
    maxSessionDuration,
    tags: req.tags ?? [],
  };
  await deps.store.createRole(role);
  return role;
}

/** The named role; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html */
export async function getRole(deps: IamDeps, roleName: string): Promise<RoleRecord> {
  const role = await deps.store.getRole(roleName);
  if (role === undefined) throw new NoSuchEntityError(`The role with name ${echoed(roleName)} cannot be found.`);
  return role;
}

/**
 * Replaces a role's trust policy. https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html
 * Raises NoSuchEntityError, IamMalformedPolicyError, IamLimitExceededError (over 2,048 characters),
 * in that order, as CreateRole checks the document. Sessions already issued stay valid.
 */
export async function updateAssumeRolePolicy(deps: IamDeps, roleName: string, trustPolicy: string): Promise<void> {
  const role = await getRole(deps, roleName);
  checkPolicy(trustPolicy, 'trust');
  checkPolicyQuota(trustPolicy, 'trust');
  if (!(await deps.store.updateRoleTrustPolicy(role.roleName, trustPolicy))) throw new NoSuchEntityError(`The role with name ${echoed(roleName)} cannot be found.`);
}

/** Every role under `pathPrefix` (default: all), by name. https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html */
export async function listRoles(deps: IamDeps, req: { pathPrefix?: string }): Promise<readonly RoleRecord[]> {
  const roles = await deps.store.listRoles();
  return req.pathPrefix === undefined ? roles : roles.filter((r) => r.path.startsWith(req.pathPrefix ?? '/'));
}

/**
 * Deletes a role without policies. Sessions already issued stay valid until they expire,
 * as on AWS, but lose the role's policies and tags, and do not get those of a new role
 * created under the same name (a session is bound to the role id). https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html
 * Raises NoSuchEntityError or DeleteConflictError.
 */
export async function deleteRole(deps: IamDeps, roleName: string): Promise<void> {
  const role = await getRole(deps, roleName);
  const [inline, attached] = await Promise.all([deps.store.listInlinePolicies('role', role.roleName), deps.store.listAttachedPolicies('role', role.roleName)]);
  if (inline.length > 0 || attached.length > 0) throw new DeleteConflictError('Cannot delete entity, must detach all policies first.');
  await deps.store.deleteRole(role.roleName);
  deps.onChange?.({ principalName: role.roleName });
}
