import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { verifyAudit } from '../../src/audit/index.js';
import { filesUnder } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('audit trail of KMS calls', () => {
  let t: TestServer;
  let keyId: string;
  const marker = Buffer.from('PLAINTEXT-MARKER-7f3a9c1e-audit-search');
  let dataKey: Buffer;

  before(async () => {
    t = await startTestServer();
    const kms = t.kms();
    keyId = (await kms.send(new CreateKeyCommand({ Description: 'audited' }))).KeyMetadata!.KeyId!;
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: marker, EncryptionContext: { purpose: 'audit-test' } }));
    await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'audit-test' } }));
    dataKey = Buffer.from((await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }))).Plaintext!);
    await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })), { name: 'NotFoundException' });
    const stranger = new KMSClient({ endpoint: t.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'nope' }, maxAttempts: 1 });
    await assert.rejects(stranger.send(new DescribeKeyCommand({ KeyId: keyId })), { name: 'UnrecognizedClientException' });
    stranger.destroy();
    // The records are journaled when the calls are answered; the flush chains them into the store read below.
    await t.server.audit.flush();
  });

  after(async () => {
    await t.close();
  });

  it('records each call with CloudTrail fields', async () => {
    const { records } = await t.server.auditStore.lookup({ eventSource: 'kms.amazonaws.com', limit: 50 });
    const byName = new Map(records.map((r) => [r.event.eventName, r.event]));
    const encrypt = byName.get('Encrypt');
    assert.ok(encrypt, 'Encrypt recorded');
    assert.equal(encrypt.eventSource, 'kms.amazonaws.com');
    assert.equal(encrypt.userIdentity.type, 'Root');
    assert.equal(encrypt.userIdentity.accessKeyId, 'AKIATESTTESTTEST0001');
    assert.equal(encrypt.sourceIPAddress, '127.0.0.1');
    assert.equal(encrypt.readOnly, true);
    assert.deepEqual((encrypt.requestParameters as Record<string, unknown>).encryptionContext, { purpose: 'audit-test' });
    assert.equal(encrypt.resources?.[0]?.ARN, `arn:aws:kms:us-east-1:000000000000:key/${keyId}`);
    assert.ok(byName.get('CreateKey')?.responseElements, 'CreateKey has response elements');
    assert.equal(byName.get('CreateKey')?.readOnly, false);
    assert.ok(byName.get('Decrypt'));
    assert.ok(byName.get('GenerateDataKey'));
  });

  it('records failed and unauthenticated calls with their error codes', async () => {
    const failed = await t.server.auditStore.lookup({ errorsOnly: true, limit: 50 });
    const codes = failed.records.map((r) => r.event.errorCode);
    assert.ok(codes.includes('NotFoundException'), `codes: ${codes.join(',')}`);
    assert.ok(codes.includes('UnrecognizedClientException'), `codes: ${codes.join(',')}`);
    const unauth = failed.records.find((r) => r.event.errorCode === 'UnrecognizedClientException');
    assert.equal(unauth?.event.userIdentity.type, 'Unknown');
  });

  it("the server's audit store reads its own writes: a call's record is found as soon as the call is answered, without a flush", async () => {
    // Answered once journaled; the writer thread chains the journal on its own schedule (every
    // 250 ms), so without the store's flush before each lookup some of these lookups miss.
    const kms = t.kms();
    const count = async (): Promise<number> => (await t.server.auditStore.lookup({ eventSource: 'kms.amazonaws.com', eventName: 'ListKeys', limit: 50 })).records.length;
    const first = await count();
    for (let i = 1; i <= 20; i++) {
      await kms.send(new ListKeysCommand({}));
      assert.equal(await count(), first + i, `call ${i}`);
    }
  });

  it('never stores the plaintext or a data key, and the chain verifies', async () => {
    await t.server.audit.flush();
    await t.server.audit.checkpoint();
    for (const file of filesUnder(t.dataDir).filter((f) => f.includes('audit'))) {
      const bytes = readFileSync(file);
      assert.equal(bytes.indexOf(marker), -1, `plaintext in ${file}`);
      assert.equal(bytes.indexOf(marker.toString('base64')), -1, `base64 plaintext in ${file}`);
      assert.equal(bytes.indexOf(dataKey), -1, `data key in ${file}`);
      assert.equal(bytes.indexOf(dataKey.toString('base64')), -1, `base64 data key in ${file}`);
    }
    const report = await verifyAudit(t.server.auditStore, await signerPem(t));
    assert.equal(report.intact, true, JSON.stringify(report.problems));
  });
});

async function signerPem(t: TestServer): Promise<string> {
  const { KmsAuditSigner } = await import('../../src/kms/index.js');
  return (await KmsAuditSigner.open(t.server.keys)).publicKeyPem();
}
