import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('KMS smoke', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  it('creates a key, encrypts and decrypts with context', async () => {
    const kms = t.kms();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'smoke' }));
    assert.ok(KeyMetadata?.KeyId);
    const enc = await kms.send(new EncryptCommand({ KeyId: KeyMetadata.KeyId, Plaintext: Buffer.from('hello'), EncryptionContext: { a: 'b' } }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'b' } }));
    assert.equal(Buffer.from(dec.Plaintext!).toString(), 'hello');
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: KeyMetadata.KeyId, KeySpec: 'AES_256' }));
    assert.equal(dk.Plaintext?.length, 32);
  });
});

describe('test clock', () => {
  it('keeps helper clients signing in step after advance()', async () => {
    const t = await startTestServer();
    try {
      const kms = t.kms();
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
      t.advance(3 * 86_400_000);
      const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: KeyMetadata!.KeyId!, NumberOfBytes: 16 }));
      assert.equal(dk.Plaintext?.length, 16);
    } finally {
      await t.close();
    }
  });
});
