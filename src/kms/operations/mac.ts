import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidKeyUsageError, InvalidMacError } from '../errors.js';
import { keyArn, type KeyRecord, type KeySpec } from '../keys/key-record.js';
import type { KeyService } from '../keys/key-service.js';
import { requireKeyUsage } from './signing-algorithms.js';

/**
 * GenerateMac and VerifyMac of HMAC KMS keys (HMAC_224/256/384/512).
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_VerifyMac.html
 */

export const MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;
export type MacAlgorithm = (typeof MAC_ALGORITHMS)[number];

/** The one MAC algorithm each HMAC key spec offers (AWS pairs them one to one). */
const MAC_FOR_SPEC: Partial<Record<KeySpec, { algorithm: MacAlgorithm; hash: string }>> = {
  HMAC_224: { algorithm: 'HMAC_SHA_224', hash: 'sha224' },
  HMAC_256: { algorithm: 'HMAC_SHA_256', hash: 'sha256' },
  HMAC_384: { algorithm: 'HMAC_SHA_384', hash: 'sha384' },
  HMAC_512: { algorithm: 'HMAC_SHA_512', hash: 'sha512' },
};

export interface GenerateMacRequest {
  readonly keyId: string;
  readonly message: Buffer;
  readonly macAlgorithm: MacAlgorithm;
}

export interface GenerateMacResult {
  readonly key: KeyRecord;
  readonly mac: Buffer;
  readonly macAlgorithm: MacAlgorithm;
}

async function computeMac(keys: KeyService, req: GenerateMacRequest, op: string): Promise<{ key: KeyRecord; mac: Buffer }> {
  const key = await keys.resolve(req.keyId);
  keys.requireEnabled(key);
  requireKeyUsage(key, 'GENERATE_VERIFY_MAC', op);
  const spec = MAC_FOR_SPEC[key.keySpec];
  if (spec === undefined || spec.algorithm !== req.macAlgorithm) {
    throw new InvalidKeyUsageError(`MAC algorithm ${req.macAlgorithm} is not compatible with ${key.keySpec} key ${keyArn(key)}.`);
  }
  const material = await keys.material(key);
  return { key, mac: createHmac(spec.hash, material.unsafeBytes()).update(req.message).digest() };
}

/**
 * GenerateMac: the HMAC of the message under the key's current material. Raises
 * NotFoundError, DisabledError / KeyInvalidStateError, and InvalidKeyUsageError for a key
 * that is not an HMAC key or an algorithm that does not match its spec.
 */
export async function generateMac(keys: KeyService, req: GenerateMacRequest): Promise<GenerateMacResult> {
  const { key, mac } = await computeMac(keys, req, 'GenerateMac');
  return { key, mac, macAlgorithm: req.macAlgorithm };
}

export interface VerifyMacRequest extends GenerateMacRequest {
  readonly mac: Buffer;
}

export interface VerifyMacResult {
  readonly key: KeyRecord;
  readonly macValid: true;
  readonly macAlgorithm: MacAlgorithm;
}

/**
 * VerifyMac: recomputes the HMAC and compares in constant time. A MAC that differs (or has
 * another length) raises InvalidMacError, as AWS does; other errors as GenerateMac.
 */
export async function verifyMac(keys: KeyService, req: VerifyMacRequest): Promise<VerifyMacResult> {
  const { key, mac } = await computeMac(keys, req, 'VerifyMac');
  const valid = mac.length === req.mac.length && timingSafeEqual(mac, req.mac);
  if (!valid) throw new InvalidMacError('');
  return { key, macValid: true, macAlgorithm: req.macAlgorithm };
}
