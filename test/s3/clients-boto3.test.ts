import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, runPythonJson, scratch, type Scratch } from '../helpers/client-run.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/boto3-client.py', import.meta.url));

/** boto3 (Debian python3-boto3) running fixtures/boto3-client.py; SSE-C over the HTTPS listener. */
describe('boto3', () => {
  let t: TestServer;
  let s: Scratch;
  let keyArn: string;

  before(async () => {
    t = await startTestServer({ https: { enabled: true, host: '127.0.0.1', port: 0 } });
    s = scratch('cipherlake-boto3-');
    const kms = t.kms();
    keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/boto-data', TargetKeyId: keyArn }));
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('put/get/head/list/delete under SSE-S3, SSE-KMS and SSE-C; presigned URLs', async () => {
    const env = awsEnv(s, {
      S3_ENDPOINT: t.endpoint,
      S3_HTTPS_ENDPOINT: t.httpsEndpoint!,
      S3_CA_BUNDLE: join(t.dataDir, 'tls', 'ca', 'ca.crt'),
      S3_KMS_ALIAS: 'alias/boto-data',
    });
    const out = await runPythonJson(SCRIPT, [], env, s.dir);
    assert.deepEqual(out.s3, { put: 'AES256', etagIsMd5: true, get: true, getSse: 'AES256', headSse: 'AES256' });
    assert.deepEqual(out.kms, { put: 'aws:kms', putKey: keyArn, head: 'aws:kms', headKey: keyArn, get: true, range: true });
    assert.deepEqual(out.c, { putMd5: true, headAlg: 'AES256', headMd5: true, get: true, noKey: 'InvalidRequest', wrongKey: 'AccessDenied' });
    assert.deepEqual(out.list, ['sse-c.bin', 'sse-kms.bin', 'sse-s3.bin']);
    assert.equal(out.presignedV4, true);
    assert.deepEqual(out.presignedV2, [400, true]);
    assert.equal(out.afterDelete, 0);
    assert.equal(out.headDeleted, '404');
  });
});
