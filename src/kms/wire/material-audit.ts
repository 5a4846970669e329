import { currentVersion, type KeyRecord } from '../keys/key-record.js';
import { keyMaterialId } from '../operations/rotation.js';
import type { JsonObject } from './fields.js';

// CloudTrail's additionalEventData of KMS cryptographic operations: the key material
// version a successful call used, by its KeyMaterialId (the id ListKeyRotations answers),
// as AWS's examples write it (ct-generatedatakey, ct-reencrypt). Ids are not secret: a
// hash of the key id and the version number, never of the material.

/** Keys whose ids are kept; bounded because key ids come from the callers' requests. */
const MAX_CACHED_KEYS = 1024;

// Material id per key and version: a SHA-256 per id, computed once rather than per call
// (GenerateDataKey and Decrypt are the hottest routes, and their keys repeat).
const idsByKey = new Map<string, string[]>();

/** The KeyMaterialId of version `version` (one the key has) of key `keyId`: keyMaterialId's, remembered. Never throws. */
export function cachedKeyMaterialId(keyId: string, version: number): string {
  let ids = idsByKey.get(keyId);
  if (ids === undefined) {
    if (idsByKey.size >= MAX_CACHED_KEYS) idsByKey.clear();
    ids = [];
    idsByKey.set(keyId, ids);
  }
  let id = ids[version];
  if (id === undefined) {
    id = keyMaterialId(keyId, version);
    // Only a successful call's version gets here, so one the key has: a few per key.
    ids[version] = id;
  }
  return id;
}

// Only symmetric encryption keys have key material ids (AWS: KeyMaterialId "is present only
// when the operation uses a symmetric encryption KMS key"; rotations, and so ListKeyRotations,
// are theirs alone): RSA, ECC and HMAC calls carry no additionalEventData.
function hasMaterialIds(key: KeyRecord): boolean {
  return key.keySpec === 'SYMMETRIC_DEFAULT';
}

/**
 * `{ keyMaterialId }` of the material a call used: version `version` of `key`, by default
 * its current one (what Encrypt and GenerateDataKey* use); undefined for a key that is not a
 * symmetric encryption key. A fresh object per call, as the record owns it.
 */
export function usedMaterial(key: KeyRecord, version?: number): JsonObject | undefined {
  if (!hasMaterialIds(key)) return undefined;
  return { keyMaterialId: cachedKeyMaterialId(key.keyId, version ?? currentVersion(key).version) };
}

/**
 * ReEncrypt's additionalEventData: the destination key's current material and the source
 * material that decrypted, keys in canonical (sorted) order as AWS's example lists them;
 * each only for a symmetric encryption key, undefined when neither is one.
 */
export function reEncryptMaterial(sourceKey: KeyRecord, sourceVersion: number, destinationKey: KeyRecord): JsonObject | undefined {
  const out: JsonObject = {};
  if (hasMaterialIds(destinationKey)) out['destinationKeyMaterialId'] = cachedKeyMaterialId(destinationKey.keyId, currentVersion(destinationKey).version);
  if (hasMaterialIds(sourceKey)) out['sourceKeyMaterialId'] = cachedKeyMaterialId(sourceKey.keyId, sourceVersion);
  return Object.keys(out).length > 0 ? out : undefined;
}
