import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, createPrivateKey, createPublicKey, publicEncrypt, verify as nodeVerify, type KeyObject } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
  type MacAlgorithmSpec,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';

// AWS's names, written out here on purpose rather than imported from
// src/kms/operations/signing-algorithms.ts: GetPublicKey's SigningAlgorithms is checked
// against them, which a test that read the server's own table could never fail.
const RSA_ALGORITHMS: SigningAlgorithmSpec[] = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
];
/** Every signing key spec with the algorithms AWS offers for it. */
const SIGNING: ReadonlyArray<[KeySpec, SigningAlgorithmSpec[]]> = [
  ['RSA_2048', RSA_ALGORITHMS],
  ['RSA_3072', RSA_ALGORITHMS],
  ['RSA_4096', RSA_ALGORITHMS],
  ['ECC_NIST_P256', ['ECDSA_SHA_256']],
  ['ECC_NIST_P384', ['ECDSA_SHA_384']],
  ['ECC_NIST_P521', ['ECDSA_SHA_512']],
  ['ECC_SECG_P256K1', ['ECDSA_SHA_256']],
];
const MACS: ReadonlyArray<[KeySpec, MacAlgorithmSpec]> = [
  ['HMAC_224', 'HMAC_SHA_224'],
  ['HMAC_256', 'HMAC_SHA_256'],
  ['HMAC_384', 'HMAC_SHA_384'],
  ['HMAC_512', 'HMAC_SHA_512'],
];

/** How node:crypto verifies one KMS algorithm: hash, and PSS with salt = digest length. */
function localVerify(algorithm: SigningAlgorithmSpec, key: KeyObject, message: Buffer, signature: Uint8Array): boolean {
  const hash = `sha${algorithm.slice(-3)}`;
  const digestBytes = Number(algorithm.slice(-3)) / 8;
  if (algorithm.startsWith('RSASSA_PSS_')) {
    return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digestBytes }, signature);
  }
  if (algorithm.startsWith('RSASSA_PKCS1_')) return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  return nodeVerify(hash, message, { key, dsaEncoding: 'der' }, signature);
}

function flipped(bytes: Uint8Array, index: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

describe('KMS asymmetric keys, data key pairs and HMAC', () => {
  let t: TestServer;
  let kms: KMSClient;
  const keyIds = new Map<string, string>();

  async function createKey(keySpec: KeySpec, keyUsage: KeyUsageType): Promise<string> {
    const out = await kms.send(new CreateKeyCommand({ KeySpec: keySpec, KeyUsage: keyUsage }));
    return out.KeyMetadata!.KeyId!;
  }
  function keyFor(spec: string): string {
    const id = keyIds.get(spec);
    assert.ok(id, `no key made for ${spec}`);
    return id;
  }

  before(async () => {
    t = await startTestServer();
    kms = t.kms();
    for (const [spec] of SIGNING) keyIds.set(spec, await createKey(spec, 'SIGN_VERIFY'));
    for (const [spec] of MACS) keyIds.set(spec, await createKey(spec, 'GENERATE_VERIFY_MAC'));
    keyIds.set('RSA_ENCRYPT', await createKey('RSA_2048', 'ENCRYPT_DECRYPT'));
    keyIds.set('SYMMETRIC', await createKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'));
  });
  after(async () => {
    await t.close();
  });

  describe('Sign and Verify', () => {
    const message = Buffer.from('the quick brown fox signs the lazy dog');

    for (const [spec, algorithms] of SIGNING) {
      for (const algorithm of algorithms) {
        it(`${spec} × ${algorithm}: RAW and DIGEST signatures verify in KMS and with node:crypto`, async () => {
          const keyId = keyFor(spec);
          const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
          const publicKey = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });

          const raw = await kms.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: algorithm }));
          assert.equal(raw.SigningAlgorithm, algorithm);
          assert.match(raw.KeyId!, new RegExp(`:key/${keyId}$`));
          assert.ok(localVerify(algorithm, publicKey, message, raw.Signature!), 'RAW signature must verify with node:crypto');
          const ok = await kms.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: raw.Signature, SigningAlgorithm: algorithm }));
          assert.equal(ok.SignatureValid, true);

          const digest = createHash(`sha${algorithm.slice(-3)}`).update(message).digest();
          const pre = await kms.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: algorithm }));
          assert.ok(localVerify(algorithm, publicKey, message, pre.Signature!), 'DIGEST signature must verify over the message');
          // Each path verifies what the other signed.
          await kms.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: pre.Signature, SigningAlgorithm: algorithm }));
          await kms.send(new VerifyCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', Signature: raw.Signature, SigningAlgorithm: algorithm }));
        });
      }
    }

    it('many concurrent DIGEST signatures all complete and verify (OpenSSL children are queued, not dropped)', async () => {
      const keyId = keyFor('ECC_NIST_P256');
      const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      const publicKey = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
      const messages = Array.from({ length: 12 }, (_, i) => Buffer.from(`message ${i}`));
      const signed = await Promise.all(
        messages.map((m) => kms.send(new SignCommand({ KeyId: keyId, Message: createHash('sha256').update(m).digest(), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }))),
      );
      signed.forEach((s, i) => assert.ok(localVerify('ECDSA_SHA_256', publicKey, messages[i]!, s.Signature!), `signature ${i}`));
    });

    it('ECDSA signatures are DER SEQUENCEs', async () => {
      const out = await kms.send(new SignCommand({ KeyId: keyFor('ECC_NIST_P256'), Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      const sig = Buffer.from(out.Signature!);
      assert.equal(sig[0], 0x30);
      assert.equal(sig[1], sig.length - 2);
    });

    for (const [spec, algorithm] of [['RSA_2048', 'RSASSA_PSS_SHA_256'], ['ECC_NIST_P384', 'ECDSA_SHA_384']] as const) {
      it(`${spec}: a tampered message or signature fails with KMSInvalidSignatureException (RAW and DIGEST)`, async () => {
        const keyId = keyFor(spec);
        const { Signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: algorithm }));
        const invalid = { name: 'KMSInvalidSignatureException' };
        await assert.rejects(kms.send(new VerifyCommand({ KeyId: keyId, Message: flipped(message, 3), Signature, SigningAlgorithm: algorithm })), invalid);
        await assert.rejects(kms.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: flipped(Signature!, Signature!.length - 1), SigningAlgorithm: algorithm })), invalid);
        await assert.rejects(kms.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: Buffer.from('not a signature'), SigningAlgorithm: algorithm })), invalid);
        const digest = createHash(`sha${algorithm.slice(-3)}`).update(message).digest();
        await assert.rejects(kms.send(new VerifyCommand({ KeyId: keyId, Message: flipped(digest, 0), MessageType: 'DIGEST', Signature, SigningAlgorithm: algorithm })), invalid);
        await assert.rejects(kms.send(new VerifyCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', Signature: flipped(Signature!, 10), SigningAlgorithm: algorithm })), invalid);
      });
    }

    it('a signature from another key does not verify', async () => {
      const { Signature } = await kms.send(new SignCommand({ KeyId: keyFor('ECC_NIST_P256'), Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      await assert.rejects(
        kms.send(new VerifyCommand({ KeyId: keyFor('ECC_SECG_P256K1'), Message: message, Signature, SigningAlgorithm: 'ECDSA_SHA_256' })),
        { name: 'KMSInvalidSignatureException' },
      );
    });

    it('an algorithm the key spec does not offer is InvalidKeyUsageException', async () => {
      const cases: Array<[string, SigningAlgorithmSpec]> = [
        ['ECC_NIST_P256', 'ECDSA_SHA_384'],
        ['ECC_NIST_P521', 'ECDSA_SHA_256'],
        ['ECC_SECG_P256K1', 'RSASSA_PSS_SHA_256'],
        ['RSA_2048', 'ECDSA_SHA_256'],
      ];
      for (const [spec, algorithm] of cases) {
        await assert.rejects(kms.send(new SignCommand({ KeyId: keyFor(spec), Message: message, SigningAlgorithm: algorithm })), { name: 'InvalidKeyUsageException' }, `${spec} with ${algorithm}`);
        await assert.rejects(
          kms.send(new VerifyCommand({ KeyId: keyFor(spec), Message: message, Signature: Buffer.alloc(64, 1), SigningAlgorithm: algorithm })),
          { name: 'InvalidKeyUsageException' },
        );
      }
    });

    it('keys that cannot sign are InvalidKeyUsageException', async () => {
      for (const id of [keyFor('SYMMETRIC'), keyFor('RSA_ENCRYPT'), keyFor('HMAC_256')]) {
        await assert.rejects(kms.send(new SignCommand({ KeyId: id, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })), { name: 'InvalidKeyUsageException' });
        await assert.rejects(
          kms.send(new VerifyCommand({ KeyId: id, Message: message, Signature: Buffer.alloc(256, 1), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })),
          { name: 'InvalidKeyUsageException' },
        );
      }
    });

    it('a DIGEST whose length does not match the algorithm is ValidationException', async () => {
      const cases: Array<[string, SigningAlgorithmSpec, number]> = [
        ['ECC_NIST_P256', 'ECDSA_SHA_256', 31],
        ['ECC_NIST_P256', 'ECDSA_SHA_256', 48],
        ['ECC_NIST_P521', 'ECDSA_SHA_512', 32],
        ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_384', 32],
        ['RSA_2048', 'RSASSA_PSS_SHA_512', 65],
      ];
      for (const [spec, algorithm, length] of cases) {
        await assert.rejects(
          kms.send(new SignCommand({ KeyId: keyFor(spec), Message: Buffer.alloc(length, 7), MessageType: 'DIGEST', SigningAlgorithm: algorithm })),
          { name: 'ValidationException' },
          `${algorithm} with a ${length}-byte digest`,
        );
      }
      await assert.rejects(
        kms.send(new VerifyCommand({ KeyId: keyFor('ECC_NIST_P384'), Message: Buffer.alloc(32), MessageType: 'DIGEST', Signature: Buffer.alloc(64, 1), SigningAlgorithm: 'ECDSA_SHA_384' })),
        { name: 'ValidationException' },
      );
    });

    it('a missing SigningAlgorithm or an unknown MessageType is ValidationException', async () => {
      const keyId = keyFor('ECC_NIST_P256');
      await assert.rejects(kms.send(new SignCommand({ KeyId: keyId, Message: message } as unknown as ConstructorParameters<typeof SignCommand>[0])), { name: 'ValidationException' });
      await assert.rejects(
        kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'HASHED' as 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })),
        { name: 'ValidationException' },
      );
    });

    it('a RAW message over 4096 bytes is ValidationException; 4096 bytes sign', async () => {
      const keyId = keyFor('ECC_NIST_P256');
      await kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.alloc(4096, 1), SigningAlgorithm: 'ECDSA_SHA_256' }));
      await assert.rejects(kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.alloc(4097, 1), SigningAlgorithm: 'ECDSA_SHA_256' })), { name: 'ValidationException' });
    });
  });

  describe('GetPublicKey', () => {
    it('describes signing keys with their algorithms', async () => {
      const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyFor('ECC_SECG_P256K1') }));
      assert.equal(out.KeySpec, 'ECC_SECG_P256K1');
      assert.equal(out.CustomerMasterKeySpec, 'ECC_SECG_P256K1');
      assert.equal(out.KeyUsage, 'SIGN_VERIFY');
      assert.deepEqual(out.SigningAlgorithms, ['ECDSA_SHA_256']);
      assert.equal(out.EncryptionAlgorithms, undefined);
      const key = createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' });
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'secp256k1');
      const rsa = await kms.send(new GetPublicKeyCommand({ KeyId: keyFor('RSA_3072') }));
      assert.deepEqual(rsa.SigningAlgorithms, RSA_ALGORITHMS);
      assert.equal(createPublicKey({ key: Buffer.from(rsa.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength, 3072);
    });

    it('describes RSA encryption keys with their encryption algorithms', async () => {
      const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyFor('RSA_ENCRYPT') }));
      assert.equal(out.KeyUsage, 'ENCRYPT_DECRYPT');
      assert.deepEqual(out.EncryptionAlgorithms, ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
      assert.equal(out.SigningAlgorithms, undefined);
    });

    it('symmetric and HMAC keys have no public key: UnsupportedOperationException', async () => {
      for (const id of [keyFor('SYMMETRIC'), keyFor('HMAC_384')]) {
        await assert.rejects(kms.send(new GetPublicKeyCommand({ KeyId: id })), { name: 'UnsupportedOperationException' });
      }
    });
  });

  describe('RSA encryption keys', () => {
    for (const [algorithm, oaepHash] of [['RSAES_OAEP_SHA_1', 'sha1'], ['RSAES_OAEP_SHA_256', 'sha256']] as const) {
      it(`${algorithm}: encrypted locally with the public key, decrypted by KMS`, async () => {
        const keyId = keyFor('RSA_ENCRYPT');
        const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
        const key = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
        const secret = Buffer.from(`secret for ${algorithm}`);
        const blob = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, secret);
        const out = await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: blob, EncryptionAlgorithm: algorithm }));
        assert.deepEqual(Buffer.from(out.Plaintext!), secret);
        assert.equal(out.EncryptionAlgorithm, algorithm);
        // KMS's own Encrypt round-trips too.
        const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: secret, EncryptionAlgorithm: algorithm }));
        const dec = await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: algorithm }));
        assert.deepEqual(Buffer.from(dec.Plaintext!), secret);
      });
    }

    it('the other OAEP hash, a tampered blob or a missing KeyId is InvalidCiphertextException', async () => {
      const keyId = keyFor('RSA_ENCRYPT');
      const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
      const invalid = { name: 'InvalidCiphertextException' };
      await assert.rejects(kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })), invalid);
      await assert.rejects(kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: flipped(enc.CiphertextBlob!, 5), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })), invalid);
      await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })), invalid);
    });

    it('SYMMETRIC_DEFAULT with an RSA key, or RSA on a signing key, is InvalidKeyUsageException', async () => {
      await assert.rejects(kms.send(new EncryptCommand({ KeyId: keyFor('RSA_ENCRYPT'), Plaintext: Buffer.from('x') })), { name: 'InvalidKeyUsageException' });
      await assert.rejects(
        kms.send(new EncryptCommand({ KeyId: keyFor('RSA_2048'), Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })),
        { name: 'InvalidKeyUsageException' },
      );
    });

    it('an encryption context with an RSA key is ValidationException on Encrypt and on Decrypt', async () => {
      const keyId = keyFor('RSA_ENCRYPT');
      const context = { purpose: 'test' };
      await assert.rejects(
        kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: context })),
        { name: 'ValidationException' },
      );
      const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
      // RSA ciphertext binds no context, so accepting one would suggest a check that never happens.
      await assert.rejects(
        kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: context })),
        { name: 'ValidationException' },
      );
    });

    it('plaintext longer than OAEP allows is ValidationException', async () => {
      // RSA_2048 with OAEP SHA-256 holds at most 256 - 2·32 - 2 = 190 bytes.
      const keyId = keyFor('RSA_ENCRYPT');
      await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(190, 1), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
      await assert.rejects(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(191, 1), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })), { name: 'ValidationException' });
    });
  });

  describe('GenerateDataKeyPair', () => {
    const context = { purpose: 'data-key-pair-test' };
    const specs = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1'] as const;

    for (const spec of specs) {
      it(`${spec}: the private key matches the public key and decrypts under the context`, async () => {
        const keyId = keyFor('SYMMETRIC');
        const out = await kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: spec, EncryptionContext: context }));
        assert.equal(out.KeyPairSpec, spec);
        assert.match(out.KeyId!, new RegExp(`:key/${keyId}$`));
        const privateKey = createPrivateKey({ key: Buffer.from(out.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
        const derived = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
        assert.deepEqual(derived, Buffer.from(out.PublicKey!));
        const dec = await kms.send(new DecryptCommand({ CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: context }));
        assert.deepEqual(Buffer.from(dec.Plaintext!), Buffer.from(out.PrivateKeyPlaintext!));
      });
    }

    it('WithoutPlaintext returns no private key; the sealed one decrypts to a key matching the public key', async () => {
      const out = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyFor('SYMMETRIC'), KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: context }));
      assert.equal((out as { PrivateKeyPlaintext?: unknown }).PrivateKeyPlaintext, undefined);
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: context }));
      const privateKey = createPrivateKey({ key: Buffer.from(dec.Plaintext!), format: 'der', type: 'pkcs8' });
      assert.deepEqual(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }), Buffer.from(out.PublicKey!));
    });

    it('the sealed private key does not decrypt under another context', async () => {
      const out = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyFor('SYMMETRIC'), KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: context }));
      for (const other of [{ purpose: 'other' }, {}]) {
        await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: other })), { name: 'InvalidCiphertextException' });
      }
    });

    it('an asymmetric or HMAC KMS key is InvalidKeyUsageException', async () => {
      for (const id of [keyFor('RSA_ENCRYPT'), keyFor('ECC_NIST_P256'), keyFor('HMAC_256')]) {
        await assert.rejects(kms.send(new GenerateDataKeyPairCommand({ KeyId: id, KeyPairSpec: 'ECC_NIST_P256' })), { name: 'InvalidKeyUsageException' });
        await assert.rejects(kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: id, KeyPairSpec: 'ECC_NIST_P256' })), { name: 'InvalidKeyUsageException' });
      }
    });

    it('an unknown KeyPairSpec is ValidationException', async () => {
      await assert.rejects(kms.send(new GenerateDataKeyPairCommand({ KeyId: keyFor('SYMMETRIC'), KeyPairSpec: 'RSA_1024' as 'RSA_2048' })), { name: 'ValidationException' });
    });
  });

  describe('GenerateMac and VerifyMac', () => {
    const message = Buffer.from('mac me');

    for (const [spec, algorithm] of MACS) {
      it(`${spec} × ${algorithm}: generates a MAC of the right length that verifies`, async () => {
        const keyId = keyFor(spec);
        const out = await kms.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: algorithm }));
        assert.equal(out.MacAlgorithm, algorithm);
        assert.equal(out.Mac!.length, Number(algorithm.slice(-3)) / 8);
        const again = await kms.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: algorithm }));
        assert.deepEqual(again.Mac, out.Mac, 'HMAC is deterministic');
        const ok = await kms.send(new VerifyMacCommand({ KeyId: keyId, Message: message, Mac: out.Mac, MacAlgorithm: algorithm }));
        assert.equal(ok.MacValid, true);
        assert.equal(ok.MacAlgorithm, algorithm);
      });
    }

    it('a tampered, truncated or other key\'s MAC, or a tampered message, is KMSInvalidMacException', async () => {
      const keyId = keyFor('HMAC_256');
      const { Mac } = await kms.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
      const invalid = { name: 'KMSInvalidMacException' };
      await assert.rejects(kms.send(new VerifyMacCommand({ KeyId: keyId, Message: message, Mac: flipped(Mac!, 31), MacAlgorithm: 'HMAC_SHA_256' })), invalid);
      await assert.rejects(kms.send(new VerifyMacCommand({ KeyId: keyId, Message: message, Mac: Mac!.subarray(0, 16), MacAlgorithm: 'HMAC_SHA_256' })), invalid);
      await assert.rejects(kms.send(new VerifyMacCommand({ KeyId: keyId, Message: flipped(message, 0), Mac, MacAlgorithm: 'HMAC_SHA_256' })), invalid);
      const other = await createKey('HMAC_256', 'GENERATE_VERIFY_MAC');
      await assert.rejects(kms.send(new VerifyMacCommand({ KeyId: other, Message: message, Mac, MacAlgorithm: 'HMAC_SHA_256' })), invalid);
    });

    it('an algorithm that does not match the key spec, or a non-HMAC key, is InvalidKeyUsageException', async () => {
      await assert.rejects(kms.send(new GenerateMacCommand({ KeyId: keyFor('HMAC_256'), Message: message, MacAlgorithm: 'HMAC_SHA_512' })), { name: 'InvalidKeyUsageException' });
      await assert.rejects(
        kms.send(new VerifyMacCommand({ KeyId: keyFor('HMAC_224'), Message: message, Mac: Buffer.alloc(32), MacAlgorithm: 'HMAC_SHA_256' })),
        { name: 'InvalidKeyUsageException' },
      );
      for (const id of [keyFor('SYMMETRIC'), keyFor('ECC_NIST_P256')]) {
        await assert.rejects(kms.send(new GenerateMacCommand({ KeyId: id, Message: message, MacAlgorithm: 'HMAC_SHA_256' })), { name: 'InvalidKeyUsageException' });
      }
    });

    it('a message of 4096 bytes is accepted, 4097 bytes is ValidationException', async () => {
      const keyId = keyFor('HMAC_512');
      await kms.send(new GenerateMacCommand({ KeyId: keyId, Message: Buffer.alloc(4096, 2), MacAlgorithm: 'HMAC_SHA_512' }));
      await assert.rejects(kms.send(new GenerateMacCommand({ KeyId: keyId, Message: Buffer.alloc(4097, 2), MacAlgorithm: 'HMAC_SHA_512' })), { name: 'ValidationException' });
    });
  });

  describe('key state', () => {
    it('a disabled key refuses Sign, Verify, GetPublicKey, GenerateMac and VerifyMac with DisabledException', async () => {
      const ecc = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      const hmac = await createKey('HMAC_256', 'GENERATE_VERIFY_MAC');
      const message = Buffer.from('m');
      const { Signature } = await kms.send(new SignCommand({ KeyId: ecc, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      const { Mac } = await kms.send(new GenerateMacCommand({ KeyId: hmac, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
      await kms.send(new DisableKeyCommand({ KeyId: ecc }));
      await kms.send(new DisableKeyCommand({ KeyId: hmac }));
      const disabled = { name: 'DisabledException' };
      await assert.rejects(kms.send(new SignCommand({ KeyId: ecc, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })), disabled);
      await assert.rejects(kms.send(new VerifyCommand({ KeyId: ecc, Message: message, Signature, SigningAlgorithm: 'ECDSA_SHA_256' })), disabled);
      await assert.rejects(kms.send(new GetPublicKeyCommand({ KeyId: ecc })), disabled);
      await assert.rejects(kms.send(new GenerateMacCommand({ KeyId: hmac, Message: message, MacAlgorithm: 'HMAC_SHA_256' })), disabled);
      await assert.rejects(kms.send(new VerifyMacCommand({ KeyId: hmac, Message: message, Mac, MacAlgorithm: 'HMAC_SHA_256' })), disabled);
    });

    it('a key pending deletion refuses them with KMSInvalidStateException, and data key pairs too', async () => {
      const ecc = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      const sym = await createKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: ecc, PendingWindowInDays: 7 }));
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: sym, PendingWindowInDays: 7 }));
      const state = { name: 'KMSInvalidStateException' };
      await assert.rejects(kms.send(new SignCommand({ KeyId: ecc, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' })), state);
      await assert.rejects(kms.send(new GetPublicKeyCommand({ KeyId: ecc })), state);
      await assert.rejects(kms.send(new GenerateDataKeyPairCommand({ KeyId: sym, KeyPairSpec: 'ECC_NIST_P256' })), state);
    });
  });
});
