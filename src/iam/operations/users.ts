import { echoed } from '../../common/bounded-echo.js';
import { DeleteConflictError, NoSuchEntityError } from '../errors.js';
import { checkName, checkPath, iamArn, newUniqueId, type IamDeps } from '../iam-context.js';
import type { EntityTag, UserRecord } from '../identity-store.js';

/**
 * Creates an IAM user. https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
 * Raises IamValidationError for a bad name or path, EntityAlreadyExistsError if taken. `tags`
 * arrive checked by the wire layer (at most 50, no key twice) and are stored as given.
 */
export async function createUser(deps: IamDeps, req: { userName: string; path?: string; tags?: readonly EntityTag[] }): Promise<UserRecord> {
  const userName = checkName(req.userName, 'UserName', 64);
  const path = checkPath(req.path);
  const user: UserRecord = {
    userName,
    userId: newUniqueId('AIDA'),
    arn: iamArn(deps.accountId, 'user', path, userName),
    path,
    createdAt: deps.clock.now(),
    tags: req.tags ?? [],
  };
  await deps.store.createUser(user);
  return user;
}

/** The named user; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUser.html */
export async function getUser(deps: IamDeps, userName: string): Promise<UserRecord> {
  const user = await deps.store.getUser(userName);
  if (user === undefined) throw new NoSuchEntityError(`The user with name ${echoed(userName)} cannot be found.`);
  return user;
}

/** Every user, by name. https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUsers.html */
export async function listUsers(deps: IamDeps, req: { pathPrefix?: string }): Promise<readonly UserRecord[]> {
  const users = await deps.store.listUsers();
  return req.pathPrefix === undefined ? users : users.filter((u) => u.path.startsWith(req.pathPrefix ?? '/'));
}

/**
 * Deletes a user that has no access keys and no policies, as IAM requires.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html
 * Raises NoSuchEntityError or DeleteConflictError.
 */
export async function deleteUser(deps: IamDeps, userName: string): Promise<void> {
  const user = await getUser(deps, userName);
  const [keys, inline, attached] = await Promise.all([
    deps.store.listAccessKeys(user.userName),
    deps.store.listInlinePolicies('user', user.userName),
    deps.store.listAttachedPolicies('user', user.userName),
  ]);
  if (keys.length > 0 || inline.length > 0 || attached.length > 0) {
    throw new DeleteConflictError('Cannot delete entity, must delete access keys and policies first.');
  }
  await deps.store.deleteUser(user.userName);
  deps.onChange?.({ principalName: user.userName });
}
