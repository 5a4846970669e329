import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { MINIMAL_KMS_KEY_ARN, MINIMAL_KMS_KEY_ID, MINIMAL_KMS_REGION } from '../../bench/minimal-kms-server.js';
import { SecretBytes } from '../../src/crypto/secret-bytes.js';
import { openBlob, readBlobHeader } from '../../src/kms/ciphertext-blob.js';
import { InvalidCiphertextError } from '../../src/kms/errors.js';
import { sdkRefusal } from '../helpers/sdk-outcome.js';
import { spawnBenchServer, stopBenchServer } from './bench-child.js';

// The floor server of kms-bench's `--floor` rows (bench/minimal-kms-server.ts), as the bench
// runs it: a child process, one process or node:cluster workers, driven by a real KMS client.
const SERVER = fileURLToPath(new URL('../../bench/minimal-kms-server.ts', import.meta.url));
const ACCESS_KEY_ID = 'AKIAMINIMALTEST00001';
const SECRET = 'minimal-kms-test-secret-00000000000000000';

interface Running {
  readonly child: ChildProcess;
  readonly endpoint: string;
}

async function start(workers: number, materialHex: string): Promise<Running> {
  const env = { ...process.env, MINIMAL_KMS_ACCESS_KEY_ID: ACCESS_KEY_ID, MINIMAL_KMS_SECRET_ACCESS_KEY: SECRET, MINIMAL_KMS_KEY_MATERIAL: materialHex };
  const { child, port } = await spawnBenchServer(SERVER, [String(workers)], env);
  return { child, endpoint: `http://127.0.0.1:${port}` };
}

async function stop(r: Running): Promise<void> {
  await stopBenchServer(r.child);
}

function client(r: Running, secret = SECRET): KMSClient {
  return new KMSClient({ endpoint: r.endpoint, region: MINIMAL_KMS_REGION, credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: secret }, maxAttempts: 1 });
}

for (const workers of [0, 2]) {
  describe(`minimal-kms-server, ${workers === 0 ? '1 process' : `${workers} workers`}`, () => {
    const materialHex = randomBytes(32).toString('hex');
    const material = SecretBytes.copyOf(Buffer.from(materialHex, 'hex'));
    let r: Running;
    let kms: KMSClient;
    before(async () => {
      r = await start(workers, materialHex);
      kms = client(r);
    });
    after(async () => {
      kms.destroy();
      await stop(r);
    });

    it('answers GenerateDataKey with a blob the project opener opens to the returned plaintext, under the bound context only', async () => {
      const context = { purpose: 'floor', bucket: 'b' };
      // Several calls: with workers, whichever worker answers seals under the one material the primary handed out.
      for (let i = 0; i < 6; i++) {
        const out = await kms.send(new GenerateDataKeyCommand({ KeyId: MINIMAL_KMS_KEY_ID, KeySpec: 'AES_256', EncryptionContext: context }));
        assert.equal(out.KeyId, MINIMAL_KMS_KEY_ARN);
        const plaintext = Buffer.from(out.Plaintext!);
        const blob = Buffer.from(out.CiphertextBlob!);
        assert.equal(plaintext.length, 32);
        assert.deepEqual(readBlobHeader(blob), { format: 1, keyId: MINIMAL_KMS_KEY_ID, keyVersion: 1 });
        assert.deepEqual(openBlob(material, blob, context), plaintext);
        assert.throws(() => openBlob(material, blob, { purpose: 'floor' }), InvalidCiphertextError);
      }
    });

    it('takes the key by ARN and NumberOfBytes, and refuses an unknown key and a bad length as KMS does', async () => {
      const out = await kms.send(new GenerateDataKeyCommand({ KeyId: MINIMAL_KMS_KEY_ARN, NumberOfBytes: 7 }));
      assert.equal(out.Plaintext?.length, 7);
      assert.deepEqual(openBlob(material, Buffer.from(out.CiphertextBlob!), undefined), Buffer.from(out.Plaintext!));
      const unknown = await sdkRefusal(kms.send(new GenerateDataKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000', KeySpec: 'AES_256' })));
      assert.deepEqual([unknown.status, unknown.code], [400, 'NotFoundException']);
      const both = await sdkRefusal(kms.send(new GenerateDataKeyCommand({ KeyId: MINIMAL_KMS_KEY_ID, KeySpec: 'AES_256', NumberOfBytes: 32 })));
      assert.deepEqual([both.status, both.code], [400, 'ValidationException']);
    });

    it('refuses a request signed with the wrong secret: 400 InvalidSignatureException', async () => {
      const wrong = client(r, `${SECRET}x`);
      try {
        const refused = await sdkRefusal(wrong.send(new GenerateDataKeyCommand({ KeyId: MINIMAL_KMS_KEY_ID, KeySpec: 'AES_256' })));
        assert.deepEqual([refused.status, refused.code], [400, 'InvalidSignatureException']);
        assert.match(refused.message, /signature we calculated does not match/);
      } finally {
        wrong.destroy();
      }
    });

    it('refuses an unsigned request and a tampered body in the JSON 1.1 error shape', async () => {
      const unsigned = await fetch(r.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.GenerateDataKey' }, body: '{}' });
      assert.equal(unsigned.status, 400);
      assert.equal(unsigned.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
      assert.equal(((await unsigned.json()) as { __type?: string }).__type, 'MissingAuthenticationTokenException');
      // A body other than the one signed: the SDK's middleware swaps it after signing.
      const tampering = client(r);
      tampering.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { body?: unknown };
          request.body = JSON.stringify({ KeyId: MINIMAL_KMS_KEY_ID, KeySpec: 'AES_128' });
          return next(args);
        },
        { step: 'finalizeRequest', priority: 'low' },
      );
      try {
        const refused = await sdkRefusal(tampering.send(new GenerateDataKeyCommand({ KeyId: MINIMAL_KMS_KEY_ID, KeySpec: 'AES_256' })));
        assert.deepEqual([refused.status, refused.code], [400, 'InvalidSignatureException']);
      } finally {
        tampering.destroy();
      }
    });
  });
}
