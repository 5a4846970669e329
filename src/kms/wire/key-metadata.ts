import { keyArn, type KeyRecord } from '../keys/key-record.js';
import { epochSeconds, type JsonObject } from './fields.js';

const ENCRYPTION_ALGORITHMS: Record<string, string[]> = {
  SYMMETRIC_DEFAULT: ['SYMMETRIC_DEFAULT'],
  RSA: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
};
const RSA_SIGNING = ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'];
const ECC_SIGNING: Record<string, string[]> = {
  ECC_NIST_P256: ['ECDSA_SHA_256'],
  ECC_NIST_P384: ['ECDSA_SHA_384'],
  ECC_NIST_P521: ['ECDSA_SHA_512'],
  ECC_SECG_P256K1: ['ECDSA_SHA_256'],
};

/** The algorithms a key offers, as DescribeKey lists them. */
export function keyAlgorithms(key: KeyRecord): JsonObject {
  if (key.keyUsage === 'ENCRYPT_DECRYPT') {
    return { EncryptionAlgorithms: key.keySpec === 'SYMMETRIC_DEFAULT' ? ENCRYPTION_ALGORITHMS.SYMMETRIC_DEFAULT : ENCRYPTION_ALGORITHMS.RSA };
  }
  if (key.keyUsage === 'SIGN_VERIFY') {
    return { SigningAlgorithms: key.keySpec.startsWith('RSA_') ? RSA_SIGNING : ECC_SIGNING[key.keySpec] ?? [] };
  }
  return { MacAlgorithms: [`HMAC_SHA_${key.keySpec.slice(5)}`] };
}

/** KMS's KeyMetadata structure. https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html */
export function keyMetadata(key: KeyRecord): JsonObject {
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: keyArn(key),
    CreationDate: epochSeconds(key.createdAt),
    Enabled: key.keyState === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.keyState,
    ...(key.deletionDate !== undefined ? { DeletionDate: epochSeconds(key.deletionDate) } : {}),
    ...(key.pendingWindowDays !== undefined ? { PendingDeletionWindowInDays: key.pendingWindowDays } : {}),
    Origin: 'AWS_KMS',
    KeyManager: key.keyManager,
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...keyAlgorithms(key),
    MultiRegion: false,
  };
}
