import { decrypt, decryptNow, encrypt, generateDataKey, generateDataKeyNow, generateDataKeyWithoutPlaintext, generateRandom, reEncrypt } from '../operations/crypto-operations.js';
import type { EncryptionAlgorithm } from '../operations/symmetric.js';
import type { DecryptRequest, GenerateDataKeyRequest } from '../operations/crypto-operations.js';
import { keyArn } from '../keys/key-record.js';
import { readBlobHeader } from '../ciphertext-blob.js';
import { ValidationError } from '../errors.js';
import type { Fields } from './fields.js';
import { route, type KmsRequestFacts, type KmsRoute } from './route.js';
import { reEncryptMaterial, usedMaterial } from './material-audit.js';
import type { AuditedKey } from './audited-keys.js';

const ALGORITHMS: readonly EncryptionAlgorithm[] = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];

const DATA_KEY_SPECS = ['AES_256', 'AES_128'] as const;
const CIPHERTEXT_BLOB_LIMIT = { max: 6144 } as const;

function dataKeyRequest(f: Fields) {
  const keySpec = f.enumValue('KeySpec', DATA_KEY_SPECS);
  const numberOfBytes = f.integer('NumberOfBytes', 1, 1024);
  const encryptionContext = f.context();
  // Assigned rather than spread (GenerateDataKey is the hottest route).
  const req: { -readonly [K in keyof GenerateDataKeyRequest]: GenerateDataKeyRequest[K] } = { keyId: f.keyId() };
  if (keySpec !== undefined) req.keySpec = keySpec;
  if (numberOfBytes !== undefined) req.numberOfBytes = numberOfBytes;
  if (encryptionContext !== undefined) req.encryptionContext = encryptionContext;
  return req;
}

/**
 * GenerateRandom's request. The API reference lists NumberOfBytes as optional, but KMS refuses
 * a request without it: 400 ValidationException "NumberOfBytes is required." (captured from
 * AWS by LocalStack's validated snapshot test_generate_random_invalid_number_of_bytes[None],
 * tests/aws/services/kms/test_kms.snapshot.json). It used to be served with 32 bytes here.
 */
function generateRandomRequest(f: Fields): { numberOfBytes: number } {
  const numberOfBytes = f.integer('NumberOfBytes', 1, 1024);
  if (numberOfBytes === undefined) f.violation(new ValidationError('NumberOfBytes is required.'));
  return { numberOfBytes: numberOfBytes ?? 0 };
}

// Decrypt is the second-hottest route: its request and facts are assigned, not spread, in
// the same field order as before (the order the fields were read and the errors raised).
function decryptRequest(f: Fields): DecryptRequest {
  const req: { -readonly [K in keyof DecryptRequest]: DecryptRequest[K] } = { ciphertextBlob: f.requiredBlob('CiphertextBlob', CIPHERTEXT_BLOB_LIMIT) };
  const encryptionContext = f.context();
  if (encryptionContext !== undefined) req.encryptionContext = encryptionContext;
  const keyId = f.optionalKeyId();
  if (keyId !== undefined) req.keyId = keyId;
  const encryptionAlgorithm = f.enumValue('EncryptionAlgorithm', ALGORITHMS);
  if (encryptionAlgorithm !== undefined) req.encryptionAlgorithm = encryptionAlgorithm;
  return req;
}

function decryptFacts(r: DecryptRequest): KmsRequestFacts {
  const facts: { -readonly [K in keyof KmsRequestFacts]: KmsRequestFacts[K] } = {};
  if (r.encryptionContext !== undefined) facts.encryptionContext = r.encryptionContext;
  const ciphertextKeyId = r.keyId === undefined ? blobKeyId(r.ciphertextBlob) : undefined;
  if (ciphertextKeyId !== undefined) facts.ciphertextKeyId = ciphertextKeyId;
  return facts;
}

/** The encryption context as an authorization fact (kms:EncryptionContext:*, grant constraints). */
function contextFacts(r: { encryptionContext?: Readonly<Record<string, string>> }): KmsRequestFacts {
  return r.encryptionContext !== undefined ? { encryptionContext: r.encryptionContext } : {};
}

/** The key a symmetric blob names, so Decrypt without KeyId is authorized against it. */
function blobKeyId(blob: Buffer): string | undefined {
  try {
    return readBlobHeader(blob).keyId;
  } catch {
    return undefined; // not a symmetric blob: the operation reports it
  }
}

/** ReEncrypt's source key as its record lists it: the one named, else the blob's (if any). */
function sourceKeyOf(r: { ciphertextBlob: Buffer; sourceKeyId?: string }): AuditedKey[] {
  if (r.sourceKeyId !== undefined) return [{ id: r.sourceKeyId }];
  const blobKey = blobKeyId(r.ciphertextBlob);
  return blobKey === undefined ? [] : [{ id: blobKey, fromBlob: true }];
}

// The JSON text of a key ARN: the same few keys answer call after call, so the last one's
// text is remembered. Base64 needs no JSON escaping (its alphabet is letters, digits, + / =),
// so the respondText templates put it between quotes as it is.
let lastArn = '';
let lastArnJson = '""';

function arnJson(arn: string): string {
  if (arn !== lastArn) {
    lastArnJson = JSON.stringify(arn);
    lastArn = arn;
  }
  return lastArnJson;
}

/** Optional fields spread only when present (exactOptionalPropertyTypes). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Cryptographic targets of symmetric (and RSA encryption) keys. */
export const cryptoRoutes: Record<string, KmsRoute> = {
  Encrypt: route({
    action: 'kms:Encrypt',
    takesDryRun: true,
    readOnly: true,
    parse: (f) => ({
      keyId: f.keyId(),
      plaintext: f.requiredBlob('Plaintext', { max: 4096 }),
      ...opt('encryptionContext', f.context()),
      ...opt('encryptionAlgorithm', f.enumValue('EncryptionAlgorithm', ALGORITHMS)),
    }),
    keyOf: (r) => r.keyId,
    conditions: contextFacts,
    operate: (keys, r) => encrypt(keys, r),
    auditData: (_req, r) => usedMaterial(r.key),
    respond: (r) => ({ CiphertextBlob: r.ciphertextBlob.toString('base64'), KeyId: keyArn(r.key), EncryptionAlgorithm: r.encryptionAlgorithm }),
    respondText: (r) => `{"CiphertextBlob":"${r.ciphertextBlob.toString('base64')}","KeyId":${arnJson(keyArn(r.key))},"EncryptionAlgorithm":${JSON.stringify(r.encryptionAlgorithm)}}`,
  }),

  Decrypt: route({
    action: 'kms:Decrypt',
    takesDryRun: true,
    readOnly: true,
    parse: decryptRequest,
    keyOf: (r) => r.keyId,
    conditions: decryptFacts,
    operate: (keys, r) => decrypt(keys, r),
    operateNow: (keys, r) => decryptNow(keys, r),
    auditData: (_req, r) => usedMaterial(r.key, r.keyVersion),
    respond: (r) => ({ KeyId: keyArn(r.key), Plaintext: r.plaintext.toString('base64'), EncryptionAlgorithm: r.encryptionAlgorithm }),
    respondText: (r) => `{"KeyId":${arnJson(keyArn(r.key))},"Plaintext":"${r.plaintext.toString('base64')}","EncryptionAlgorithm":${JSON.stringify(r.encryptionAlgorithm)}}`,
  }),

  ReEncrypt: route({
    // As AWS: kms:ReEncryptTo on the destination key, kms:ReEncryptFrom on the source key.
    action: 'kms:ReEncryptTo',
    takesDryRun: true,
    readOnly: true,
    parse: (f) => ({
      ciphertextBlob: f.requiredBlob('CiphertextBlob', { max: 6144 }),
      ...opt('sourceEncryptionContext', f.context('SourceEncryptionContext')),
      ...opt('sourceKeyId', f.optionalKeyId('SourceKeyId')),
      ...opt('sourceEncryptionAlgorithm', f.enumValue('SourceEncryptionAlgorithm', ALGORITHMS)),
      destinationKeyId: f.keyId('DestinationKeyId'),
      ...opt('destinationEncryptionContext', f.context('DestinationEncryptionContext')),
      ...opt('destinationEncryptionAlgorithm', f.enumValue('DestinationEncryptionAlgorithm', ALGORITHMS)),
    }),
    keyOf: (r) => r.destinationKeyId,
    conditions: (r) => contextFacts({ ...(r.destinationEncryptionContext !== undefined ? { encryptionContext: r.destinationEncryptionContext } : {}) }),
    alsoAuthorize: (r) => [
      {
        action: 'kms:ReEncryptFrom',
        keyIdentifier: r.sourceKeyId,
        facts: { ...contextFacts({ ...opt('encryptionContext', r.sourceEncryptionContext) }), ...opt('ciphertextKeyId', r.sourceKeyId === undefined ? blobKeyId(r.ciphertextBlob) : undefined) },
      },
    ],
    operate: (keys, r) => reEncrypt(keys, r),
    // CloudTrail's ReEncrypt record lists "two AWS KMS keys, the source KMS key and the
    // destination KMS key, in that order" (developer guide, ReEncrypt log entry example).
    auditedKeys: (r) => [...sourceKeyOf(r), { id: r.destinationKeyId }],
    resultKeys: (r) => [keyArn(r.sourceKey), keyArn(r.destinationKey)],
    auditData: (_req, r) => reEncryptMaterial(r.sourceKey, r.sourceKeyVersion, r.destinationKey),
    respond: (r) => ({
      CiphertextBlob: r.ciphertextBlob.toString('base64'),
      SourceKeyId: keyArn(r.sourceKey),
      KeyId: keyArn(r.destinationKey),
      SourceEncryptionAlgorithm: r.sourceEncryptionAlgorithm,
      DestinationEncryptionAlgorithm: r.destinationEncryptionAlgorithm,
    }),
  }),

  GenerateDataKey: route({
    action: 'kms:GenerateDataKey',
    takesDryRun: true,
    readOnly: true,
    parse: dataKeyRequest,
    keyOf: (r) => r.keyId,
    conditions: contextFacts,
    operate: (keys, r) => generateDataKey(keys, r),
    operateNow: (keys, r) => generateDataKeyNow(keys, r),
    auditData: (_req, r) => usedMaterial(r.key, r.keyVersion),
    respond: (r) => ({ CiphertextBlob: r.ciphertextBlob.toString('base64'), Plaintext: r.plaintext.toString('base64'), KeyId: keyArn(r.key) }),
    respondText: (r) => `{"CiphertextBlob":"${r.ciphertextBlob.toString('base64')}","Plaintext":"${r.plaintext.toString('base64')}","KeyId":${arnJson(keyArn(r.key))}}`,
  }),

  GenerateDataKeyWithoutPlaintext: route({
    action: 'kms:GenerateDataKeyWithoutPlaintext',
    takesDryRun: true,
    readOnly: true,
    parse: dataKeyRequest,
    keyOf: (r) => r.keyId,
    conditions: contextFacts,
    operate: (keys, r) => generateDataKeyWithoutPlaintext(keys, r),
    auditData: (_req, r) => usedMaterial(r.key, r.keyVersion),
    respond: (r) => ({ CiphertextBlob: r.ciphertextBlob.toString('base64'), KeyId: keyArn(r.key) }),
    respondText: (r) => `{"CiphertextBlob":"${r.ciphertextBlob.toString('base64')}","KeyId":${arnJson(keyArn(r.key))}}`,
  }),

  GenerateRandom: route({
    action: 'kms:GenerateRandom',
    readOnly: true,
    parse: generateRandomRequest,
    operate: async (_keys, r) => generateRandom(r.numberOfBytes),
    respond: (bytes) => ({ Plaintext: bytes.toString('base64') }),
  }),
};
