import { createHash, createPublicKey } from 'node:crypto';
import { currentVersion, type KeyRecord } from './keys/key-record.js';
import type { KeyService } from './keys/key-service.js';
import type { KeyStore } from './key-store.js';
import { openServiceKey } from './service-keys.js';

/**
 * The alias of the KMS key that signs exported CloudTrail digest files the way CloudTrail
 * signs its own (SHA256withRSA over CloudTrail's string to sign), so that `aws cloudtrail
 * validate-logs` can check an export in a bucket: an RSA_2048 SIGN_VERIFY key (KeyManager
 * AWS), created on the server's first start beside the audit key, and listed by CloudTrail's
 * ListPublicKeys. The audit key (ECDSA) keeps signing the trail's own digest chain.
 */
export const CLOUDTRAIL_DIGEST_ALIAS = 'alias/cipherlake/cloudtrail-digests';

/** The CloudTrail digest key's spec. */
export const CLOUDTRAIL_DIGEST_KEY_SPEC = 'RSA_2048';

/** The name CloudTrail gives its digest signature algorithm (digest files, S3 metadata). */
export const CLOUDTRAIL_SIGNATURE_ALGORITHM = 'SHA256withRSA';

/** A public key as CloudTrail's ListPublicKeys lists it. */
export interface CloudTrailPublicKey {
  /** PKCS#1 RSAPublicKey DER (what `aws cloudtrail validate-logs` loads). */
  readonly value: Buffer;
  /** Hex; each digest file names the key that signed it by this (digestPublicKeyFingerprint). */
  readonly fingerprint: string;
  /** When the key was created: no digest file it signed is older. */
  readonly validFrom: Date;
}

/** Finds or creates the CloudTrail digest key (the server, at start; never a cluster worker). */
export function openCloudTrailDigestKey(keys: KeyService): Promise<KeyRecord> {
  return openServiceKey(keys, CLOUDTRAIL_DIGEST_ALIAS, CLOUDTRAIL_DIGEST_KEY_SPEC, 'Cipherlake CloudTrail digest file signing key');
}

/** The CloudTrail digest key's public key, or none before the server first created it. */
export async function cloudTrailPublicKeys(store: Pick<KeyStore, 'getAlias' | 'getKey'>): Promise<CloudTrailPublicKey[]> {
  const alias = await store.getAlias(CLOUDTRAIL_DIGEST_ALIAS);
  if (alias === undefined) return [];
  return [cloudTrailPublicKeyOf(await store.getKey(alias.targetKeyId))];
}

/** The key's public half as ListPublicKeys gives it; TypeError for a key that is not RSA SIGN_VERIFY. */
export function cloudTrailPublicKeyOf(key: KeyRecord): CloudTrailPublicKey {
  const version = currentVersion(key);
  if (!key.keySpec.startsWith('RSA_') || key.keyUsage !== 'SIGN_VERIFY' || version.publicKey === undefined) {
    throw new TypeError(`${CLOUDTRAIL_DIGEST_ALIAS} must name an RSA SIGN_VERIFY key`);
  }
  const value = createPublicKey({ key: version.publicKey, format: 'der', type: 'spki' }).export({ type: 'pkcs1', format: 'der' });
  return { value, fingerprint: cloudTrailKeyFingerprint(value), validFrom: key.createdAt };
}

/** A PKCS#1 public key's fingerprint: the first 128 bits of its SHA-256, hex (as long as CloudTrail's). */
export function cloudTrailKeyFingerprint(pkcs1Der: Buffer): string {
  return createHash('sha256').update(pkcs1Der).digest('hex').slice(0, 32);
}
