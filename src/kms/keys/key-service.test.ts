import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ManualClock } from '../../common/clock.js';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import { NotFoundError } from '../errors.js';
import type { CallContext } from '../kms-context.js';
import { createKey } from '../operations/create-key.js';
import { scheduleKeyDeletion } from '../operations/key-lifecycle.js';
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
