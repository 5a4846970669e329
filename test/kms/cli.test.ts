import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsCli, okJson, type RunResult } from '../helpers/client-run.js';
import { startTestServer, TEST_REGION, type TestServer } from '../helpers/server.js';

/** Runs the AWS CLI against the test server with credentials from the environment only. */
function aws(t: TestServer, home: string, args: string[]): Promise<RunResult> {
  return awsCli(t.endpoint, home, args);
}

describe('AWS CLI against Cipherlake KMS', () => {
  let t: TestServer;
  let home: string;
  before(async () => {
    t = await startTestServer();
    home = mkdtempSync(join(tmpdir(), 'cipherlake-awscli-'));
  });
  after(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('create-key, create-alias, encrypt with context by alias, decrypt; a wrong context fails with InvalidCiphertextException', async () => {
    const created = okJson(await aws(t, home, ['kms', 'create-key', '--description', 'cli test']));
    const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
    assert.match(keyId, /^[0-9a-f-]{36}$/);

    const alias = await aws(t, home, ['kms', 'create-alias', '--alias-name', 'alias/cli-test', '--target-key-id', keyId]);
    assert.equal(alias.code, 0, alias.stderr);

    const context = JSON.stringify({ purpose: 'cli', team: 'ml' });
    const enc = okJson(await aws(t, home, ['kms', 'encrypt', '--key-id', 'alias/cli-test', '--plaintext', 'hello from the aws cli', '--encryption-context', context]));
    assert.equal(enc.KeyId, `arn:aws:kms:${TEST_REGION}:000000000000:key/${keyId}`);
    const blobFile = join(home, 'blob.bin');
    writeFileSync(blobFile, Buffer.from(enc.CiphertextBlob as string, 'base64'));

    const dec = okJson(await aws(t, home, ['kms', 'decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--encryption-context', context]));
    assert.equal(Buffer.from(dec.Plaintext as string, 'base64').toString('utf8'), 'hello from the aws cli');
    assert.equal(dec.KeyId, enc.KeyId);

    const wrong = await aws(t, home, ['kms', 'decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--encryption-context', JSON.stringify({ purpose: 'cli', team: 'ops' })]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /InvalidCiphertextException/);
    assert.equal(wrong.stdout.trim(), '');
  });
});
