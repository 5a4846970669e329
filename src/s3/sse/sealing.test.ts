import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dataBinding, encodeBinding, encodeLayerBinding, partDataBinding } from './sealing.js';

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
