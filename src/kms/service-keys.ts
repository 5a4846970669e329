import { metadataReadStatement } from './operations/aws-managed-key.js';
import { createKey } from './operations/create-key.js';
import { keyArn, type KeyRecord, type KeySpec } from './keys/key-record.js';
import { KmsInternalError } from './errors.js';
import type { KeyService } from './keys/key-service.js';
import { rootPrincipal } from '../iam/root-credentials.js';

/**
 * The policy of a key the server itself signs with (the audit key, the CloudTrail digest key):
 * the account may read its metadata and public key, and nobody may use it through the API. An
 * API caller able to sign with it could forge the trail's digests (or an export's), as a
 * CloudTrail customer cannot sign with CloudTrail's key. AWS managed keys' use is decided by
 * their policy even for the account root (key-authorizer's MANAGED_KEY_USE), so this policy
 * refuses the root's kms:Sign too, and IAM policies cannot grant what it does not delegate.
 */
export function serviceKeyPolicy(accountId: string): string {
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'cipherlake-service-signing-key',
      Statement: [metadataReadStatement(accountId)],
    },
    null,
    2,
  );
}

/**
 * Whether `key` is a signing key the server made for itself (AWS managed, `keySpec`,
 * SIGN_VERIFY): what the server signs with, and what the offline commands (`audit
 * public-key`, `audit export --bucket`) read from metadata.db. An alias naming any other key
 * was repointed (through the API before alias/cipherlake/ was reserved, or in metadata.db):
 * its key may be usable by someone else, who could then sign digests it would vouch for.
 */
export function isServiceSigningKey(key: Pick<KeyRecord, 'keyManager' | 'keySpec' | 'keyUsage'>, keySpec: KeySpec): boolean {
  return key.keyManager === 'AWS' && key.keySpec === keySpec && key.keyUsage === 'SIGN_VERIFY';
}

/**
 * The AWS-managed SIGN_VERIFY key `aliasName` names, created (as the account's root, with
 * `keySpec` and serviceKeyPolicy) and aliased when there is none: the keys the server itself
 * signs with, inside the key service only. A key an earlier version made with the default
 * policy (which let the root and IAM policies sign with it through the API) gets
 * serviceKeyPolicy now. Raises KmsInternalError when the alias names any other kind of key.
 */
export async function openServiceKey(keys: KeyService, aliasName: string, keySpec: KeySpec, description: string): Promise<KeyRecord> {
  const { store, settings, clock } = keys.deps;
  const policy = serviceKeyPolicy(settings.accountId);
  const alias = await store.getAlias(aliasName);
  if (alias !== undefined) {
    const key = await store.getKey(alias.targetKeyId);
    // Only a key the server made is taken: an alias repointed at another key (through the API
    // before alias/cipherlake/ was reserved, or in metadata.db) would have it sign with a key
    // someone else can use, so the server refuses to start instead.
    if (!isServiceSigningKey(key, keySpec)) {
      throw new KmsInternalError(`${aliasName} names ${keyArn(key)}, a ${key.keyManager === 'AWS' ? 'AWS managed' : 'customer managed'} ${key.keySpec} ${key.keyUsage} key, not the ${keySpec} signing key the server made: point it back, or restore metadata.db`);
    }
    return key.policy === policy ? key : keys.update(key, { policy });
  }
  const key = await createKey(keys, { keySpec, keyUsage: 'SIGN_VERIFY', description, tags: [], keyManager: 'AWS', policy }, { principal: rootPrincipal(settings.accountId), sourceIp: '', secureTransport: true });
  const now = clock.now();
  await store.createAlias({ aliasName, targetKeyId: key.keyId, createdAt: now, lastUpdatedAt: now });
  return key;
}
