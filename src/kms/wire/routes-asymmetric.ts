import { generateDataKeyPair, generateDataKeyPairWithoutPlaintext, KEY_PAIR_SPECS, type GenerateDataKeyPairRequest } from '../operations/data-key-pair.js';
import { generateMac, MAC_ALGORITHMS, verifyMac, type MacAlgorithm } from '../operations/mac.js';
import { getPublicKey, sign, verify } from '../operations/sign-verify.js';
import { MESSAGE_TYPES, SIGNING_ALGORITHMS, type MessageType, type SigningAlgorithm } from '../operations/signing-algorithms.js';
import { keyArn } from '../keys/key-record.js';
import { ValidationError } from '../errors.js';
import type { Fields } from './fields.js';
import { keyAlgorithms } from './key-metadata.js';
import { route, type KmsRoute } from './route.js';
import { usedMaterial } from './material-audit.js';

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) {
    throw new ValidationError(`1 validation error detected: Value null at '${name.charAt(0).toLowerCase() + name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function signingRequest(f: Fields): { keyId: string; message: Buffer; messageType: MessageType; signingAlgorithm: SigningAlgorithm } {
  return {
    keyId: f.keyId(),
    message: f.requiredBlob('Message', { max: 4096 }),
    messageType: f.enumValue('MessageType', MESSAGE_TYPES) ?? 'RAW',
    signingAlgorithm: required(f.enumValue('SigningAlgorithm', SIGNING_ALGORITHMS), 'SigningAlgorithm'),
  };
}

function macRequest(f: Fields): { keyId: string; message: Buffer; macAlgorithm: MacAlgorithm } {
  return {
    keyId: f.keyId(),
    message: f.requiredBlob('Message', { max: 4096 }),
    macAlgorithm: required(f.enumValue('MacAlgorithm', MAC_ALGORITHMS), 'MacAlgorithm'),
  };
}

function keyPairRequest(f: Fields): GenerateDataKeyPairRequest {
  const encryptionContext = f.context();
  return {
    keyId: f.keyId(),
    keyPairSpec: required(f.enumValue('KeyPairSpec', KEY_PAIR_SPECS), 'KeyPairSpec'),
    ...(encryptionContext !== undefined ? { encryptionContext } : {}),
  };
}

/** Targets of asymmetric and HMAC keys: signing, public keys, data key pairs, MACs. */
export const asymmetricRoutes: Record<string, KmsRoute> = {
  Sign: route({
    action: 'kms:Sign',
    takesDryRun: true,
    readOnly: true,
    parse: signingRequest,
    keyOf: (r) => r.keyId,
    operate: (keys, r) => sign(keys, r),
    auditData: (_req, r) => usedMaterial(r.key),
    respond: (r) => ({ KeyId: keyArn(r.key), Signature: r.signature.toString('base64'), SigningAlgorithm: r.signingAlgorithm }),
  }),

  Verify: route({
    action: 'kms:Verify',
    takesDryRun: true,
    readOnly: true,
    parse: (f) => ({ ...signingRequest(f), signature: f.requiredBlob('Signature', { max: 6144 }) }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => verify(keys, r),
    auditData: (_req, r) => usedMaterial(r.key),
    respond: (r) => ({ KeyId: keyArn(r.key), SignatureValid: r.signatureValid, SigningAlgorithm: r.signingAlgorithm }),
  }),

  GetPublicKey: route({
    action: 'kms:GetPublicKey',
    readOnly: true,
    parse: (f) => ({ keyId: f.keyId() }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => getPublicKey(keys, r.keyId),
    respond: (r) => ({
      KeyId: keyArn(r.key),
      PublicKey: r.publicKey.toString('base64'),
      CustomerMasterKeySpec: r.key.keySpec,
      KeySpec: r.key.keySpec,
      KeyUsage: r.key.keyUsage,
      ...keyAlgorithms(r.key),
    }),
  }),

  GenerateDataKeyPair: route({
    action: 'kms:GenerateDataKeyPair',
    takesDryRun: true,
    readOnly: true,
    parse: keyPairRequest,
    keyOf: (r) => r.keyId,
    operate: (keys, r) => generateDataKeyPair(keys, r),
    auditData: (_req, r) => usedMaterial(r.key),
    respond: (r) => ({
      KeyId: keyArn(r.key),
      KeyPairSpec: r.keyPairSpec,
      PrivateKeyCiphertextBlob: r.privateKeyCiphertextBlob.toString('base64'),
      PrivateKeyPlaintext: r.privateKeyPlaintext.toString('base64'),
      PublicKey: r.publicKey.toString('base64'),
    }),
  }),

  GenerateDataKeyPairWithoutPlaintext: route({
    action: 'kms:GenerateDataKeyPairWithoutPlaintext',
    takesDryRun: true,
    readOnly: true,
    parse: keyPairRequest,
    keyOf: (r) => r.keyId,
    operate: (keys, r) => generateDataKeyPairWithoutPlaintext(keys, r),
    auditData: (_req, r) => usedMaterial(r.key),
    respond: (r) => ({
      KeyId: keyArn(r.key),
      KeyPairSpec: r.keyPairSpec,
      PrivateKeyCiphertextBlob: r.privateKeyCiphertextBlob.toString('base64'),
      PublicKey: r.publicKey.toString('base64'),
    }),
  }),

  GenerateMac: route({
    action: 'kms:GenerateMac',
    takesDryRun: true,
    readOnly: true,
    parse: macRequest,
    keyOf: (r) => r.keyId,
    operate: (keys, r) => generateMac(keys, r),
    auditData: (_req, r) => usedMaterial(r.key),
    respond: (r) => ({ KeyId: keyArn(r.key), Mac: r.mac.toString('base64'), MacAlgorithm: r.macAlgorithm }),
  }),

  VerifyMac: route({
    action: 'kms:VerifyMac',
    takesDryRun: true,
    readOnly: true,
    parse: (f) => ({ ...macRequest(f), mac: f.requiredBlob('Mac', { max: 6144 }) }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => verifyMac(keys, r),
    auditData: (_req, r) => usedMaterial(r.key),
    respond: (r) => ({ KeyId: keyArn(r.key), MacValid: r.macValid, MacAlgorithm: r.macAlgorithm }),
  }),
};
