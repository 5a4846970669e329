import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SecretBytes } from '../../crypto/index.js';
import { ObjectCorruptedError } from '../errors.js';
import { dataBinding, derivePartKey, encodeBinding, encodeLayerBinding, newPartKeySalt, PART_KEY_SALT_BYTES, partDataBinding, partListTag, partListVerifies, type SealedObjectKey, type TaggedPart } from './sealing.js';

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

describe('partListTag and partListVerifies', () => {
  const K = SecretBytes.copyOf(Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
  const SALT = Buffer.alloc(32, 0xa5).toString('base64');
  const binding = { bucket: 'bkt', key: 'dir/k', objectId: 'u-1' };
  const parts: TaggedPart[] = [{ partNumber: 1, size: 5 * 1024 * 1024, keySalt: SALT }, { partNumber: 2, size: 7 }, { partNumber: 4, size: 0, keySalt: SALT }];
  const kms = { v: 1, mode: 'SSE-S3', kmsBlob: 'x', sealed: 'y' } as SealedObjectKey;
  const ssec = { v: 1, mode: 'SSE-C', salt: 'x', keyCheck: 'y', sealed: 'z' } as unknown as SealedObjectKey;

  it('known answer (computed with an independent HKDF and HMAC-SHA256 over the length-prefixed fields)', () => {
    assert.equal(partListTag(K, binding, parts), 'd7vr1Fx4cnMTssydn/sHtMdJ49JI8frSnfhSmo/waTw=');
  });

  it('verifies the list it tagged, and no list changed in any way: parts dropped, reordered, repeated, resized, renumbered, re-salted, or another binding', () => {
    const partsTag = partListTag(K, binding, parts);
    const check = (list: TaggedPart[], b = binding): boolean => partListVerifies(K, { ...b, parts: list, partsTag, sealedKey: kms });
    assert.equal(check(parts), true);
    const [p1, p2, p4] = parts as [TaggedPart, TaggedPart, TaggedPart];
    const changed: Array<[string, TaggedPart[]]> = [
      ['dropped', [p1, p4]], ['reordered', [p2, p1, p4]], ['repeated', [p1, p1, p2, p4]], ['resized', [p1, { ...p2, size: 8 }, p4]],
      ['renumbered', [p1, { ...p2, partNumber: 3 }, p4]], ['salt put back', [{ ...p1, keySalt: newPartKeySalt() }, p2, p4]],
      ['salt removed', [{ partNumber: 1, size: p1.size }, p2, p4]], ['salt added', [p1, { ...p2, keySalt: SALT }, p4]],
    ];
    for (const [what, list] of changed) assert.equal(check(list), false, what);
    assert.equal(check(parts, { ...binding, objectId: 'u-2' }), false, 'another upload');
    assert.equal(check(parts, { ...binding, key: 'dir/other' }), false, 'another key');
    const otherKey = SecretBytes.copyOf(Buffer.alloc(32, 1));
    assert.equal(partListVerifies(otherKey, { ...binding, parts, partsTag, sealedKey: kms }), false, 'another object key');
    const flipped = Buffer.from(partsTag, 'base64');
    flipped[5] = flipped[5]! ^ 1;
    assert.equal(partListVerifies(K, { ...binding, parts, partsTag: flipped.toString('base64'), sealedKey: kms }), false, 'a flipped tag bit');
    assert.equal(partListVerifies(K, { ...binding, parts, partsTag: partsTag.slice(0, 20), sealedKey: kms }), false, 'a cut tag');
    assert.equal(partListVerifies(K, { ...binding, parts, partsTag: 12 as unknown as string, sealedKey: kms }), false, 'a tag that is not text');
  });

  it('without a tag: only a list with no salted part (completed before tags) or an SSE-C object (completed without its key) reads', () => {
    assert.equal(partListVerifies(K, { ...binding, parts, sealedKey: kms }), false, 'salted parts owe a tag');
    assert.equal(partListVerifies(K, { ...binding, parts: parts.map(({ partNumber, size }) => ({ partNumber, size })), sealedKey: kms }), true);
    assert.equal(partListVerifies(K, { ...binding, parts, sealedKey: ssec }), true);
  });
});
