import { KeyAlreadyExistsError, KeyNotFoundError, type Page } from '../key-store.js';
import type { KeyService } from '../keys/key-service.js';
import { aliasArn, keyArn, type AliasRecord, type KeyRecord, type KeySpec } from '../keys/key-record.js';
import { AlreadyExistsError, InvalidAliasNameError, KeyInvalidStateError, NotFoundError, UnsupportedOperationError, ValidationError } from '../errors.js';

/**
 * Alias management: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html (and siblings)
 */

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;
/** Prefix AWS reserves for the aliases of AWS managed keys (alias/aws/s3, alias/aws/ebs…). */
export const AWS_ALIAS_PREFIX = 'alias/aws/';

/**
 * Raises ValidationError unless `name` is `alias/` followed by 1–250 of [a-zA-Z0-9/_-]
 * (256 characters in all), as AWS checks it.
 */
export function checkAliasName(name: string): void {
  if (name.length < 1 || name.length > 256) {
    throw new ValidationError(`1 validation error detected: Value '${name.slice(0, 64)}' at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256`);
  }
  if (!name.startsWith('alias/')) {
    throw new ValidationError('Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
  }
  if (!ALIAS_NAME.test(name)) {
    throw new ValidationError(`1 validation error detected: Value '${name.slice(0, 64)}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9/_-]+$`);
  }
}

/**
 * Prefix reserved, as alias/aws/ is, for the keys the server itself signs with
 * (alias/cipherlake/audit-digests, alias/cipherlake/cloudtrail-digests): a caller who could
 * point one at a key of their own, or delete it, could have the next start sign digests with
 * that key, or with a new one `audit public-key` would then hand out.
 */
export const SERVICE_ALIAS_PREFIX = 'alias/cipherlake/';

function requireCustomerAlias(name: string): void {
  if (name.startsWith(AWS_ALIAS_PREFIX)) {
    throw new InvalidAliasNameError(`Alias names that begin with ${AWS_ALIAS_PREFIX} are reserved for AWS managed keys: ${name}`);
  }
  if (name.startsWith(SERVICE_ALIAS_PREFIX)) {
    throw new InvalidAliasNameError(`Alias names that begin with ${SERVICE_ALIAS_PREFIX} are reserved for Cipherlake's own keys: ${name}`);
  }
}

/** The target of CreateAlias/UpdateAlias: a key id or key ARN of a customer managed key, not pending deletion. */
async function aliasTarget(keys: KeyService, targetKeyId: string): Promise<KeyRecord> {
  if (targetKeyId.startsWith('alias/') || /^arn:[^:]*:kms:[^:]*:[^:]*:alias\//.test(targetKeyId)) {
    throw new ValidationError('Aliases must refer to keys. Not aliases');
  }
  const key = await keys.resolve(targetKeyId);
  if (key.keyManager === 'AWS') throw new UnsupportedOperationError(`${keyArn(key)} is an AWS managed key; aliases can only refer to customer managed keys.`);
  if (key.keyState === 'PendingDeletion') throw new KeyInvalidStateError(`${keyArn(key)} is pending deletion.`);
  return key;
}

/**
 * CreateAlias. Raises ValidationError (malformed name, alias as target),
 * InvalidAliasNameError (alias/aws/*, alias/cipherlake/*), NotFoundError (no such key), KeyInvalidStateError
 * (key pending deletion), AlreadyExistsError.
 */
export async function createAlias(keys: KeyService, aliasName: string, targetKeyId: string): Promise<void> {
  checkAliasName(aliasName);
  requireCustomerAlias(aliasName);
  const key = await aliasTarget(keys, targetKeyId);
  const now = keys.deps.clock.now();
  try {
    await keys.deps.store.createAlias({ aliasName, targetKeyId: key.keyId, createdAt: now, lastUpdatedAt: now });
  } catch (err) {
    if (err instanceof KeyAlreadyExistsError) throw new AlreadyExistsError(`An alias with the name ${aliasArnOf(keys, aliasName)} already exists`);
    throw err;
  }
}

type KeyType = 'SYMMETRIC' | 'ASYMMETRIC' | 'HMAC';
function keyType(spec: KeySpec): KeyType {
  if (spec === 'SYMMETRIC_DEFAULT') return 'SYMMETRIC';
  return spec.startsWith('HMAC_') ? 'HMAC' : 'ASYMMETRIC';
}

/**
 * UpdateAlias: points an existing alias at another key of the same type and usage.
 * Raises NotFoundError (alias or key), ValidationError (type or usage differs),
 * InvalidAliasNameError (alias/aws/*, alias/cipherlake/*), KeyInvalidStateError.
 */
export async function updateAlias(keys: KeyService, aliasName: string, targetKeyId: string): Promise<void> {
  checkAliasName(aliasName);
  requireCustomerAlias(aliasName);
  const { store } = keys.deps;
  const alias = await store.getAlias(aliasName);
  if (alias === undefined) throw new NotFoundError(`Alias ${aliasArnOf(keys, aliasName)} is not found.`);
  const next = await aliasTarget(keys, targetKeyId);
  const current = await store.getKey(alias.targetKeyId).catch((err: unknown) => {
    if (err instanceof KeyNotFoundError) return undefined;
    throw err;
  });
  if (current !== undefined && (keyType(current.keySpec) !== keyType(next.keySpec) || current.keyUsage !== next.keyUsage)) {
    throw new ValidationError(`${keyArn(next)} is not the same key type and key usage as the key the alias currently refers to (${keyArn(current)}).`);
  }
  const updated: AliasRecord = { ...alias, targetKeyId: next.keyId, lastUpdatedAt: keys.deps.clock.now() };
  await store.updateAlias(updated);
}

/** DeleteAlias. Raises NotFoundError, InvalidAliasNameError (alias/aws/*, alias/cipherlake/*). The key is untouched. */
export async function deleteAlias(keys: KeyService, aliasName: string): Promise<void> {
  checkAliasName(aliasName);
  const alias = await keys.deps.store.getAlias(aliasName);
  if (alias === undefined) throw new NotFoundError(`Alias ${aliasArnOf(keys, aliasName)} is not found.`);
  requireCustomerAlias(aliasName);
  try {
    await keys.deps.store.deleteAlias(aliasName);
  } catch (err) {
    if (err instanceof KeyNotFoundError) throw new NotFoundError(`Alias ${aliasArnOf(keys, aliasName)} is not found.`);
    throw err;
  }
}

/**
 * ListAliases: all aliases sorted by name, or those of one key (`keyId`: key id or ARN;
 * NotFoundError if there is no such key). Aliases of keys pending deletion are listed.
 */
export async function listAliases(keys: KeyService, limit: number, marker?: string, keyId?: string): Promise<Page<AliasRecord>> {
  if (keyId === undefined) return keys.deps.store.listAliases(limit, marker);
  if (keyId.startsWith('alias/') || /^arn:[^:]*:kms:[^:]*:[^:]*:alias\//.test(keyId)) {
    throw new ValidationError('KeyId must be a key ID or key ARN, not an alias.');
  }
  const key = await keys.resolve(keyId);
  return keys.deps.store.listAliases(limit, marker, key.keyId);
}

/** The ARN of an alias in this installation's region and account. */
export function aliasArnOf(keys: KeyService, aliasName: string): string {
  return aliasArn(keys.deps.settings.region, keys.deps.settings.accountId, aliasName);
}
