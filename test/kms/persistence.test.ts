import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { loadConfig } from '../../src/config/config.js';
import { materialLabel } from '../../src/kms/keys/key-record.js';
import { filesUnder } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The files under `dir` that contain `secret` anywhere: raw, or as base64 or hex text (the
 * key store writes JSON, so a leak would as likely be text as bytes).
 */
function filesContaining(dir: string, secret: Buffer): string[] {
  const forms = [secret, Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('hex')), Buffer.from(secret.toString('hex').toUpperCase())];
  return filesUnder(dir).filter((f) => {
    const bytes = readFileSync(f);
    return forms.some((n) => bytes.includes(n));
  });
}

describe('KMS persistence', () => {
  it('keys, state and blobs survive a restart', async () => {
    let t: TestServer = await startTestServer();
    try {
      let kms = t.kms();
      const a = (await kms.send(new CreateKeyCommand({ Description: 'survives' }))).KeyMetadata!.KeyId!;
      const b = (await kms.send(new CreateKeyCommand({ Description: 'disabled before restart' }))).KeyMetadata!.KeyId!;
      const blob = (await kms.send(new EncryptCommand({ KeyId: a, Plaintext: Buffer.from('persisted'), EncryptionContext: { k: 'v' } }))).CiphertextBlob!;
      const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: a, KeySpec: 'AES_256' }));
      await kms.send(new DisableKeyCommand({ KeyId: b }));

      t = await t.restart();
      kms = t.kms();
      assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: a }))).KeyMetadata?.Description, 'survives');
      assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: b }))).KeyMetadata?.KeyState, 'Disabled');
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { k: 'v' } }));
      assert.equal(Buffer.from(dec.Plaintext!).toString(), 'persisted');
      const dk2 = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob! }));
      assert.deepEqual(Buffer.from(dk2.Plaintext!), Buffer.from(dk.Plaintext!));
    } finally {
      await t.close();
    }
  });

  it('no file under the data directory (database, WAL included) holds a data key, an Encrypt plaintext or key material', async () => {
    const t = await startTestServer();
    try {
      const kms = t.kms();
      const keyIds: string[] = [];
      for (let i = 0; i < 3; i++) keyIds.push((await kms.send(new CreateKeyCommand({ Description: `k${i}` }))).KeyMetadata!.KeyId!);
      const dataKeys: Buffer[] = [];
      for (const keyId of keyIds) {
        const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32, EncryptionContext: { file: keyId } }));
        dataKeys.push(Buffer.from(dk.Plaintext!));
      }
      const secretText = Buffer.from('a distinctive secret plaintext 7f3a9c', 'utf8');
      await kms.send(new EncryptCommand({ KeyId: keyIds[0], Plaintext: secretText }));

      const materials: Buffer[] = [];
      const { store, rootKey } = t.server.keys.deps;
      for (const keyId of keyIds) {
        const record = await store.getKey(keyId);
        const v = record.versions[0]!;
        const secret = await rootKey.unwrap(v.wrappedMaterial, materialLabel(keyId, v.version));
        materials.push(Buffer.from(secret.unsafeBytes()));
        secret.dispose();
      }
      assert.equal(materials.length, 3);
      for (const m of materials) assert.equal(m.length, 32);

      const files = filesUnder(t.dataDir);
      assert.ok(files.some((f) => f.endsWith('metadata.db')), `database present: ${files.join(', ')}`);
      assert.ok(files.some((f) => f.endsWith('metadata.db-wal')), `WAL present while running: ${files.join(', ')}`);
      const check = (when: string) => {
        for (const [i, dk] of dataKeys.entries()) assert.deepEqual(filesContaining(t.dataDir, dk), [], `${when}: data key ${i} found`);
        for (const [i, m] of materials.entries()) assert.deepEqual(filesContaining(t.dataDir, m), [], `${when}: material of key ${i} found`);
        // Also a 16-byte window: a partial copy is still a leak.
        for (const [i, m] of materials.entries()) assert.deepEqual(filesContaining(t.dataDir, m.subarray(8, 24)), [], `${when}: part of material ${i} found`);
        assert.deepEqual(filesContaining(t.dataDir, secretText), [], `${when}: Encrypt plaintext found`);
      };
      // The search can find things: the wrapped material is on disk (as base64 in the record).
      const wrapped = (await store.getKey(keyIds[0]!)).versions[0]!.wrappedMaterial;
      assert.notDeepEqual(filesContaining(t.dataDir, wrapped), [], 'the wrapped material is found, so the search works');
      check('while running');
      await t.stop();
      check('after shutdown');
    } finally {
      await t.close();
    }
  });
});

describe('passphrase root key', () => {
  const passphrase = 'correct horse battery staple';

  it('CIPHERLAKE_ROOT_KEY_PASSPHRASE selects a passphrase root key', () => {
    const c = loadConfig({ dataDir: '/tmp/unused', port: 0 }, { CIPHERLAKE_ROOT_KEY_PASSPHRASE: passphrase });
    assert.deepEqual(c.rootKey, { kind: 'passphrase', passphrase });
  });

  it('restarts with the same passphrase; a wrong one fails clearly and changes nothing', async () => {
    const rootKey = loadConfig({ dataDir: '/tmp/unused', port: 0 }, { CIPHERLAKE_ROOT_KEY_PASSPHRASE: passphrase }).rootKey;
    let t = await startTestServer({ rootKey });
    const dir = t.dataDir;
    try {
      let kms = t.kms();
      const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const blob = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('under a passphrase') }))).CiphertextBlob!;
      assert.equal(existsSync(join(dir, 'root.key')), false, 'no root key file in passphrase mode');
      assert.equal(statSync(join(dir, 'root-kdf.json')).mode & 0o777, 0o600);
      assert.equal(readFileSync(join(dir, 'root-kdf.json'), 'utf8').includes(passphrase), false);
      await t.stop();

      await assert.rejects(startTestServer({ rootKey: { kind: 'passphrase', passphrase: 'correct horse battery stapler' } }, dir), (err: Error) => {
        assert.equal(err.name, 'RootKeyConfigError');
        assert.match(err.message, /wrong root key passphrase/);
        assert.ok(!err.message.includes('stapler'), 'the passphrase is not echoed');
        return true;
      });
      await assert.rejects(startTestServer({ rootKey: { kind: 'passphrase', passphrase: 'short' } }, dir), /at least 12 characters/);

      t = await startTestServer({ rootKey }, dir);
      kms = t.kms();
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.equal(Buffer.from(dec.Plaintext!).toString(), 'under a passphrase');
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
