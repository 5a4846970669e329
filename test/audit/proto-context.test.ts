import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';

// An encryption context key named `__proto__` is an ordinary key to KMS (the blob is bound to
// it); the audit record must state it as sent, not drop it while copying the parameters.

describe('audit record of a KMS call whose encryption context has a __proto__ key', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
  });

  after(async () => {
    await t.close();
  });

  it('Encrypt and Decrypt record both keys of {"__proto__": "x", "a": "b"} as own fields', async () => {
    const kms = t.kms();
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // An object literal's `__proto__:` sets the prototype; JSON.parse makes it an own key, as a wire body does.
    const context = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    assert.deepEqual(Object.keys(context), ['__proto__', 'a']);
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('p'), EncryptionContext: context }));
    // The blob is bound to both keys: a context without `__proto__` does not decrypt it.
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'b' } })), { name: 'InvalidCiphertextException' });
    await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }));
    await t.server.audit.flush();

    for (const eventName of ['Encrypt', 'Decrypt']) {
      const { records } = await t.server.auditStore.lookup({ eventName, limit: 5 });
      const recorded = records.map((r) => (r.event.requestParameters as Record<string, unknown>)['encryptionContext'] as Record<string, unknown>);
      const expected = eventName === 'Decrypt' ? [context, { a: 'b' }] : [context];
      assert.equal(recorded.length, expected.length, eventName);
      for (const [i, ctx] of recorded.entries()) {
        assert.deepEqual(Object.entries(ctx), Object.entries(expected[i]!), `${eventName}: ${JSON.stringify(ctx)}`);
        assert.equal(Object.getPrototypeOf(ctx), Object.prototype);
      }
      // The stored canonical JSON states it too (keys in code-unit order: `_` before `a`).
      const db = new Database(join(t.dataDir, 'audit.db'), { readonly: true });
      const json = db.prepare('SELECT event_json FROM audit_records WHERE seq = ?').pluck().get(records[0]!.seq) as string;
      db.close();
      assert.match(json, /"encryptionContext":\{"__proto__":"x","a":"b"\}/);
    }
  });
});
