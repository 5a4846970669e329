import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { grantAllows, grantTokenHash, newGrantToken } from './grants.js';
import type { GrantRecord } from './key-record.js';

const base: GrantRecord = {
  grantId: 'g',
  keyId: 'k',
  granteePrincipal: 'arn:aws:iam::111122223333:role/r',
  issuingAccount: 'arn:aws:iam::111122223333:root',
  operations: ['Decrypt', 'Encrypt'],
  createdAt: new Date(0),
  tokenHash: 'h',
};

describe('grantAllows', () => {
  it('allows only listed operations', () => {
    assert.equal(grantAllows(base, 'Decrypt', undefined), true);
    assert.equal(grantAllows(base, 'GenerateDataKey', undefined), false);
  });
  it('EncryptionContextEquals needs exactly the same pairs', () => {
    const g = { ...base, constraints: { encryptionContextEquals: { a: '1', b: '2' } } };
    assert.equal(grantAllows(g, 'Decrypt', { b: '2', a: '1' }), true);
    assert.equal(grantAllows(g, 'Decrypt', { a: '1' }), false);
    assert.equal(grantAllows(g, 'Decrypt', { a: '1', b: '2', c: '3' }), false);
    assert.equal(grantAllows(g, 'Decrypt', { a: '1', b: 'x' }), false);
    assert.equal(grantAllows(g, 'Decrypt', undefined), false);
  });
  it('EncryptionContextSubset needs at least the constraint pairs', () => {
    const g = { ...base, constraints: { encryptionContextSubset: { a: '1' } } };
    assert.equal(grantAllows(g, 'Encrypt', { a: '1' }), true);
    assert.equal(grantAllows(g, 'Encrypt', { a: '1', z: '9' }), true);
    assert.equal(grantAllows(g, 'Encrypt', { a: '2' }), false);
    assert.equal(grantAllows(g, 'Encrypt', {}), false);
    assert.equal(grantAllows(g, 'Encrypt', { toString: '1' }), false);
  });
  it('an empty Equals constraint allows only an empty context', () => {
    const g = { ...base, constraints: { encryptionContextEquals: {} } };
    assert.equal(grantAllows(g, 'Decrypt', {}), true);
    assert.equal(grantAllows(g, 'Decrypt', { a: '1' }), false);
  });
});

describe('grant tokens', () => {
  it('are random and stored only as their SHA-256', () => {
    const a = newGrantToken();
    const b = newGrantToken();
    assert.notEqual(a.token, b.token);
    assert.equal(a.tokenHash, grantTokenHash(a.token));
    assert.match(a.tokenHash, /^[0-9a-f]{64}$/);
    assert.ok(!a.tokenHash.includes(a.token));
  });
});
