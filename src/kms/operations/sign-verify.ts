import { constants, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { InvalidSignatureError, UnsupportedOperationError } from '../errors.js';
import { isAsymmetric } from '../keys/key-material.js';
import { currentVersion, keyArn, type KeyRecord } from '../keys/key-record.js';
import type { KeyService } from '../keys/key-service.js';
import { signDigest, verifyDigest } from './prehashed-signature.js';
import { checkSigningRequest, requireKeyUsage, type AlgorithmParams, type MessageType, type SigningAlgorithm } from './signing-algorithms.js';

/**
 * Sign, Verify and GetPublicKey of asymmetric KMS keys.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html
 */

export interface SignRequest {
  readonly keyId: string;
  readonly message: Buffer;
  readonly messageType: MessageType;
  readonly signingAlgorithm: SigningAlgorithm;
}

export interface SignResult {
  readonly key: KeyRecord;
  readonly signature: Buffer;
  readonly signingAlgorithm: SigningAlgorithm;
}

/** node:crypto options for one scheme; PSS salt = digest length, as AWS signs. */
function keyOptions(key: KeyObject, params: AlgorithmParams) {
  switch (params.scheme) {
    case 'pss': return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.digestBytes };
    case 'pkcs1': return { key, padding: constants.RSA_PKCS1_PADDING };
    case 'ecdsa': return { key, dsaEncoding: 'der' as const };
    default: {
      const unreachable: never = params.scheme;
      throw new Error(`unknown scheme ${String(unreachable)}`);
    }
  }
}

/**
 * Sign: signs a RAW message (hashed here) or a DIGEST with the key's private key.
 * Raises NotFoundError, DisabledError / KeyInvalidStateError, InvalidKeyUsageError (not a
 * SIGN_VERIFY key, or an algorithm the key spec does not offer), ValidationError (digest
 * of the wrong length). ECDSA signatures are DER-encoded, as AWS returns them.
 */
export async function sign(keys: KeyService, req: SignRequest): Promise<SignResult> {
  const key = await keys.resolve(req.keyId);
  keys.requireEnabled(key);
  requireKeyUsage(key, 'SIGN_VERIFY', 'Sign');
  const params = checkSigningRequest(key, req.signingAlgorithm, req.messageType, req.message);
  const material = await keys.material(key);
  let signature: Buffer;
  if (req.messageType === 'DIGEST') {
    signature = await signDigest(material, req.message, params);
  } else {
    const privateKey = createPrivateKey({ key: material.unsafeBytes(), format: 'der', type: 'pkcs8' });
    signature = nodeSign(params.hash, req.message, keyOptions(privateKey, params));
  }
  return { key, signature, signingAlgorithm: req.signingAlgorithm };
}

export interface VerifyRequest extends SignRequest {
  readonly signature: Buffer;
}

export interface VerifyResult {
  readonly key: KeyRecord;
  readonly signatureValid: true;
  readonly signingAlgorithm: SigningAlgorithm;
}

/**
 * Verify: as AWS, answers only "valid"; a signature that does not verify (tampered,
 * malformed, other key or algorithm) raises InvalidSignatureError. Other errors as Sign.
 */
export async function verify(keys: KeyService, req: VerifyRequest): Promise<VerifyResult> {
  const key = await keys.resolve(req.keyId);
  keys.requireEnabled(key);
  requireKeyUsage(key, 'SIGN_VERIFY', 'Verify');
  const params = checkSigningRequest(key, req.signingAlgorithm, req.messageType, req.message);
  const publicDer = await publicKeyDer(keys, key);
  let valid: boolean;
  if (req.messageType === 'DIGEST') {
    valid = await verifyDigest(publicDer, req.message, req.signature, params);
  } else {
    const publicKey = createPublicKey({ key: publicDer, format: 'der', type: 'spki' });
    try {
      valid = nodeVerify(params.hash, req.message, keyOptions(publicKey, params), req.signature);
    } catch {
      valid = false; // a malformed signature is just an invalid one
    }
  }
  if (!valid) throw new InvalidSignatureError('');
  return { key, signatureValid: true, signingAlgorithm: req.signingAlgorithm };
}

/**
 * The SPKI DER public key of the key's current version. Records written before the public
 * key was stored with every version get it derived from the private material.
 */
async function publicKeyDer(keys: KeyService, key: KeyRecord): Promise<Buffer> {
  const stored = currentVersion(key).publicKey;
  if (stored !== undefined) return stored;
  const material = await keys.material(key);
  const privateKey = createPrivateKey({ key: material.unsafeBytes(), format: 'der', type: 'pkcs8' });
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
}

export interface GetPublicKeyResult {
  readonly key: KeyRecord;
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKey: Buffer;
}

/**
 * GetPublicKey: the DER SubjectPublicKeyInfo of an RSA or ECC key. Raises
 * UnsupportedOperationError for symmetric and HMAC keys, DisabledError /
 * KeyInvalidStateError for a key that is not enabled. Never returns private material.
 */
export async function getPublicKey(keys: KeyService, keyId: string): Promise<GetPublicKeyResult> {
  const key = await keys.resolve(keyId);
  if (!isAsymmetric(key.keySpec)) {
    throw new UnsupportedOperationError(`${keyArn(key)} key usage is ${key.keyUsage} and key spec ${key.keySpec}: it has no public key.`);
  }
  keys.requireEnabled(key);
  return { key, publicKey: await publicKeyDer(keys, key) };
}
