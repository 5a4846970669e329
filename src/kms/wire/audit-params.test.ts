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

test('a body with no field to record gives none', () => {
  assert.equal(kmsAuditParameters({}), undefined);
  assert.equal(kmsAuditParameters({ Plaintext: 'c2VjcmV0', CiphertextBlob: 'AA==' }), undefined);
  assert.deepEqual(kmsAuditParameters({ KeyId: 'k' }), { keyId: 'k' });
});

test('a `__proto__` field or context key (own, as JSON.parse makes it) is recorded as an own field, data fields under it dropped, the prototype untouched', () => {
  const own = (json: string) => kmsAuditParameters(JSON.parse(json) as Record<string, unknown>);
  const field = own('{"__proto__":{"A":1,"Plaintext":"c2VjcmV0"}}');
  assert.deepEqual(Object.entries(field ?? {}), [['__proto__', { a: 1 }]]);
  assert.equal(Object.getPrototypeOf(field), Object.prototype);
  const ctx = own('{"KeyId":"k","EncryptionContext":{"__proto__":"x","a":"b"}}')?.['encryptionContext'] as Record<string, unknown>;
  assert.deepEqual(Object.entries(ctx), [['__proto__', 'x'], ['a', 'b']]);
  assert.equal(Object.getPrototypeOf(ctx), Object.prototype);
  assert.equal(JSON.stringify(ctx), '{"__proto__":"x","a":"b"}');
});
