import { KeyAlreadyExistsError, type Page } from '../key-store.js';
import type { KeyService } from '../keys/key-service.js';
import { aliasArn, type AliasRecord, type KeyRecord } from '../keys/key-record.js';
import type { CallContext } from '../kms-context.js';
import { InvalidMarkerError, NotFoundError, ValidationError } from '../errors.js';
import { AWS_ALIAS_PREFIX, checkAliasName, listAliases } from './aliases.js';
import { createKey } from './create-key.js';

/** AWS managed keys rotate every year, always; callers cannot change that. */
const AWS_MANAGED_ROTATION_DAYS = 365;
const DAY_MS = 86_400_000;

/** Creations in flight in this process, so concurrent first uses make one key, not several. */
const inFlight = new WeakMap<KeyService, Map<string, Promise<KeyRecord>>>();

/**
 * The AWS managed key behind a predefined service alias, `alias/aws/s3` or `alias/aws/ebs`,
 * created (key, then alias) on first use, as AWS does when a service first needs it, with the
 * description AWS gives that service's key (PREDEFINED_AWS_ALIASES: the one definition).
 *
 * Race-safe: concurrent calls in this process share one creation; across nodes sharing a
 * store, the alias insert decides the winner and the loser destroys its own unaliased key.
 * The key has KeyManager AWS and yearly automatic rotation that cannot be turned off.
 * Raises ValidationError for a name that is not a predefined AWS alias; never returns a
 * key pending deletion (AWS managed keys cannot be scheduled for deletion).
 */
export async function ensureAwsManagedKey(keys: KeyService, aliasName: string): Promise<KeyRecord> {
  checkAliasName(aliasName);
  const description = Object.hasOwn(PREDEFINED_AWS_ALIASES, aliasName) ? PREDEFINED_AWS_ALIASES[aliasName] : undefined;
  if (!aliasName.startsWith(AWS_ALIAS_PREFIX) || description === undefined) throw new ValidationError(`${aliasName} is not a predefined AWS managed key alias (alias/aws/s3, alias/aws/ebs).`);
  let perService = inFlight.get(keys);
  if (perService === undefined) {
    perService = new Map();
    inFlight.set(keys, perService);
  }
  const pending = perService.get(aliasName);
  if (pending !== undefined) return pending;
  const work = findOrCreate(keys, aliasName, description).finally(() => perService.delete(aliasName));
  perService.set(aliasName, work);
  return work;
}

async function findOrCreate(keys: KeyService, aliasName: string, description: string): Promise<KeyRecord> {
  const existing = await existingKey(keys, aliasName);
  if (existing !== undefined) return existing;
  const { clock, settings, store } = keys.deps;
  const created = await createKey(
    keys,
    { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description, tags: [], keyManager: 'AWS', policy: awsManagedKeyPolicy(settings.accountId, settings.region, aliasName) },
    serviceCall(settings.accountId, aliasName),
  );
  const now = clock.now();
  const key = await keys.update(created, {
    rotation: { enabled: true, periodDays: AWS_MANAGED_ROTATION_DAYS, nextRotationDate: new Date(now.getTime() + AWS_MANAGED_ROTATION_DAYS * DAY_MS) },
  });
  try {
    await store.createAlias({ aliasName, targetKeyId: key.keyId, createdAt: now, lastUpdatedAt: now });
    return key;
  } catch (err) {
    if (!(err instanceof KeyAlreadyExistsError)) throw err;
    // Another node won the race: drop our key (never used, never aliased) and use theirs.
    await keys.destroy(key.keyId);
    const winner = await existingKey(keys, aliasName);
    if (winner === undefined) throw new NotFoundError(`Alias ${aliasName} vanished while it was being created.`);
    return winner;
  }
}

/**
 * The predefined AWS aliases of the services Cipherlake runs (S3, EBS), with the description
 * AWS gives each one's key. Only these: any other alias/aws/* names no key we could make.
 */
const PREDEFINED_AWS_ALIASES: Readonly<Record<string, string>> = {
  'alias/aws/s3': 'Default key that protects my S3 objects when no other key is defined',
  'alias/aws/ebs': 'Default key that protects my EBS volumes when no other key is defined',
};

/**
 * DescribeKey's key. A predefined AWS alias (alias/aws/s3, alias/aws/ebs, by name or alias
 * ARN) whose AWS managed key does not exist yet gets it created and returned, as the
 * DescribeKey reference says ("KMS associates the alias with an AWS managed key and returns
 * its KeyId and Arn"). Raises what `keys.resolve` raises otherwise (NotFoundError…).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html
 */
export async function describeKey(keys: KeyService, keyId: string): Promise<KeyRecord> {
  try {
    return await keys.resolve(keyId);
  } catch (err) {
    const { region, accountId } = keys.deps.settings;
    const alias = Object.keys(PREDEFINED_AWS_ALIASES).find((name) => keyId === name || keyId === aliasArn(region, accountId, name));
    if (!(err instanceof NotFoundError) || alias === undefined) throw err;
    return ensureAwsManagedKey(keys, alias);
  }
}

/** An alias as ListAliases lists it: a stored one, or a predefined AWS alias with no key yet (no target). */
export type ListedAlias = AliasRecord | { readonly aliasName: string; readonly targetKeyId?: undefined };

/** Marks a ListAliases page of the predefined aliases, listed after every stored alias. */
const PREDEFINED_PAGE = 'p1:';

/**
 * ListAliases. With `keyId`, the aliases of that key (as listAliases). Without, every stored
 * alias, then the predefined AWS aliases (alias/aws/s3, alias/aws/ebs) whose AWS managed key
 * does not exist yet, with no target: "The response might also include aliases that have no
 * TargetKeyId field. These are predefined aliases that AWS has created but has not yet
 * associated with a KMS key." (https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html).
 * A predefined alias is never listed twice. Raises what listAliases raises (InvalidMarkerError,
 * NotFoundError, ValidationError); never creates a key.
 */
export async function listAliasesWithPredefined(keys: KeyService, limit: number, marker?: string, keyId?: string): Promise<Page<ListedAlias>> {
  if (keyId !== undefined) return listAliases(keys, limit, marker, keyId);
  const from = predefinedPageStart(marker);
  const stored: Page<ListedAlias> = from === undefined ? await listAliases(keys, limit, marker) : { items: [] };
  if (stored.nextMarker !== undefined) return stored;
  const unbound: string[] = [];
  for (const name of Object.keys(PREDEFINED_AWS_ALIASES).sort()) if ((await keys.deps.store.getAlias(name)) === undefined) unbound.push(name);
  const start = from ?? 0;
  const taken = unbound.slice(start, start + limit - stored.items.length).map((aliasName) => ({ aliasName }));
  const end = start + taken.length;
  const nextMarker = end < unbound.length ? Buffer.from(`${PREDEFINED_PAGE}${end}`, 'utf8').toString('base64url') : undefined;
  return { items: [...stored.items, ...taken], ...(nextMarker !== undefined ? { nextMarker } : {}) };
}

/** The index a predefined-alias marker resumes at; undefined for any other marker (the store's to judge). */
function predefinedPageStart(marker: string | undefined): number | undefined {
  if (marker === undefined) return undefined;
  const text = Buffer.from(marker, 'base64url').toString('utf8');
  if (!text.startsWith(PREDEFINED_PAGE)) return undefined;
  const n = Number(text.slice(PREDEFINED_PAGE.length));
  if (!Number.isInteger(n) || n < 0) throw new InvalidMarkerError('The marker is not valid.');
  return n;
}

async function existingKey(keys: KeyService, aliasName: string): Promise<KeyRecord | undefined> {
  const alias = await keys.deps.store.getAlias(aliasName);
  return alias === undefined ? undefined : keys.resolve(alias.targetKeyId);
}

function serviceName(aliasName: string): string {
  const service = aliasName.slice(AWS_ALIAS_PREFIX.length).split('/')[0] ?? '';
  return service === 'ebs' ? 'ec2' : service;
}

function serviceCall(accountId: string, aliasName: string): CallContext {
  const service = `${serviceName(aliasName)}.amazonaws.com`;
  return {
    principal: { type: 'AWSService', arn: service, accountId, principalId: service },
    sourceIp: '127.0.0.1',
    secureTransport: true,
    viaService: service,
  };
}

/**
 * The policy AWS gives an AWS managed key: the account may use it only through the
 * service, and may read its metadata directly.
 */
function awsManagedKeyPolicy(accountId: string, region: string, aliasName: string): string {
  const service = serviceName(aliasName);
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Id: `auto-${service}-1`,
      Statement: [
        {
          Sid: `Allow access through ${service} for all principals in the account that are authorized to use ${service}`,
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:CallerAccount': accountId, 'kms:ViaService': `${service}.${region}.amazonaws.com` } },
        },
        metadataReadStatement(accountId),
      ],
    },
    null,
    2,
  );
}

/** The statement of an AWS managed key's policy that lets the account read the key's metadata (and public key) directly, and nothing else. */
export function metadataReadStatement(accountId: string): Record<string, unknown> {
  return {
    Sid: 'Allow direct access to key metadata to the account',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${accountId}:root` },
    Action: ['kms:Describe*', 'kms:Get*', 'kms:List*'],
    Resource: '*',
  };
}
