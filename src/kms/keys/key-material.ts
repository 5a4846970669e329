import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import type { KeySpec } from './key-record.js';

/** Freshly generated material: the secret half (to be root-wrapped) and, for asymmetric specs, the public key. */
export interface NewMaterial {
  readonly secret: SecretBytes;
  readonly publicKey?: Buffer;
}

const HMAC_BYTES: Partial<Record<KeySpec, number>> = { HMAC_224: 28, HMAC_256: 32, HMAC_384: 48, HMAC_512: 64 };
const CURVES: Partial<Record<KeySpec, string>> = {
  ECC_NIST_P256: 'prime256v1',
  ECC_NIST_P384: 'secp384r1',
  ECC_NIST_P521: 'secp521r1',
  ECC_SECG_P256K1: 'secp256k1',
};
const RSA_BITS: Partial<Record<KeySpec, number>> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

/**
 * Generates material for a key spec: 32 random bytes for SYMMETRIC_DEFAULT, the spec's
 * length for HMAC keys, a PKCS#8 DER private key (plus SPKI DER public key) for RSA and ECC.
 */
export function generateMaterial(spec: KeySpec): NewMaterial {
  if (spec === 'SYMMETRIC_DEFAULT') return { secret: SecretBytes.adopt(randomBytes(32)) };
  const hmac = HMAC_BYTES[spec];
  if (hmac !== undefined) return { secret: SecretBytes.adopt(randomBytes(hmac)) };
  const bits = RSA_BITS[spec];
  if (bits !== undefined) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: bits,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    });
    return { secret: SecretBytes.adopt(privateKey), publicKey };
  }
  const curve = CURVES[spec];
  if (curve !== undefined) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', {
      namedCurve: curve,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    });
    return { secret: SecretBytes.adopt(privateKey), publicKey };
  }
  throw new Error(`no material generator for ${spec}`);
}

/** True for the specs whose material is an asymmetric key pair. */
export function isAsymmetric(spec: KeySpec): boolean {
  return spec.startsWith('RSA_') || spec.startsWith('ECC_');
}
