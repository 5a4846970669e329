import { createHash } from 'node:crypto';
import type { KeyService } from '../keys/key-service.js';
import { currentVersion, keyArn, type KeyRecord, type KeyVersion, type RotationState } from '../keys/key-record.js';
import { KeyInvalidStateError, LimitExceededError, UnsupportedOperationError } from '../errors.js';
import type { Page } from '../key-store.js';
import { pageOf } from './paging.js';

/**
 * Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
 * RotateKeyOnDemand, ListKeyRotations. Automatic rotation itself happens when the key is
 * next resolved (or swept) after `nextRotationDate`: see KeyService.resolve.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html (and siblings)
 */

const DAY_MS = 86_400_000;
/** AWS's default and bounds for RotationPeriodInDays. */
export const DEFAULT_ROTATION_DAYS = 365;
/** AWS allows at most 25 on-demand rotations per key over its life. */
export const MAX_ON_DEMAND_ROTATIONS = 25;

/** Rotation applies only to symmetric encryption keys; UnsupportedOperationError otherwise. */
function requireRotatable(key: KeyRecord): void {
  if (key.keySpec !== 'SYMMETRIC_DEFAULT' || key.keyUsage !== 'ENCRYPT_DECRYPT') {
    throw new UnsupportedOperationError(`${keyArn(key)} key rotation is not supported for ${key.keySpec} keys. Only symmetric encryption keys can be rotated.`);
  }
}

function requireCustomerManaged(key: KeyRecord, op: string): void {
  if (key.keyManager === 'AWS') throw new UnsupportedOperationError(`${keyArn(key)} is an AWS managed key; ${op} is not supported. AWS managed keys rotate every year.`);
}

function requireNotPendingDeletion(key: KeyRecord): void {
  if (key.keyState === 'PendingDeletion') throw new KeyInvalidStateError(`${keyArn(key)} is pending deletion.`);
}

/**
 * EnableKeyRotation: automatic rotation every `periodDays` (90–2560, checked on the wire),
 * the next one `periodDays` from now. Raises UnsupportedOperationError (not symmetric, or
 * AWS managed), KeyInvalidStateError (pending deletion), DisabledError (disabled).
 */
export async function enableKeyRotation(keys: KeyService, keyId: string, periodDays = DEFAULT_ROTATION_DAYS): Promise<void> {
  const key = await keys.resolve(keyId);
  requireRotatable(key);
  requireCustomerManaged(key, 'EnableKeyRotation');
  keys.requireEnabled(key);
  const now = keys.deps.clock.now();
  const rotation: RotationState = { enabled: true, periodDays, nextRotationDate: new Date(now.getTime() + periodDays * DAY_MS) };
  await keys.update(key, { rotation });
}

/** DisableKeyRotation. Same errors as EnableKeyRotation. Keeps the period for a later enable. */
export async function disableKeyRotation(keys: KeyService, keyId: string): Promise<void> {
  const key = await keys.resolve(keyId);
  requireRotatable(key);
  requireCustomerManaged(key, 'DisableKeyRotation');
  keys.requireEnabled(key);
  if (key.rotation.enabled) await keys.update(key, { rotation: { enabled: false, periodDays: key.rotation.periodDays } });
}

/** GetKeyRotationStatus: the key (for its id) and its rotation state. UnsupportedOperationError for non-symmetric keys. */
export async function getKeyRotationStatus(keys: KeyService, keyId: string): Promise<KeyRecord> {
  const key = await keys.resolve(keyId);
  requireRotatable(key);
  return key;
}

/**
 * RotateKeyOnDemand: new material now, without moving the automatic schedule (as on AWS).
 * Raises UnsupportedOperationError (not symmetric, AWS managed), DisabledError,
 * KeyInvalidStateError, LimitExceededError after 25 on-demand rotations.
 */
export async function rotateKeyOnDemand(keys: KeyService, keyId: string): Promise<KeyRecord> {
  const key = await keys.resolve(keyId);
  requireRotatable(key);
  requireCustomerManaged(key, 'RotateKeyOnDemand');
  keys.requireEnabled(key);
  requireNotPendingDeletion(key);
  const onDemand = key.versions.filter((v) => v.rotationType === 'ON_DEMAND').length;
  if (onDemand >= MAX_ON_DEMAND_ROTATIONS) {
    throw new LimitExceededError(`${keyArn(key)} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
  }
  const rotated = await keys.rotate(key, 'ON_DEMAND');
  // KeyService.rotate restarts the automatic period; on-demand rotation must not.
  if (key.rotation.enabled) return keys.update(rotated, { rotation: key.rotation });
  return rotated;
}

/** One entry of ListKeyRotations. */
export interface KeyRotationEntry {
  readonly keyId: string;
  readonly keyMaterialId: string;
  readonly current: boolean;
  readonly rotationDate?: Date;
  readonly rotationType?: 'AUTOMATIC' | 'ON_DEMAND';
}

/**
 * ListKeyRotations: completed rotations, oldest first; with `includeAll`, the original
 * material first as well (IncludeKeyMaterial=ALL_KEY_MATERIAL). UnsupportedOperationError
 * for non-symmetric keys; InvalidMarkerError for a foreign marker.
 */
export async function listKeyRotations(keys: KeyService, keyId: string, limit: number, marker: string | undefined, includeAll: boolean): Promise<Page<KeyRotationEntry>> {
  const key = await keys.resolve(keyId);
  requireRotatable(key);
  const current = currentVersion(key).version;
  const entries = key.versions.filter((v) => includeAll || v.version > 1).map((v) => rotationEntry(key, v, current));
  return pageOf(entries, limit, marker);
}

function rotationEntry(key: KeyRecord, v: KeyVersion, current: number): KeyRotationEntry {
  return {
    keyId: key.keyId,
    keyMaterialId: keyMaterialId(key.keyId, v.version),
    current: v.version === current,
    ...(v.version > 1 ? { rotationDate: v.createdAt } : {}),
    ...(v.version > 1 ? { rotationType: v.rotationType ?? 'AUTOMATIC' } : {}),
  };
}

/** A stable, non-secret 64-hex identifier for one material version (AWS's KeyMaterialId shape). */
export function keyMaterialId(keyId: string, version: number): string {
  return createHash('sha256').update(`cipherlake-key-material:${keyId}:${version}`).digest('hex');
}
