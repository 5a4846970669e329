import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { awsCli, okJson, type RunResult } from '../helpers/client-run.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Runs `aws kms …` against the test server, with credentials from the environment only. */
function aws(t: TestServer, home: string, args: string[]): Promise<RunResult> {
  return awsCli(t.endpoint, home, ['kms', ...args]);
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

    const pub = okJson(await aws(t, home, ['get-public-key', '--key-id', keyId]));
    assert.deepEqual(pub.SigningAlgorithms, ['ECDSA_SHA_256']);
    const publicKey = createPublicKey({ key: Buffer.from(pub.PublicKey as string, 'base64'), format: 'der', type: 'spki' });

    const common = ['--key-id', keyId, '--message-type', 'DIGEST', '--signing-algorithm', 'ECDSA_SHA_256'];
    const signed = okJson(await aws(t, home, ['sign', ...common, '--message', `fileb://${digestFile}`]));
    const signature = Buffer.from(signed.Signature as string, 'base64');
    assert.ok(nodeVerify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, signature), 'the CLI-made signature verifies with node:crypto');

    const signatureFile = join(home, 'signature.bin');
    writeFileSync(signatureFile, signature);
    const verified = okJson(await aws(t, home, ['verify', ...common, '--message', `fileb://${digestFile}`, '--signature', `fileb://${signatureFile}`]));
    assert.equal(verified.SignatureValid, true);

    digest[0] = digest[0]! ^ 1;
    writeFileSync(digestFile, digest);
    const bad = await aws(t, home, ['verify', ...common, '--message', `fileb://${digestFile}`, '--signature', `fileb://${signatureFile}`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /KMSInvalidSignatureException/);
  });
});
