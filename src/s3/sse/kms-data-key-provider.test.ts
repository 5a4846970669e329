import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../common/clock.js';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import { createKey, KeyService, type CallContext } from '../../kms/index.js';
import { LocalRootKeyProvider } from '../../kms/root-key/local-root-key.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import { KmsDataKeyProvider, type S3KmsCall } from './kms-data-key-provider.js';

const CALL = { principal: { type: 'Root', accountId: '000000000000', arn: 'arn:aws:iam::000000000000:root', principalId: '000000000000' }, sourceIp: '', secureTransport: false } as unknown as CallContext;

async function setup(): Promise<{ keys: KeyService; keyId: string }> {
  const store = new SqliteKeyStore(openSqlite(':memory:'));
  const keys = new KeyService({ store, rootKey: new LocalRootKeyProvider('file', SecretBytes.random(32)), clock: new ManualClock(), settings: { region: 'us-east-1', accountId: '000000000000', materialCacheTtlMs: 60_000 } });
  const { keyId } = await createKey(keys, { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: '', tags: [] }, CALL);
  return { keys, keyId };
}

/** A provider acting for CALL whose records of successful calls fail (the audit trail is down); refusals are recorded. */
function failingSuccessRecords(keys: KeyService): { provider: KmsDataKeyProvider; recorded: S3KmsCall[] } {
  const recorded: S3KmsCall[] = [];
  const provider = new KmsDataKeyProvider(keys).forCaller(CALL, {
    region: 'us-east-1',
    authorize: async () => undefined,
    record: async (event) => {
      recorded.push(event);
      if (event.errorCode === undefined) throw new Error('audit unavailable (test)');
    },
  });
  return { provider, recorded };
}

describe('KmsDataKeyProvider for a caller: a plaintext key whose record failed', () => {
  it('GenerateDataKey: is zeroed before the error is raised, never left to the GC', async (t) => {
    const { keys, keyId } = await setup();
    (await new KmsDataKeyProvider(keys).generateDataKey(keyId, { bucket: 'b' })).plaintext.dispose(); // the key's material cached
    const { provider, recorded } = failingSuccessRecords(keys);
    const adopted = t.mock.method(SecretBytes, 'adopt');
    await assert.rejects(provider.generateDataKey(keyId, { bucket: 'b' }), /audit unavailable/);
    const keysMade = adopted.mock.calls.map((c) => c.result as SecretBytes);
    assert.equal(keysMade.length, 1, 'one data key was generated');
    assert.equal(keysMade[0]?.disposed, true, 'the unrecorded data key is zeroed');
    assert.equal(recorded[0]?.errorCode, undefined, 'the successful call was to be recorded first');
    assert.ok(recorded.length === 2 && recorded[1]?.errorCode !== undefined, 'then recorded as failed');
  });

  it('Decrypt: is zeroed before the error is raised, never left to the GC', async (t) => {
    const { keys, keyId } = await setup();
    const made = await new KmsDataKeyProvider(keys).generateDataKey(keyId, { bucket: 'b' });
    made.plaintext.dispose();
    const { provider } = failingSuccessRecords(keys);
    const adopted = t.mock.method(SecretBytes, 'adopt');
    await assert.rejects(provider.decrypt(made.blob, { bucket: 'b' }), /audit unavailable/);
    const keysOpened = adopted.mock.calls.map((c) => c.result as SecretBytes);
    assert.equal(keysOpened.length, 1, 'one data key was opened');
    assert.equal(keysOpened[0]?.disposed, true, 'the unrecorded plaintext is zeroed');
  });
});
