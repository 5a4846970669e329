import type { KeyService } from '../keys/key-service.js';
import { keyArn, type KeyRecord } from '../keys/key-record.js';
import { KeyInvalidStateError, UnsupportedOperationError, ValidationError } from '../errors.js';

/**
 * Lifecycle operations that change a key's state: EnableKey, DisableKey,
 * UpdateKeyDescription, ScheduleKeyDeletion, CancelKeyDeletion.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Operations.html
 */

function requireCustomerManaged(key: KeyRecord, op: string): void {
  if (key.keyManager === 'AWS') throw new UnsupportedOperationError(`${keyArn(key)} is an AWS managed key; ${op} is not supported`);
}

function requireNotPendingDeletion(key: KeyRecord): void {
  if (key.keyState === 'PendingDeletion') throw new KeyInvalidStateError(`${keyArn(key)} is pending deletion.`);
}

/** EnableKey. Raises KeyInvalidStateError for a key pending deletion. */
export async function enableKey(keys: KeyService, keyId: string): Promise<void> {
  const key = await keys.resolve(keyId);
  requireCustomerManaged(key, 'EnableKey');
  requireNotPendingDeletion(key);
  if (key.keyState !== 'Enabled') await keys.update(key, { keyState: 'Enabled' });
}

/** DisableKey. Raises KeyInvalidStateError for a key pending deletion. */
export async function disableKey(keys: KeyService, keyId: string): Promise<void> {
  const key = await keys.resolve(keyId);
  requireCustomerManaged(key, 'DisableKey');
  requireNotPendingDeletion(key);
  if (key.keyState !== 'Disabled') await keys.update(key, { keyState: 'Disabled' });
}

/** UpdateKeyDescription. */
export async function updateKeyDescription(keys: KeyService, keyId: string, description: string): Promise<void> {
  const key = await keys.resolve(keyId);
  requireCustomerManaged(key, 'UpdateKeyDescription');
  requireNotPendingDeletion(key);
  await keys.update(key, { description });
}

/**
 * ScheduleKeyDeletion: 7–30 days (default 30). The key is destroyed, material and all,
 * the first time it is touched (or swept) after the deletion date.
 */
export async function scheduleKeyDeletion(keys: KeyService, keyId: string, pendingWindowDays = 30): Promise<KeyRecord> {
  if (!Number.isInteger(pendingWindowDays) || pendingWindowDays < 7 || pendingWindowDays > 30) {
    throw new ValidationError('1 validation error detected: Value at \'pendingWindowInDays\' failed to satisfy constraint: Member must have value between 7 and 30');
  }
  const key = await keys.resolve(keyId);
  requireCustomerManaged(key, 'ScheduleKeyDeletion');
  requireNotPendingDeletion(key);
  const now = keys.deps.clock.now();
  return keys.update(key, {
    keyState: 'PendingDeletion',
    deletionDate: new Date(now.getTime() + pendingWindowDays * 86_400_000),
    pendingWindowDays,
  });
}

/** CancelKeyDeletion: the key comes back Disabled, as on AWS. */
export async function cancelKeyDeletion(keys: KeyService, keyId: string): Promise<KeyRecord> {
  const key = await keys.resolve(keyId);
  if (key.keyState !== 'PendingDeletion') throw new KeyInvalidStateError(`${keyArn(key)} is not pending deletion.`);
  const { deletionDate: _d, pendingWindowDays: _p, ...rest } = key;
  const updated: KeyRecord = { ...rest, keyState: 'Disabled', revision: key.revision + 1 };
  await keys.deps.store.updateKey(updated);
  return updated;
}
