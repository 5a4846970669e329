import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { keyMaterialId } from '../operations/rotation.js';
import { cachedKeyMaterialId } from './material-audit.js';

describe('cachedKeyMaterialId', () => {
  it('answers keyMaterialId for every key and version, before and after its bound empties the cache', () => {
    const first = randomUUID();
    for (const version of [1, 3, 2, 1, 3]) assert.equal(cachedKeyMaterialId(first, version), keyMaterialId(first, version));
    assert.notEqual(cachedKeyMaterialId(first, 1), cachedKeyMaterialId(first, 2));
    // More keys than it keeps: the cache empties, and every answer stays right.
    const keys = Array.from({ length: 1100 }, () => randomUUID());
    for (const keyId of keys) assert.equal(cachedKeyMaterialId(keyId, 1), keyMaterialId(keyId, 1));
    for (const keyId of [first, ...keys.slice(0, 5)]) assert.equal(cachedKeyMaterialId(keyId, 2), keyMaterialId(keyId, 2));
  });
});
