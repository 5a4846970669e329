import { randomBytes } from 'node:crypto';
import type { EncryptionContext } from '../encryption-context.js';
import { ValidationError } from '../errors.js';
import type { KeyService } from '../keys/key-service.js';
import { decryptBlob, decryptBlobNow, encryptWithKey, requireSymmetricKey, type EncryptionAlgorithm } from './symmetric.js';
import { sealBlob } from '../ciphertext-blob.js';
import { currentVersion, type KeyRecord } from '../keys/key-record.js';
import { secretRandomBytes as pooledRandomBytes } from '../../crypto/random-pool.js';
import type { SecretBytes } from '../../crypto/secret-bytes.js';

/**
 * The cryptographic operations of symmetric KMS keys: Encrypt, Decrypt, ReEncrypt,
 * GenerateDataKey(WithoutPlaintext), GenerateRandom. Plaintext results are plain Buffers
 * handed straight to the wire layer; nothing here logs or stores them.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html (and siblings)
 */

export interface EncryptRequest {
  readonly keyId: string;
  readonly plaintext: Buffer;
  readonly encryptionContext?: EncryptionContext;
  readonly encryptionAlgorithm?: EncryptionAlgorithm;
}

export interface EncryptResult {
  readonly key: KeyRecord;
  readonly ciphertextBlob: Buffer;
  readonly encryptionAlgorithm: EncryptionAlgorithm;
}

/** Encrypt: up to 4096 bytes. */
export async function encrypt(keys: KeyService, req: EncryptRequest): Promise<EncryptResult> {
  const key = await keys.resolve(req.keyId);
  const { blob, algorithm } = await encryptWithKey(keys, key, req.plaintext, req.encryptionContext, req.encryptionAlgorithm);
  return { key, ciphertextBlob: blob, encryptionAlgorithm: algorithm };
}

export interface DecryptRequest {
  readonly ciphertextBlob: Buffer;
  readonly encryptionContext?: EncryptionContext;
  readonly keyId?: string;
  readonly encryptionAlgorithm?: EncryptionAlgorithm;
}

export interface DecryptResult {
  readonly key: KeyRecord;
  readonly plaintext: Buffer;
  readonly encryptionAlgorithm: EncryptionAlgorithm;
  /** The key material version that decrypted (the audit record's keyMaterialId). */
  readonly keyVersion: number;
}

/** Decrypt: the key comes from the blob for symmetric keys. */
export async function decrypt(keys: KeyService, req: DecryptRequest): Promise<DecryptResult> {
  const r = await decryptBlob(keys, req.ciphertextBlob, req.encryptionContext, req.keyId, req.encryptionAlgorithm);
  return { key: r.key, plaintext: r.plaintext, encryptionAlgorithm: r.algorithm, keyVersion: r.keyVersion };
}

/**
 * Decrypt done at once from cached key records and material (no promise: the hot path);
 * undefined when something must be read first (call decrypt). Raises what decrypt rejects with.
 */
export function decryptNow(keys: KeyService, req: DecryptRequest): DecryptResult | undefined {
  const r = decryptBlobNow(keys, req.ciphertextBlob, req.encryptionContext, req.keyId, req.encryptionAlgorithm);
  return r === undefined ? undefined : { key: r.key, plaintext: r.plaintext, encryptionAlgorithm: r.algorithm, keyVersion: r.keyVersion };
}

export interface ReEncryptRequest {
  readonly ciphertextBlob: Buffer;
  readonly sourceEncryptionContext?: EncryptionContext;
  readonly sourceKeyId?: string;
  readonly sourceEncryptionAlgorithm?: EncryptionAlgorithm;
  readonly destinationKeyId: string;
  readonly destinationEncryptionContext?: EncryptionContext;
  readonly destinationEncryptionAlgorithm?: EncryptionAlgorithm;
}

export interface ReEncryptResult {
  readonly sourceKey: KeyRecord;
  /** The source key's material version that decrypted (the audit record's sourceKeyMaterialId). */
  readonly sourceKeyVersion: number;
  readonly destinationKey: KeyRecord;
  readonly ciphertextBlob: Buffer;
  readonly sourceEncryptionAlgorithm: EncryptionAlgorithm;
  readonly destinationEncryptionAlgorithm: EncryptionAlgorithm;
}

/** ReEncrypt: decrypts and encrypts again inside KMS; the plaintext never leaves it and is zeroed. */
export async function reEncrypt(keys: KeyService, req: ReEncryptRequest): Promise<ReEncryptResult> {
  const source = await decryptBlob(keys, req.ciphertextBlob, req.sourceEncryptionContext, req.sourceKeyId, req.sourceEncryptionAlgorithm);
  try {
    const destinationKey = await keys.resolve(req.destinationKeyId);
    const out = await encryptWithKey(keys, destinationKey, source.plaintext, req.destinationEncryptionContext, req.destinationEncryptionAlgorithm);
    return {
      sourceKey: source.key,
      sourceKeyVersion: source.keyVersion,
      destinationKey,
      ciphertextBlob: out.blob,
      sourceEncryptionAlgorithm: source.algorithm,
      destinationEncryptionAlgorithm: out.algorithm,
    };
  } finally {
    source.plaintext.fill(0);
  }
}

export interface GenerateDataKeyRequest {
  readonly keyId: string;
  readonly keySpec?: 'AES_256' | 'AES_128';
  readonly numberOfBytes?: number;
  readonly encryptionContext?: EncryptionContext;
}

export interface GenerateDataKeyResult {
  readonly key: KeyRecord;
  readonly plaintext: Buffer;
  readonly ciphertextBlob: Buffer;
  /** The key material version that sealed the data key (the audit record's keyMaterialId). */
  readonly keyVersion: number;
}

/** GenerateDataKey: a fresh random data key, returned plain and sealed under the KMS key. */
export async function generateDataKey(keys: KeyService, req: GenerateDataKeyRequest): Promise<GenerateDataKeyResult> {
  const now = generateDataKeyNow(keys, req);
  if (now !== undefined) return now;
  const length = dataKeyLength(req);
  const key = await keys.resolve(req.keyId);
  keys.requireEnabled(key);
  requireSymmetricKey(key, 'GenerateDataKey');
  const version = currentVersion(key).version;
  const material = keys.cachedMaterial(key, version) ?? (await keys.material(key, version));
  return sealDataKey(key, version, material, length, req.encryptionContext);
}

/**
 * GenerateDataKey done at once when the key's record and current material are cached (the
 * hottest route: no promise, no await); undefined when either must be read first (call
 * generateDataKey). Raises what generateDataKey rejects with, in the same order: a bad
 * length, then a disabled or non-symmetric key.
 */
export function generateDataKeyNow(keys: KeyService, req: GenerateDataKeyRequest): GenerateDataKeyResult | undefined {
  const length = dataKeyLength(req);
  const key = keys.resolveCached(req.keyId);
  if (key === undefined) return undefined;
  keys.requireEnabled(key);
  requireSymmetricKey(key, 'GenerateDataKey');
  // encryptWithKey's symmetric branch (its checks are done above), inlined to spare a promise.
  const version = currentVersion(key).version;
  const material = keys.cachedMaterial(key, version);
  return material === undefined ? undefined : sealDataKey(key, version, material, length, req.encryptionContext);
}

function sealDataKey(key: KeyRecord, version: number, material: SecretBytes, length: number, context: EncryptionContext | undefined): GenerateDataKeyResult {
  const plaintext = pooledRandomBytes(length); // a fresh buffer; the pool keeps no copy
  return { key, plaintext, ciphertextBlob: sealBlob(material, key.keyId, version, plaintext, context), keyVersion: version };
}

/** GenerateDataKeyWithoutPlaintext: as GenerateDataKey, but the plaintext is zeroed and dropped. */
export async function generateDataKeyWithoutPlaintext(keys: KeyService, req: GenerateDataKeyRequest): Promise<Omit<GenerateDataKeyResult, 'plaintext'>> {
  const { key, plaintext, ciphertextBlob, keyVersion } = await generateDataKey(keys, req);
  plaintext.fill(0);
  return { key, ciphertextBlob, keyVersion };
}

function dataKeyLength(req: GenerateDataKeyRequest): number {
  if (req.keySpec !== undefined && req.numberOfBytes !== undefined) {
    throw new ValidationError('Please specify either number of bytes or key spec.');
  }
  if (req.keySpec === 'AES_256') return 32;
  if (req.keySpec === 'AES_128') return 16;
  if (req.numberOfBytes === undefined) throw new ValidationError('Please specify either number of bytes or key spec.');
  return req.numberOfBytes;
}

/** GenerateRandom: 1–1024 bytes from the OS CSPRNG. */
export function generateRandom(numberOfBytes: number): Buffer {
  return randomBytes(numberOfBytes);
}
