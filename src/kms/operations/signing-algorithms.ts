import { InvalidKeyUsageError, ValidationError } from '../errors.js';
import { keyArn, type KeyRecord, type KeySpec, type KeyUsage } from '../keys/key-record.js';

/** Signing algorithms KMS names on the wire (RSA and ECC keys). */
export const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** RAW: we hash the message; DIGEST: the message already is the digest. */
export const MESSAGE_TYPES = ['RAW', 'DIGEST'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** The padding scheme or signature family of an algorithm. */
export type SignatureScheme = 'pss' | 'pkcs1' | 'ecdsa';

/** What node:crypto and OpenSSL need to know about one signing algorithm. */
export interface AlgorithmParams {
  readonly scheme: SignatureScheme;
  /** OpenSSL digest name. */
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** Length of that digest, which is also the PSS salt length (as AWS uses). */
  readonly digestBytes: 32 | 48 | 64;
}

const SHA = {
  256: { hash: 'sha256', digestBytes: 32 },
  384: { hash: 'sha384', digestBytes: 48 },
  512: { hash: 'sha512', digestBytes: 64 },
} as const;

/** Parameters of each signing algorithm. */
export function algorithmParams(algorithm: SigningAlgorithm): AlgorithmParams {
  switch (algorithm) {
    case 'RSASSA_PSS_SHA_256': return { scheme: 'pss', ...SHA[256] };
    case 'RSASSA_PSS_SHA_384': return { scheme: 'pss', ...SHA[384] };
    case 'RSASSA_PSS_SHA_512': return { scheme: 'pss', ...SHA[512] };
    case 'RSASSA_PKCS1_V1_5_SHA_256': return { scheme: 'pkcs1', ...SHA[256] };
    case 'RSASSA_PKCS1_V1_5_SHA_384': return { scheme: 'pkcs1', ...SHA[384] };
    case 'RSASSA_PKCS1_V1_5_SHA_512': return { scheme: 'pkcs1', ...SHA[512] };
    case 'ECDSA_SHA_256': return { scheme: 'ecdsa', ...SHA[256] };
    case 'ECDSA_SHA_384': return { scheme: 'ecdsa', ...SHA[384] };
    case 'ECDSA_SHA_512': return { scheme: 'ecdsa', ...SHA[512] };
    default: {
      const unreachable: never = algorithm;
      throw new Error(`unknown signing algorithm ${String(unreachable)}`);
    }
  }
}

const RSA_ALGORITHMS: readonly SigningAlgorithm[] = SIGNING_ALGORITHMS.filter((a) => a.startsWith('RSASSA_'));

/**
 * The signing algorithms a key spec supports, as AWS pairs them: every RSASSA algorithm
 * for RSA keys, one ECDSA algorithm per curve (the hash matched to the curve's size;
 * secp256k1 uses SHA-256). Empty for specs that cannot sign.
 */
export function signingAlgorithmsFor(spec: KeySpec): readonly SigningAlgorithm[] {
  switch (spec) {
    case 'RSA_2048':
    case 'RSA_3072':
    case 'RSA_4096':
      return RSA_ALGORITHMS;
    case 'ECC_NIST_P256':
    case 'ECC_SECG_P256K1':
      return ['ECDSA_SHA_256'];
    case 'ECC_NIST_P384':
      return ['ECDSA_SHA_384'];
    case 'ECC_NIST_P521':
      return ['ECDSA_SHA_512'];
    case 'SYMMETRIC_DEFAULT':
    case 'HMAC_224':
    case 'HMAC_256':
    case 'HMAC_384':
    case 'HMAC_512':
      return [];
    default: {
      const unreachable: never = spec;
      throw new Error(`unknown key spec ${String(unreachable)}`);
    }
  }
}

/**
 * Raises InvalidKeyUsageError unless the key's usage is `usage` (AWS's wording names
 * the key, its usage and the operation). Never reveals anything but the key ARN.
 */
export function requireKeyUsage(key: KeyRecord, usage: KeyUsage, op: string): void {
  if (key.keyUsage !== usage) {
    throw new InvalidKeyUsageError(`${keyArn(key)} key usage is ${key.keyUsage} which is not valid for ${op}.`);
  }
}

/**
 * Checks that `algorithm` fits the key (InvalidKeyUsageError otherwise, as AWS answers an
 * algorithm incompatible with the key spec) and, for DIGEST messages, that the message is
 * exactly the algorithm's digest length (ValidationError otherwise). Returns the params.
 */
export function checkSigningRequest(key: KeyRecord, algorithm: SigningAlgorithm, messageType: MessageType, message: Buffer): AlgorithmParams {
  if (!signingAlgorithmsFor(key.keySpec).includes(algorithm)) {
    throw new InvalidKeyUsageError(`Signing algorithm ${algorithm} is not compatible with ${key.keySpec} key ${keyArn(key)}.`);
  }
  const params = algorithmParams(algorithm);
  if (messageType === 'DIGEST' && message.length !== params.digestBytes) {
    throw new ValidationError(`Digest is invalid length for algorithm ${algorithm}.`);
  }
  return params;
}
