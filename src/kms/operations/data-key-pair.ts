import type { EncryptionContext } from '../encryption-context.js';
import { generateMaterial } from '../keys/key-material.js';
import type { KeyRecord } from '../keys/key-record.js';
import type { KeyService } from '../keys/key-service.js';
import { encryptWithKey, requireSymmetricKey } from './symmetric.js';

/**
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh RSA or ECC key pair
 * whose private key comes back sealed under a symmetric KMS key (and, for the first, also
 * in plaintext). The sealed private key is an ordinary ciphertext blob, so Decrypt with the
 * same encryption context returns the PKCS#8 DER private key.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPair.html
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPairWithoutPlaintext.html
 */

export const KEY_PAIR_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1'] as const;
export type KeyPairSpec = (typeof KEY_PAIR_SPECS)[number];

export interface GenerateDataKeyPairRequest {
  readonly keyId: string;
  readonly keyPairSpec: KeyPairSpec;
  readonly encryptionContext?: EncryptionContext;
}

export interface GenerateDataKeyPairResult {
  readonly key: KeyRecord;
  readonly keyPairSpec: KeyPairSpec;
  /** PKCS#8 DER; the caller hands it to the wire and drops it. */
  readonly privateKeyPlaintext: Buffer;
  readonly privateKeyCiphertextBlob: Buffer;
  /** SubjectPublicKeyInfo DER. */
  readonly publicKey: Buffer;
}

/**
 * GenerateDataKeyPair. Raises NotFoundError, DisabledError / KeyInvalidStateError, and
 * InvalidKeyUsageError unless the KMS key is a symmetric ENCRYPT_DECRYPT key. The key pair
 * is generated before the KMS key is used, so a failure wastes only the generation.
 */
export async function generateDataKeyPair(keys: KeyService, req: GenerateDataKeyPairRequest): Promise<GenerateDataKeyPairResult> {
  const key = await keys.resolve(req.keyId);
  keys.requireEnabled(key);
  requireSymmetricKey(key, 'GenerateDataKeyPair');
  const pair = generateMaterial(req.keyPairSpec);
  try {
    const privateKey = pair.secret.unsafeBytes();
    const { blob } = await encryptWithKey(keys, key, privateKey, req.encryptionContext, undefined);
    return {
      key,
      keyPairSpec: req.keyPairSpec,
      // A copy the result owns: the generated buffer is zeroed below whatever happens.
      privateKeyPlaintext: Buffer.from(privateKey),
      privateKeyCiphertextBlob: blob,
      publicKey: pair.publicKey!,
    };
  } finally {
    pair.secret.dispose();
  }
}

/** GenerateDataKeyPairWithoutPlaintext: as GenerateDataKeyPair; the private key plaintext is zeroed, never returned. */
export async function generateDataKeyPairWithoutPlaintext(
  keys: KeyService,
  req: GenerateDataKeyPairRequest,
): Promise<Omit<GenerateDataKeyPairResult, 'privateKeyPlaintext'>> {
  const { privateKeyPlaintext, ...rest } = await generateDataKeyPair(keys, req);
  privateKeyPlaintext.fill(0);
  return rest;
}
