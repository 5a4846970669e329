import { constants, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt } from 'node:crypto';
import { openBlob, readBlobHeader, sealBlob } from '../ciphertext-blob.js';
import type { EncryptionContext } from '../encryption-context.js';
import { IncorrectKeyError, InvalidCiphertextError, InvalidKeyUsageError, NotFoundError, ValidationError } from '../errors.js';
import { currentVersion, keyArn, type KeyRecord } from '../keys/key-record.js';
import type { KeyService } from '../keys/key-service.js';
import { isAsymmetric } from '../keys/key-material.js';

/** Encryption algorithms KMS names on the wire. */
export type EncryptionAlgorithm = 'SYMMETRIC_DEFAULT' | 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256';

/** Raises InvalidKeyUsageError unless the key is an ENCRYPT_DECRYPT key. */
export function requireEncryptKey(key: KeyRecord, op: string): void {
  if (key.keyUsage !== 'ENCRYPT_DECRYPT') {
    throw new InvalidKeyUsageError(`${keyArn(key)} key usage is ${key.keyUsage} which is not valid for ${op}.`);
  }
}

/** Raises InvalidKeyUsageError unless the key is symmetric ENCRYPT_DECRYPT (data key operations). */
export function requireSymmetricKey(key: KeyRecord, op: string): void {
  requireEncryptKey(key, op);
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') throw new InvalidKeyUsageError(`${keyArn(key)} key usage is not valid for ${op}: the key is asymmetric.`);
}

/**
 * Encrypts `plaintext` under the key's current material (symmetric) or its public key
 * (RSA, OAEP). Checks state and usage. Returns the ciphertext blob.
 */
export async function encryptWithKey(
  keys: KeyService,
  key: KeyRecord,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
  algorithm: EncryptionAlgorithm | undefined,
): Promise<{ blob: Buffer; algorithm: EncryptionAlgorithm }> {
  keys.requireEnabled(key);
  requireEncryptKey(key, 'Encrypt');
  if (!isAsymmetric(key.keySpec)) {
    if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') throw new InvalidKeyUsageError(`The encryption algorithm ${algorithm} is not valid for ${keyArn(key)}.`);
    const version = currentVersion(key).version;
    const material = keys.cachedMaterial(key, version) ?? (await keys.material(key, version));
    return { blob: sealBlob(material, key.keyId, version, plaintext, context), algorithm: 'SYMMETRIC_DEFAULT' };
  }
  if (algorithm === undefined || algorithm === 'SYMMETRIC_DEFAULT') {
    throw new InvalidKeyUsageError(`The encryption algorithm ${algorithm ?? 'SYMMETRIC_DEFAULT'} is not valid for ${keyArn(key)}.`);
  }
  if (context !== undefined && Object.keys(context).length > 0) throw new ValidationError('EncryptionContext is not supported with asymmetric KMS keys.');
  const publicKey = createPublicKey({ key: currentVersion(key).publicKey!, format: 'der', type: 'spki' });
  try {
    const blob = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256' }, plaintext);
    return { blob, algorithm };
  } catch {
    throw new ValidationError(`Plaintext is too long for ${key.keySpec} with ${algorithm}.`);
  }
}

/**
 * A decrypted blob: its key, plaintext and algorithm, and the key material version that
 * opened it (the blob's for symmetric keys; asymmetric keys have one), which the audit
 * record names as its keyMaterialId. The version is not secret.
 */
export interface DecryptedBlob {
  readonly key: KeyRecord;
  readonly plaintext: Buffer;
  readonly algorithm: EncryptionAlgorithm;
  readonly keyVersion: number;
}

/**
 * Decrypts a blob. For symmetric blobs the key comes from the blob; `keyIdentifier`, when
 * given, must name the same key (else IncorrectKeyError). Asymmetric decryption requires
 * `keyIdentifier`. Every failure of the bytes is InvalidCiphertextError.
 */
export async function decryptBlob(
  keys: KeyService,
  blob: Buffer,
  context: EncryptionContext | undefined,
  keyIdentifier: string | undefined,
  algorithm: EncryptionAlgorithm | undefined,
): Promise<DecryptedBlob> {
  const now = decryptBlobNow(keys, blob, context, keyIdentifier, algorithm);
  if (now !== undefined) return now;
  const named = keyIdentifier === undefined ? undefined : (keys.resolveCached(keyIdentifier) ?? (await keys.resolve(keyIdentifier)));
  if (named !== undefined && isAsymmetric(named.keySpec)) {
    // RSA ciphertext binds no context: refuse one rather than let the caller believe it was checked.
    if (context !== undefined && Object.keys(context).length > 0) throw new ValidationError('EncryptionContext is not supported with asymmetric KMS keys.');
    return decryptAsymmetric(keys, named, blob, algorithm);
  }
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') throw new InvalidCiphertextError();
  const header = readBlobHeader(blob);
  let key: KeyRecord;
  try {
    key = keys.resolveCached(header.keyId) ?? (await keys.resolve(header.keyId));
  } catch (err) {
    if (err instanceof NotFoundError) throw new InvalidCiphertextError();
    throw err;
  }
  if (named !== undefined && named.keyId !== key.keyId) {
    throw new IncorrectKeyError('The key ID in the request does not identify a CMK that can perform this operation.');
  }
  keys.requireEnabled(key);
  requireEncryptKey(key, 'Decrypt');
  if (!key.versions.some((v) => v.version === header.keyVersion)) throw new InvalidCiphertextError();
  const material = keys.cachedMaterial(key, header.keyVersion) ?? (await keys.material(key, header.keyVersion));
  return { key, plaintext: openBlob(material, blob, context), algorithm: 'SYMMETRIC_DEFAULT', keyVersion: header.keyVersion };
}

/**
 * decryptBlob done at once, with no promise, when everything it needs is cached (the named
 * key's record if any, the blob's key record and version material): Decrypt's hot path.
 * Undefined when something must be read first, and for asymmetric keys (call decryptBlob).
 * Raises what decryptBlob rejects with, at the same step (every step before it hit a cache).
 */
export function decryptBlobNow(
  keys: KeyService,
  blob: Buffer,
  context: EncryptionContext | undefined,
  keyIdentifier: string | undefined,
  algorithm: EncryptionAlgorithm | undefined,
): DecryptedBlob | undefined {
  const named = keyIdentifier === undefined ? undefined : keys.resolveCached(keyIdentifier);
  if (keyIdentifier !== undefined && (named === undefined || isAsymmetric(named.keySpec))) return undefined;
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') throw new InvalidCiphertextError();
  const header = readBlobHeader(blob);
  const key = keys.resolveCached(header.keyId);
  if (key === undefined) return undefined;
  if (named !== undefined && named.keyId !== key.keyId) {
    throw new IncorrectKeyError('The key ID in the request does not identify a CMK that can perform this operation.');
  }
  keys.requireEnabled(key);
  requireEncryptKey(key, 'Decrypt');
  if (!key.versions.some((v) => v.version === header.keyVersion)) throw new InvalidCiphertextError();
  const material = keys.cachedMaterial(key, header.keyVersion);
  if (material === undefined) return undefined;
  return { key, plaintext: openBlob(material, blob, context), algorithm: 'SYMMETRIC_DEFAULT', keyVersion: header.keyVersion };
}

async function decryptAsymmetric(
  keys: KeyService,
  key: KeyRecord,
  blob: Buffer,
  algorithm: EncryptionAlgorithm | undefined,
): Promise<DecryptedBlob> {
  keys.requireEnabled(key);
  requireEncryptKey(key, 'Decrypt');
  if (algorithm === undefined || algorithm === 'SYMMETRIC_DEFAULT') {
    throw new InvalidKeyUsageError(`The encryption algorithm ${algorithm ?? 'SYMMETRIC_DEFAULT'} is not valid for ${keyArn(key)}.`);
  }
  const material = await keys.material(key);
  const privateKey = createPrivateKey({ key: material.unsafeBytes(), format: 'der', type: 'pkcs8' });
  try {
    const plaintext = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256' }, blob);
    return { key, plaintext, algorithm, keyVersion: currentVersion(key).version };
  } catch {
    throw new InvalidCiphertextError();
  }
}
