import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from './canonical-json.js';
import { isRedactedFieldName, redactParameters } from './redact.js';

test('an MFA TokenCode is dropped whatever its spelling; the MFA SerialNumber is kept', () => {
  for (const name of ['TokenCode', 'tokenCode', 'token_code', 'TOKEN-CODE']) assert.equal(isRedactedFieldName(name), true, name);
  const out = redactParameters({
    roleArn: 'arn:aws:iam::000000000000:role/r',
    serialNumber: 'arn:aws:iam::000000000000:mfa/u',
    tokenCode: '123456',
    nested: [{ TokenCode: '654321', ok: 1 }],
  });
  assert.deepEqual(out, { roleArn: 'arn:aws:iam::000000000000:role/r', serialNumber: 'arn:aws:iam::000000000000:mfa/u', nested: [{ ok: 1 }] });
  assert.equal(isRedactedFieldName('SerialNumber'), false);
});

test('an own __proto__ key (a JSON-parsed encryption context can carry one) stays a member, never the result\'s prototype', () => {
  const context = JSON.parse('{"__proto__":{"team":"ml"},"purpose":"training","z":"__proto__"}') as Record<string, unknown>;
  const out = redactParameters({ encryptionContext: context, other: JSON.parse('{"__proto__":"text"}') as unknown });
  const inner = out['encryptionContext'] as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(inner), Object.prototype);
  assert.deepEqual(Object.keys(inner), ['__proto__', 'purpose', 'z']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(inner, '__proto__')?.value, { team: 'ml' });
  assert.equal(Object.getOwnPropertyDescriptor(out['other'] as object, '__proto__')?.value, 'text');
  assert.equal(canonicalJson(out), '{"encryptionContext":{"__proto__":{"team":"ml"},"purpose":"training","z":"__proto__"},"other":{"__proto__":"text"}}');
});
