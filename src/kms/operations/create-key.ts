import { randomUUID } from 'node:crypto';
import type { CallContext } from '../kms-context.js';
import type { KeyService } from '../keys/key-service.js';
import { generateMaterial } from '../keys/key-material.js';
import { materialLabel, type KeyManager, type KeyRecord, type KeySpec, type KeyUsage, type Tag } from '../keys/key-record.js';
import { ValidationError } from '../errors.js';
import { defaultKeyPolicy } from '../keys/default-policy.js';

export interface CreateKeyRequest {
  readonly keySpec: KeySpec;
  readonly keyUsage: KeyUsage;
  readonly description: string;
  readonly policy?: string;
  readonly tags: readonly Tag[];
  readonly keyManager?: KeyManager;
}

const USAGES_BY_SPEC: Record<KeySpec, readonly KeyUsage[]> = {
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY'],
  ECC_NIST_P384: ['SIGN_VERIFY'],
  ECC_NIST_P521: ['SIGN_VERIFY'],
  ECC_SECG_P256K1: ['SIGN_VERIFY'],
  HMAC_224: ['GENERATE_VERIFY_MAC'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
  HMAC_384: ['GENERATE_VERIFY_MAC'],
  HMAC_512: ['GENERATE_VERIFY_MAC'],
};

/**
 * Creates a KMS key with fresh material, wrapped by the root key before it is stored.
 * Raises ValidationError for a spec/usage pair AWS does not allow.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
 */
export async function createKey(keys: KeyService, req: CreateKeyRequest, _call: CallContext): Promise<KeyRecord> {
  if (!USAGES_BY_SPEC[req.keySpec].includes(req.keyUsage)) {
    throw new ValidationError(`KeyUsage ${req.keyUsage} is not compatible with KeySpec ${req.keySpec}`);
  }
  const { settings, clock, rootKey, store } = keys.deps;
  const keyId = randomUUID();
  const now = clock.now();
  const material = generateMaterial(req.keySpec);
  try {
    const wrapped = await rootKey.wrap(material.secret, materialLabel(keyId, 1));
    const record: KeyRecord = {
      keyId,
      accountId: settings.accountId,
      region: settings.region,
      createdAt: now,
      description: req.description,
      keySpec: req.keySpec,
      keyUsage: req.keyUsage,
      keyState: 'Enabled',
      keyManager: req.keyManager ?? 'CUSTOMER',
      policy: req.policy ?? defaultKeyPolicy(settings.accountId),
      tags: req.tags,
      rotation: { enabled: false, periodDays: 365 },
      versions: [{ version: 1, createdAt: now, wrappedMaterial: wrapped, ...(material.publicKey ? { publicKey: material.publicKey } : {}) }],
      revision: 1,
    };
    await store.createKey(record);
    return record;
  } finally {
    material.secret.dispose();
  }
}
