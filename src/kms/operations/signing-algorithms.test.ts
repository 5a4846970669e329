import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_SPECS, type KeyRecord } from '../keys/key-record.js';
import { keyAlgorithms } from '../wire/key-metadata.js';
import { algorithmParams, checkSigningRequest, SIGNING_ALGORITHMS, signingAlgorithmsFor } from './signing-algorithms.js';

function signingKey(keySpec: KeyRecord['keySpec']): KeyRecord {
  return { keySpec, keyUsage: 'SIGN_VERIFY', keyId: '00000000-0000-4000-8000-000000000000', region: 'us-east-1', accountId: '111122223333' } as KeyRecord;
}

describe('signing algorithms', () => {
  it('offers, for every signing spec, exactly what DescribeKey lists', () => {
    for (const spec of KEY_SPECS) {
      const listed = spec.startsWith('RSA_') || spec.startsWith('ECC_') ? keyAlgorithms(signingKey(spec)).SigningAlgorithms : [];
      assert.deepEqual([...signingAlgorithmsFor(spec)], listed, spec);
    }
  });

  it('uses the digest length as PSS salt and DIGEST length, and the hash the name says', () => {
    for (const algorithm of SIGNING_ALGORITHMS) {
      const p = algorithmParams(algorithm);
      assert.equal(p.hash, `sha${algorithm.slice(-3)}`);
      assert.equal(p.digestBytes * 8, Number(algorithm.slice(-3)));
    }
  });

  it('refuses a digest one byte short or long, and an algorithm of another curve', () => {
    const p256 = signingKey('ECC_NIST_P256');
    assert.doesNotThrow(() => checkSigningRequest(p256, 'ECDSA_SHA_256', 'DIGEST', Buffer.alloc(32)));
    assert.throws(() => checkSigningRequest(p256, 'ECDSA_SHA_256', 'DIGEST', Buffer.alloc(31)), { name: 'ValidationError' });
    assert.throws(() => checkSigningRequest(p256, 'ECDSA_SHA_256', 'DIGEST', Buffer.alloc(33)), { name: 'ValidationError' });
    assert.doesNotThrow(() => checkSigningRequest(p256, 'ECDSA_SHA_256', 'RAW', Buffer.alloc(33)));
    assert.throws(() => checkSigningRequest(p256, 'ECDSA_SHA_384', 'RAW', Buffer.alloc(1)), { name: 'InvalidKeyUsageError' });
  });
});
