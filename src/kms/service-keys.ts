import { createKey } from './operations/create-key.js';
import type { KeyRecord } from './keys/key-record.js';
import type { KeyService } from './keys/key-service.js';
import { rootPrincipal } from '../iam/root-credentials.js';

/**
 * The AWS-managed SIGN_VERIFY key `aliasName` names, created (as the account's root, with
 * `keySpec`) and aliased when there is none: the keys the server itself signs with.
 */
export async function openServiceKey(keys: KeyService, aliasName: string, keySpec: 'RSA_2048' | 'ECC_NIST_P256', description: string): Promise<KeyRecord> {
  const { store, settings, clock } = keys.deps;
  const alias = await store.getAlias(aliasName);
  if (alias !== undefined) return store.getKey(alias.targetKeyId);
  const key = await createKey(keys, { keySpec, keyUsage: 'SIGN_VERIFY', description, tags: [], keyManager: 'AWS' }, { principal: rootPrincipal(settings.accountId), sourceIp: '', secureTransport: true });
  const now = clock.now();
  await store.createAlias({ aliasName, targetKeyId: key.keyId, createdAt: now, lastUpdatedAt: now });
  return key;
}
