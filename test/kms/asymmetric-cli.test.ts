import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `aws kms …` against the test server, with credentials from the environment only. */
function aws(t: TestServer, home: string, args: string[]): Promise<CliResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_DEFAULT_REGION: TEST_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_PAGER: '',
  };
  return new Promise((resolve) => {
    execFile('aws', ['--endpoint-url', t.endpoint, '--output', 'json', 'kms', ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(r: CliResult): Record<string, unknown> {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('AWS CLI: sign and verify a digest with a secp256k1 key', () => {
  let t: TestServer;
  let home: string;
  before(async () => {
    t = await startTestServer();
    home = mkdtempSync(join(tmpdir(), 'cipherlake-awscli-asym-'));
  });
  after(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('get-public-key, sign --message-type DIGEST, verify; a tampered digest is KMSInvalidSignatureException', async () => {
    const created = await t.kms().send(new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' }));
    const keyId = created.KeyMetadata!.KeyId!;
    const message = Buffer.from('a transaction to sign');
    const digest = createHash('sha256').update(message).digest();
    const digestFile = join(home, 'digest.bin');
    writeFileSync(digestFile, digest);

    const pub = ok(await aws(t, home, ['get-public-key', '--key-id', keyId]));
    assert.deepEqual(pub.SigningAlgorithms, ['ECDSA_SHA_256']);
    const publicKey = createPublicKey({ key: Buffer.from(pub.PublicKey as string, 'base64'), format: 'der', type: 'spki' });

    const common = ['--key-id', keyId, '--message-type', 'DIGEST', '--signing-algorithm', 'ECDSA_SHA_256'];
    const signed = ok(await aws(t, home, ['sign', ...common, '--message', `fileb://${digestFile}`]));
    const signature = Buffer.from(signed.Signature as string, 'base64');
    assert.ok(nodeVerify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, signature), 'the CLI-made signature verifies with node:crypto');

    const signatureFile = join(home, 'signature.bin');
    writeFileSync(signatureFile, signature);
    const verified = ok(await aws(t, home, ['verify', ...common, '--message', `fileb://${digestFile}`, '--signature', `fileb://${signatureFile}`]));
    assert.equal(verified.SignatureValid, true);

    digest[0] = digest[0]! ^ 1;
    writeFileSync(digestFile, digest);
    const bad = await aws(t, home, ['verify', ...common, '--message', `fileb://${digestFile}`, '--signature', `fileb://${signatureFile}`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /KMSInvalidSignatureException/);
  });
});
