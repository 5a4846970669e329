import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ManualClock } from '../../common/clock.js';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import { DisabledError, NotFoundError } from '../errors.js';
import type { CallContext } from '../kms-context.js';
import { createKey } from '../operations/create-key.js';
import { generateDataKey } from '../operations/crypto-operations.js';
import { disableKey, scheduleKeyDeletion } from '../operations/key-lifecycle.js';
import { putKeyPolicy } from '../operations/key-policy.js';
import { enableKeyRotation } from '../operations/rotation.js';
import { LocalRootKeyProvider } from '../root-key/local-root-key.js';
import { keyArn } from './key-record.js';
import { KeyService } from './key-service.js';

const CALL = { principal: { type: 'Root', accountId: '000000000000', arn: 'arn:aws:iam::000000000000:root', principalId: '000000000000' }, sourceIp: '', secureTransport: false } as unknown as CallContext;

function setup(materialCacheTtlMs = 60_000): { keys: KeyService; clock: ManualClock } {
  const clock = new ManualClock();
  const keys = new KeyService({
    store: new SqliteKeyStore(openSqlite(':memory:')),
    rootKey: new LocalRootKeyProvider('file', SecretBytes.random(32)),
    clock,
    settings: { region: 'us-east-1', accountId: '000000000000', materialCacheTtlMs },
  });
  return { keys, clock };
}

async function newKey(keys: KeyService): Promise<string> {
  const key = await createKey(keys, { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: '', tags: [] }, CALL);
  return key.keyId;
}

describe('KeyService.resolveCached', () => {
  it('answers what resolve answered for a bare key id once the record is cached, and nothing for other identifiers', async () => {
    const { keys } = setup();
    const keyId = await newKey(keys);
    const resolved = await keys.resolve(keyId);
    assert.equal(keys.resolveCached(keyId), resolved);
    assert.equal(keys.resolveCached(keyArn(resolved)), undefined, 'an ARN goes through resolve');
    assert.equal(keys.resolveCached('alias/nothing'), undefined);
    assert.equal(keys.resolveCached(keyId.toUpperCase()), undefined, 'not a bare key id');
  });

  it('the key id matched last (kept across services) lends nothing to another identifier shape or another service', async () => {
    const { keys } = setup();
    const [a, b] = [await newKey(keys), await newKey(keys)];
    const [ra, rb] = [await keys.resolve(a), await keys.resolve(b)];
    const other = new KeyService({
      store: new SqliteKeyStore(openSqlite(':memory:')),
      rootKey: new LocalRootKeyProvider('file', SecretBytes.random(32)),
      clock: new ManualClock(),
      settings: { region: 'eu-west-1', accountId: '111111111111', materialCacheTtlMs: 60_000 },
    });
    // Alternating, so each identifier follows one that matched the key-id pattern last.
    for (let i = 0; i < 3; i++) {
      assert.equal(keys.resolveCached(a), ra);
      assert.equal(other.resolveCached(a), undefined, 'another account and region: not its key');
      assert.equal(keys.resolveCached(keyArn(ra)), undefined, 'an ARN after its own key id');
      assert.equal(keys.resolveCached(a), ra);
      assert.equal(keys.resolveCached(`alias/${a}`), undefined, 'an alias named like the key id');
      assert.equal(keys.resolveCached(a + ' '), undefined);
      assert.equal(keys.resolveCached(a.toUpperCase()), undefined);
      assert.equal(keys.resolveCached(b), rb);
      assert.equal(keys.resolveCached(a.slice(0, -1)), undefined);
    }
    await assert.rejects(other.resolve(a), NotFoundError);
  });

  it('answers nothing once the key owes upkeep (its deletion date passed): resolve then destroys it', async () => {
    const { keys, clock } = setup();
    const keyId = await newKey(keys);
    await scheduleKeyDeletion(keys, keyId, 7);
    await keys.resolve(keyId);
    assert.notEqual(keys.resolveCached(keyId), undefined);
    clock.advance(8 * 86_400_000);
    assert.equal(keys.resolveCached(keyId), undefined);
    await assert.rejects(keys.resolve(keyId), NotFoundError);
  });
  it('never answers a record older than this service\'s own writes: disable, policy change', async () => {
    const { keys } = setup();
    const keyId = await newKey(keys);
    await keys.resolve(keyId);
    await keys.material(await keys.resolve(keyId), 1); // material cached too: the hot path's whole state
    await disableKey(keys, keyId);
    assert.notEqual(keys.resolveCached(keyId)?.keyState, 'Enabled', 'a disabled key is not served as enabled from the cache');
    await assert.rejects(generateDataKey(keys, { keyId, keySpec: 'AES_256' }), DisabledError);
    assert.equal((await keys.resolve(keyId)).keyState, 'Disabled');
    assert.equal(keys.resolveCached(keyId)?.keyState, 'Disabled');

    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'kms:*', Resource: '*' }] });
    await putKeyPolicy(keys, keyId, policy);
    const after = keys.resolveCached(keyId) ?? (await keys.resolve(keyId));
    assert.equal(after.policy, policy);
    assert.equal(keys.resolveCached(keyId)?.policy, policy);
  });

  it('answers nothing once an automatic rotation is due: resolve rotates, and the new version has no cached material', async () => {
    const { keys, clock } = setup();
    const keyId = await newKey(keys);
    await enableKeyRotation(keys, keyId, 90);
    const before = await keys.resolve(keyId);
    await keys.material(before, 1);
    assert.equal(keys.resolveCached(keyId), before);
    clock.advance(91 * 86_400_000);
    assert.equal(keys.resolveCached(keyId), undefined, 'rotation due: the cached record is not served');
    const rotated = await keys.resolve(keyId);
    assert.deepEqual(rotated.versions.map((v) => v.version), [1, 2]);
    await keys.resolve(keyId); // the rotation's write dropped the cached record: read it again
    assert.deepEqual(keys.resolveCached(keyId)?.versions.map((v) => v.version), [1, 2]);
    assert.equal(keys.cachedMaterial(rotated, 2), undefined, 'the new version is unwrapped, not served from version 1\'s entry');
    const v2 = await keys.material(rotated, 2);
    assert.notEqual(v2, keys.cachedMaterial(rotated, 1));
    assert.equal(keys.cachedMaterial(rotated, 2), v2);
  });
});

describe('KeyService.cachedMaterial', () => {
  it('hands out the material material() cached, and nothing for another version, after close or after destroy', async () => {
    const { keys } = setup();
    const keyId = await newKey(keys);
    const key = await keys.resolve(keyId);
    assert.equal(keys.cachedMaterial(key, 1), undefined, 'nothing cached yet');
    const material = await keys.material(key, 1);
    assert.equal(keys.cachedMaterial(key, 1), material);
    assert.equal(keys.cachedMaterial(key, 1), material, 'a repeat (the remembered entry) answers the same');
    assert.equal(keys.cachedMaterial(key, 2), undefined);
    await keys.destroy(keyId);
    assert.equal(keys.cachedMaterial(key, 1), undefined, 'destroyed');

    const other = await keys.resolve(await newKey(keys));
    const otherMaterial = await keys.material(other, 1);
    assert.equal(keys.cachedMaterial(other, 1), otherMaterial);
    keys.close();
    assert.equal(keys.cachedMaterial(other, 1), undefined, 'closed');
  });

  it('hands out nothing once the material has expired (here: a zero TTL)', async () => {
    const { keys } = setup(0);
    const key = await keys.resolve(await newKey(keys));
    await keys.material(key, 1);
    assert.equal(keys.cachedMaterial(key, 1), undefined);
  });
});
