import assert from 'node:assert/strict';
import { test } from 'node:test';
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
