import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kmsAuditParameters } from './audit-params.js';

test('field names are lower-camel-cased, data fields dropped, context keys kept as sent', () => {
  const out = kmsAuditParameters({
    KeyId: 'alias/a',
    Plaintext: 'c2VjcmV0',
    EncryptionContext: { Tenant: 'x' },
    Nested: { InnerName: [{ DeepName: 1 }] },
  });
  assert.deepEqual(out, { keyId: 'alias/a', encryptionContext: { Tenant: 'x' }, nested: { innerName: [{ deepName: 1 }] } });
});

test('long and many distinct caller-chosen names convert exactly, whether or not the name cache keeps them', () => {
  const long = `Q${'z'.repeat(100_000)}`;
  assert.deepEqual(kmsAuditParameters({ [long]: 1 }), { [`q${'z'.repeat(100_000)}`]: 1 });
  // More distinct names than the cache holds; then the first ones again.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 1500; i++) {
      assert.deepEqual(kmsAuditParameters({ [`Field${i}`]: i }), { [`field${i}`]: i });
    }
  }
  assert.deepEqual(kmsAuditParameters({ [long]: 2 }), { [`q${'z'.repeat(100_000)}`]: 2 });
});

test('a body with no field to record gives none, even when one of its fields sets the prototype of the converted copy', () => {
  assert.equal(kmsAuditParameters({}), undefined);
  assert.equal(kmsAuditParameters({ Plaintext: 'c2VjcmV0', CiphertextBlob: 'AA==' }), undefined);
  // JSON.parse makes `__proto__` an own field; the copy's assignment sets its prototype instead.
  assert.equal(kmsAuditParameters(JSON.parse('{"__proto__":{"A":1}}') as Record<string, unknown>), undefined);
  assert.deepEqual(kmsAuditParameters({ KeyId: 'k' }), { keyId: 'k' });
});
