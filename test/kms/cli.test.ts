import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the AWS CLI against the test server with credentials from the environment only. */
function aws(t: TestServer, home: string, args: string[]): Promise<CliResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_REGION: TEST_REGION,
    AWS_DEFAULT_REGION: TEST_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_PAGER: '',
  };
  return new Promise((resolve) => {
    execFile('aws', ['--endpoint-url', t.endpoint, '--output', 'json', ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(r: CliResult): Record<string, unknown> {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
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
    const created = ok(await aws(t, home, ['kms', 'create-key', '--description', 'cli test']));
    const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
    assert.match(keyId, /^[0-9a-f-]{36}$/);

    const alias = await aws(t, home, ['kms', 'create-alias', '--alias-name', 'alias/cli-test', '--target-key-id', keyId]);
    assert.equal(alias.code, 0, alias.stderr);

    const context = JSON.stringify({ purpose: 'cli', team: 'ml' });
    const enc = ok(await aws(t, home, ['kms', 'encrypt', '--key-id', 'alias/cli-test', '--plaintext', 'hello from the aws cli', '--encryption-context', context]));
    assert.equal(enc.KeyId, `arn:aws:kms:${TEST_REGION}:000000000000:key/${keyId}`);
    const blobFile = join(home, 'blob.bin');
    writeFileSync(blobFile, Buffer.from(enc.CiphertextBlob as string, 'base64'));

    const dec = ok(await aws(t, home, ['kms', 'decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--encryption-context', context]));
    assert.equal(Buffer.from(dec.Plaintext as string, 'base64').toString('utf8'), 'hello from the aws cli');
    assert.equal(dec.KeyId, enc.KeyId);

    const wrong = await aws(t, home, ['kms', 'decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--encryption-context', JSON.stringify({ purpose: 'cli', team: 'ops' })]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /InvalidCiphertextException/);
    assert.equal(wrong.stdout.trim(), '');
  });
});
