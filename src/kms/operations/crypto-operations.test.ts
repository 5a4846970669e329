import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ManualClock } from '../../common/clock.js';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import { DisabledError, ValidationError } from '../errors.js';
import { KeyService } from '../keys/key-service.js';
import type { CallContext } from '../kms-context.js';
import { LocalRootKeyProvider } from '../root-key/local-root-key.js';
import { createKey } from './create-key.js';
import { decrypt, generateDataKey, generateDataKeyNow } from './crypto-operations.js';
import { disableKey } from './key-lifecycle.js';

const CALL = { principal: { type: 'Root', accountId: '000000000000', arn: 'arn:aws:iam::000000000000:root', principalId: '000000000000' }, sourceIp: '', secureTransport: false } as unknown as CallContext;

/** Two services over one store and root key: `warm` keeps its caches between calls, `cold()` is a fresh one each time. */
function setup(): { warm: KeyService; cold: () => KeyService } {
  const store = new SqliteKeyStore(openSqlite(':memory:'));
  const rootKey = new LocalRootKeyProvider('file', SecretBytes.random(32));
  const clock = new ManualClock();
  const service = (): KeyService => new KeyService({ store, rootKey, clock, settings: { region: 'us-east-1', accountId: '000000000000', materialCacheTtlMs: 60_000 } });
  return { warm: service(), cold: service };
}

describe('generateDataKeyNow: GenerateDataKey at once from cached state', () => {
  it('answers nothing until the record and the material are cached, then a data key whose blob opens with its context', async () => {
    const { warm, cold } = setup();
    const { keyId } = await createKey(warm, { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: '', tags: [] }, CALL);
    const context = { purpose: 'test' };
    assert.equal(generateDataKeyNow(cold(), { keyId, keySpec: 'AES_256', encryptionContext: context }), undefined, 'nothing cached');
    await warm.resolve(keyId);
    assert.notEqual(warm.resolveCached(keyId), undefined);
    assert.equal(generateDataKeyNow(warm, { keyId, keySpec: 'AES_256', encryptionContext: context }), undefined, 'the record cached, the material not yet');
    await generateDataKey(warm, { keyId, keySpec: 'AES_256', encryptionContext: context }); // caches the material
    for (const [spec, length] of [['AES_256', 32], ['AES_128', 16]] as const) {
      const now = generateDataKeyNow(warm, { keyId, keySpec: spec, encryptionContext: context });
      assert.ok(now !== undefined, 'both cached');
      assert.equal(now.key.keyId, keyId);
      assert.equal(now.plaintext.length, length);
      // Opened by a service that shares none of warm's caches.
      const opened = await decrypt(cold(), { ciphertextBlob: now.ciphertextBlob, encryptionContext: context });
      assert.deepEqual(opened.plaintext, now.plaintext);
      await assert.rejects(decrypt(cold(), { ciphertextBlob: now.ciphertextBlob, encryptionContext: { purpose: 'other' } }));
    }
    const bytes = generateDataKeyNow(warm, { keyId, numberOfBytes: 7 });
    assert.equal(bytes?.plaintext.length, 7);
  });

  it('raises what generateDataKey rejects with: a bad length first (cached or not), then a disabled key', async () => {
    const { warm, cold } = setup();
    const { keyId } = await createKey(warm, { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: '', tags: [] }, CALL);
    assert.throws(() => generateDataKeyNow(cold(), { keyId }), ValidationError, 'neither KeySpec nor NumberOfBytes, nothing cached');
    await generateDataKey(warm, { keyId, keySpec: 'AES_256' });
    assert.throws(() => generateDataKeyNow(warm, { keyId, keySpec: 'AES_256', numberOfBytes: 32 }), ValidationError);
    await disableKey(warm, keyId);
    await warm.resolve(keyId); // the disabled record cached, the material still cached
    assert.notEqual(warm.resolveCached(keyId), undefined);
    assert.throws(() => generateDataKeyNow(warm, { keyId, keySpec: 'AES_256' }), DisabledError);
    await assert.rejects(generateDataKey(warm, { keyId, keySpec: 'AES_256' }), DisabledError);
    assert.throws(() => generateDataKeyNow(warm, { keyId, keySpec: 'AES_128', numberOfBytes: 16 }), ValidationError, 'the length is checked before the key');
  });
});
