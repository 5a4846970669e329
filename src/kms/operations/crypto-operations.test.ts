import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ManualClock } from '../../common/clock.js';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import { DisabledError, IncorrectKeyError, InvalidCiphertextError, KeyInvalidStateError, ValidationError } from '../errors.js';
import { KeyService } from '../keys/key-service.js';
import type { CallContext } from '../kms-context.js';
import { LocalRootKeyProvider } from '../root-key/local-root-key.js';
import { createKey } from './create-key.js';
import { decrypt, decryptNow, generateDataKey, generateDataKeyNow } from './crypto-operations.js';
import { disableKey, scheduleKeyDeletion } from './key-lifecycle.js';

const CALL = { principal: { type: 'Root', accountId: '000000000000', arn: 'arn:aws:iam::000000000000:root', principalId: '000000000000' }, sourceIp: '', secureTransport: false } as unknown as CallContext;

/** What `f` throws (failing when it does not), as name and message, to compare with a rejection's. */
function thrown(f: () => unknown): { name: string; message: string } {
  try {
    f();
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  return assert.fail('did not throw');
}

/** The name and message `p` rejects with (failing when it fulfils). */
async function rejected(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  return p.then(
    () => assert.fail('did not reject'),
    (err: Error) => ({ name: err.name, message: err.message }),
  );
}

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
    // generateDataKey(warm) itself starts with generateDataKeyNow: the uncached path is the reference.
    await assert.rejects(generateDataKey(cold(), { keyId, keySpec: 'AES_256' }), DisabledError);
    assert.deepEqual(thrown(() => generateDataKeyNow(warm, { keyId, keySpec: 'AES_256' })), await rejected(generateDataKey(cold(), { keyId, keySpec: 'AES_256' })), 'the same message');
    assert.throws(() => generateDataKeyNow(warm, { keyId, keySpec: 'AES_128', numberOfBytes: 16 }), ValidationError, 'the length is checked before the key');
    await assert.rejects(generateDataKey(cold(), { keyId, keySpec: 'AES_128', numberOfBytes: 16 }), ValidationError);
    await scheduleKeyDeletion(warm, keyId, 7);
    await warm.resolve(keyId);
    assert.throws(() => generateDataKeyNow(warm, { keyId, keySpec: 'AES_256' }), KeyInvalidStateError);
    await assert.rejects(generateDataKey(cold(), { keyId, keySpec: 'AES_256' }), KeyInvalidStateError);
    assert.deepEqual(thrown(() => generateDataKeyNow(warm, { keyId, keySpec: 'AES_256' })), await rejected(generateDataKey(cold(), { keyId, keySpec: 'AES_256' })), 'the same message');
  });
});

describe('decryptNow: Decrypt at once from cached state', () => {
  const SPEC = { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: '', tags: [] } as const;

  it('answers nothing until the blob key\'s record and material (and a named key\'s record) are cached, then decrypt\'s answer', async () => {
    const { warm, cold } = setup();
    const { keyId } = await createKey(warm, SPEC, CALL);
    const context = { purpose: 'test' };
    const made = await generateDataKey(cold(), { keyId, keySpec: 'AES_256', encryptionContext: context });
    const req = { ciphertextBlob: made.ciphertextBlob, encryptionContext: context };
    assert.equal(decryptNow(cold(), req), undefined, 'nothing cached');
    await warm.resolve(keyId);
    assert.equal(decryptNow(warm, req), undefined, 'the record cached, the material not yet');
    await decrypt(warm, req); // caches the material
    const now = decryptNow(warm, req);
    assert.ok(now !== undefined);
    assert.deepEqual(now.plaintext, made.plaintext);
    assert.equal(now.key.keyId, keyId);
    assert.equal(now.encryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    assert.deepEqual(decryptNow(warm, { ...req, keyId, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' })?.plaintext, made.plaintext, 'naming the cached key itself');
    assert.equal(decryptNow(warm, { ...req, keyId: 'alias/some' }), undefined, 'a named key not cached (an alias) goes through decrypt');
  });

  it('raises what decrypt rejects with: wrong algorithm, damaged blob, wrong context, another named key, a disabled key', async () => {
    const { warm, cold } = setup();
    const [{ keyId }, other] = [await createKey(warm, SPEC, CALL), await createKey(warm, SPEC, CALL)];
    const context = { purpose: 'test' };
    const made = await generateDataKey(warm, { keyId, keySpec: 'AES_256', encryptionContext: context });
    await warm.resolve(other.keyId);
    const req = { ciphertextBlob: made.ciphertextBlob, encryptionContext: context };
    const damaged = Buffer.from(made.ciphertextBlob);
    damaged[damaged.length - 1]! ^= 1;
    const cases = [
      [{ ...req, encryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const }, InvalidCiphertextError],
      [{ ...req, ciphertextBlob: damaged }, InvalidCiphertextError],
      [{ ...req, ciphertextBlob: Buffer.from('not a blob') }, InvalidCiphertextError],
      [{ ...req, encryptionContext: { purpose: 'other' } }, InvalidCiphertextError],
      [{ ...req, keyId: other.keyId }, IncorrectKeyError],
    ] as const;
    // decrypt(warm) itself starts with decryptNow: the uncached path (cold) is the reference.
    for (const [bad, error] of cases) {
      assert.throws(() => decryptNow(warm, bad), error);
      await assert.rejects(decrypt(warm, bad), error);
      await assert.rejects(decrypt(cold(), bad), error);
      assert.deepEqual(thrown(() => decryptNow(warm, bad)), await rejected(decrypt(cold(), bad)), 'the same message');
    }
    await disableKey(warm, keyId);
    await warm.resolve(keyId);
    assert.throws(() => decryptNow(warm, req), DisabledError);
    await assert.rejects(decrypt(warm, req), DisabledError);
    await assert.rejects(decrypt(cold(), req), DisabledError);
    assert.deepEqual(thrown(() => decryptNow(warm, req)), await rejected(decrypt(cold(), req)), 'the same message');
    await scheduleKeyDeletion(warm, keyId, 7);
    await warm.resolve(keyId);
    assert.throws(() => decryptNow(warm, req), KeyInvalidStateError);
    await assert.rejects(decrypt(cold(), req), KeyInvalidStateError);
    assert.deepEqual(thrown(() => decryptNow(warm, req)), await rejected(decrypt(cold(), req)), 'the same message');
  });
});
