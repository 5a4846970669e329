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

/**
 * `{ keyMaterialId }` of the material a call used: version `version` of `key`, by default
 * its current one (what Encrypt, GenerateDataKey*, Sign and GenerateMac use). A fresh object
 * per call, as the record owns it.
 */
export function usedMaterial(key: KeyRecord, version: number = currentVersion(key).version): JsonObject {
  return { keyMaterialId: cachedKeyMaterialId(key.keyId, version) };
}

/**
 * ReEncrypt's additionalEventData: the destination key's current material and the source
 * material that decrypted, keys in canonical (sorted) order as AWS's example lists them.
 */
export function reEncryptMaterial(sourceKey: KeyRecord, sourceVersion: number, destinationKey: KeyRecord): JsonObject {
  return {
    destinationKeyMaterialId: cachedKeyMaterialId(destinationKey.keyId, currentVersion(destinationKey).version),
    sourceKeyMaterialId: cachedKeyMaterialId(sourceKey.keyId, sourceVersion),
  };
}
