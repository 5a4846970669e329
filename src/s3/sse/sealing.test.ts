import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SecretBytes } from '../../crypto/index.js';
import { ObjectCorruptedError } from '../errors.js';
import { dataBinding, derivePartKey, encodeBinding, encodeLayerBinding, newPartKeySalt, PART_KEY_SALT_BYTES, partDataBinding } from './sealing.js';

// The bindings are authenticated data of every stored object key and segment: their bytes
// are an on-disk contract. These vectors were written by the first implementation (one
// Buffer per field, then a concat); a key with non-ASCII characters and a lone surrogate
// (written as U+FFFD) checks the lengths are byte counts, not string lengths.
const BINDING = { bucket: 'bkt', key: 'dir/ключ 😀 \ud800', objectId: '0f8e2c1a-7b3d-4e5f-9a6b-1c2d3e4f5a6b' };

describe('object bindings (pinned bytes)', () => {
  it('encodeBinding', () => {
    assert.equal(encodeBinding('SSE-KMS', BINDING).toString('hex'), '0000001b6369706865726c616b65207333206f626a656374206b6579207631000000075353452d4b4d5300000003626b74000000156469722fd0bad0bbd18ed18720f09f988020efbfbd0000002430663865326331612d376233642d346535662d396136622d316332643365346635613662');
  });
  it('dataBinding', () => {
    assert.equal(dataBinding(BINDING).toString('hex'), '000000156369706865726c616b65207333206461746120763100000003626b74000000156469722fd0bad0bbd18ed18720f09f988020efbfbd0000002430663865326331612d376233642d346535662d396136622d316332643365346635613662');
  });
  it('partDataBinding', () => {
    assert.equal(partDataBinding(BINDING, 7).toString('hex'), '0000001a6369706865726c616b652073332070617274206461746120763100000003626b74000000156469722fd0bad0bbd18ed18720f09f988020efbfbd0000002430663865326331612d376233642d346535662d396136622d3163326433653466356136620000000137');
  });
  it('encodeLayerBinding', () => {
    assert.equal(encodeLayerBinding('DSSE-KMS', BINDING, 2).toString('hex'), '0000001b6369706865726c616b65207333206f626a656374206b657920763100000008445353452d4b4d5300000003626b74000000156469722fd0bad0bbd18ed18720f09f988020efbfbd0000002430663865326331612d376233642d346535662d396136622d316332643365346635613662000000076c617965722032');
  });
});

// Part keys are an on-disk contract too: the vectors were computed with an independent
// HKDF-SHA-256 (RFC 5869, Python's hmac), not with this code.
describe('derivePartKey (known answers)', () => {
  const K = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const SALT = Buffer.alloc(32, 0xa5).toString('base64');
  const derive = (n: number, salt?: string): string => {
    const key = derivePartKey(SecretBytes.copyOf(K), n, salt);
    try {
      return key.unsafeBytes().toString('hex');
    } finally {
      key.dispose();
    }
  };
  it('v1, without a salt (parts written before salts): HKDF(K, no salt, info v1:n)', () => {
    assert.equal(derive(7), '3c7bce50916c483aa80a60bad9ed7a4a4d06882e61e03bd2cf2d7e13ae3a534d');
  });
  it('v2, with the part salt: HKDF(K, salt, info v2:n), a different key per number and per salt', () => {
    assert.equal(derive(7, SALT), 'fd51f03328f45c036b34075a282fc9bda33cd98a208813cdaf28714fff1a189b');
    assert.equal(derive(8, SALT), '01c0bf108dbecdeccc0c6f8becbd15c388ed6a8b0bad17e604d996e762bc4d7f');
    assert.notEqual(derive(7, newPartKeySalt()), derive(7, SALT));
  });
  it('fresh salts are PART_KEY_SALT_BYTES of canonical base64, never the same twice', () => {
    const a = newPartKeySalt();
    assert.equal(Buffer.from(a, 'base64').length, PART_KEY_SALT_BYTES);
    assert.equal(Buffer.from(a, 'base64').toString('base64'), a);
    assert.notEqual(newPartKeySalt(), a);
  });
  it('refuses a stored salt of the wrong length or not canonical base64 (ObjectCorruptedError)', () => {
    for (const bad of ['', Buffer.alloc(16).toString('base64'), Buffer.alloc(33).toString('base64'), `${SALT.slice(0, -1)}!`, SALT.replace('=', '')]) {
      assert.throws(() => derive(7, bad), ObjectCorruptedError, JSON.stringify(bad));
    }
  });
  it('refuses a stored salt that is not a string (a damaged part list: JSON null, a number, an array) as ObjectCorruptedError, not a TypeError', () => {
    for (const bad of [null, 123, [1, 2], { length: 32 }, true]) {
      assert.throws(() => derive(7, bad as unknown as string), ObjectCorruptedError, JSON.stringify(bad));
    }
  });
});
