import { echoed } from '../../common/bounded-echo.js';
import { SecretBytes } from '../../crypto/index.js';
import { IamLimitExceededError, NoSuchEntityError } from '../errors.js';
import type { IamDeps } from '../iam-context.js';
import type { AccessKeyRecord, AccessKeyStatus } from '../identity-store.js';
import { newAccessKeyId, newSecretAccessKey } from '../root-credentials.js';
import { getUser } from './users.js';

/** IAM's quota of access keys per user. */
export const MAX_ACCESS_KEYS_PER_USER = 2;

/** The root-key label that binds a sealed secret to its access key id. */
export function accessKeyLabel(accessKeyId: string): string {
  return `iam-access-key:${accessKeyId}`;
}

/**
 * Creates an access key for the user; the secret is returned once and stored only sealed
 * by the root key. https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
 * Raises NoSuchEntityError, IamLimitExceededError (a third key).
 */
export async function createAccessKey(deps: IamDeps, userName: string): Promise<{ record: AccessKeyRecord; secretAccessKey: string }> {
  const user = await getUser(deps, userName);
  const existing = await deps.store.listAccessKeys(user.userName);
  if (existing.length >= MAX_ACCESS_KEYS_PER_USER) {
    throw new IamLimitExceededError(`Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS_PER_USER}`);
  }
  const accessKeyId = newAccessKeyId('AKIA');
  const secretAccessKey = newSecretAccessKey();
  const sealedSecret = await deps.sealer.wrap(SecretBytes.adopt(Buffer.from(secretAccessKey, 'utf8')), accessKeyLabel(accessKeyId));
  const record: AccessKeyRecord = { accessKeyId, userName: user.userName, status: 'Active', createdAt: deps.clock.now(), sealedSecret };
  await deps.store.createAccessKey(record);
  return { record, secretAccessKey };
}

async function ownedKey(deps: IamDeps, userName: string, accessKeyId: string): Promise<AccessKeyRecord> {
  const key = await deps.store.getAccessKey(accessKeyId);
  if (key === undefined || key.userName.toLowerCase() !== userName.toLowerCase()) {
    throw new NoSuchEntityError(`The Access Key with id ${echoed(accessKeyId)} cannot be found.`);
  }
  return key;
}

/** Deletes a user's access key; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteAccessKey.html */
export async function deleteAccessKey(deps: IamDeps, userName: string, accessKeyId: string): Promise<void> {
  await ownedKey(deps, userName, accessKeyId);
  await deps.store.deleteAccessKey(accessKeyId);
  deps.onChange?.({ accessKeyId });
}

/** Activates or deactivates a key; raises NoSuchEntityError. https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html */
export async function updateAccessKey(deps: IamDeps, userName: string, accessKeyId: string, status: AccessKeyStatus): Promise<void> {
  await ownedKey(deps, userName, accessKeyId);
  await deps.store.setAccessKeyStatus(accessKeyId, status);
  deps.onChange?.({ accessKeyId });
}

/** The user's keys (never their secrets). https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAccessKeys.html */
export async function listAccessKeys(deps: IamDeps, userName: string): Promise<readonly AccessKeyRecord[]> {
  const user = await getUser(deps, userName);
  return deps.store.listAccessKeys(user.userName);
}
