import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateKeyCommand, EncryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { runAuditExport } from '../../src/cli/commands/audit-export.js';
import { filesUnder } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { at, queryRequest } from '../iam/query-client.js';

/** Every form a secret could take in a record: raw bytes, base64, base64url, hex. */
function forms(secret: Buffer): Buffer[] {
  return [secret, Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('base64url')), Buffer.from(secret.toString('hex'))];
}

describe('no secret in the audit trail or its export (issue 5)', () => {
  let t: TestServer;
  const secrets = new Map<string, Buffer>();
  const exportDir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-export-'));

  before(async () => {
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    const kms = t.kms();
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const plaintext = Buffer.from(`ENCRYPT-PLAINTEXT-${randomBytes(8).toString('hex')}`);
    secrets.set('Encrypt plaintext', plaintext);
    await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
    secrets.set('data key', Buffer.from((await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }))).Plaintext!));

    const customerKey = randomBytes(32);
    secrets.set('SSE-C key', customerKey);
    const s3 = t.s3();
    s3.middlewareStack.add((next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-forwarded-proto'] = 'https';
      return next(args);
    }, { step: 'build' });
    await s3.send(new CreateBucketCommand({ Bucket: 'secrets' }));
    const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: customerKey.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(customerKey).digest('base64') };
    await s3.send(new PutObjectCommand({ Bucket: 'secrets', Key: 'o', Body: 'object body', ...ssec }));
    await (await s3.send(new GetObjectCommand({ Bucket: 'secrets', Key: 'o', ...ssec }))).Body!.transformToByteArray();

    await queryRequest(t.endpoint, 'iam', { Action: 'CreateUser', UserName: 'holder' }, undefined, t.clock.now());
    const created = await queryRequest(t.endpoint, 'iam', { Action: 'CreateAccessKey', UserName: 'holder' }, undefined, t.clock.now());
    assert.equal(created.status, 200, created.text);
    secrets.set('secret access key', Buffer.from(at(created.xml, 'CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey', 'SecretAccessKey')));

    await t.server.audit.flush();
    await (t.server.audit as { checkpoint(): Promise<unknown> }).checkpoint();
    const io = { out: () => undefined, err: () => undefined };
    assert.equal(await runAuditExport({ dataDir: t.dataDir, dir: exportDir }, io), 0);
  });

  after(async () => {
    await t.close();
    rmSync(exportDir, { recursive: true, force: true });
  });

  it('recorded the calls that handled the secrets', async () => {
    const names = (await t.server.auditStore.lookup({ limit: 100 })).records.map((r) => r.event.eventName);
    for (const n of ['Encrypt', 'GenerateDataKey', 'PutObject', 'GetObject', 'CreateAccessKey']) assert.ok(names.includes(n), `${n} recorded (got ${names.join(',')})`);
  });

  it('finds none of them in any audit file or exported file', () => {
    const auditFiles = filesUnder(t.dataDir).filter((f) => f.includes('audit'));
    const exported = filesUnder(exportDir);
    assert.ok(auditFiles.length > 0 && exported.length > 0, 'something to search');
    const contents = [
      ...auditFiles.map((f) => ({ f, bytes: readFileSync(f) })),
      ...exported.map((f) => ({ f, bytes: f.endsWith('.gz') ? gunzipSync(readFileSync(f)) : readFileSync(f) })),
    ];
    // Positive control: the search does see what records hold (the caller's access key id),
    // in the database files and in the decompressed export alike.
    const marker = Buffer.from('AKIATESTTESTTEST0001');
    assert.ok(contents.some((c) => auditFiles.includes(c.f) && c.bytes.indexOf(marker) >= 0), 'access key id visible in audit storage');
    // The server's audit journal (DATA_DIR/audit-journal) holds every batch as written, before
    // and after its ingestion (until rotation): it is searched too, and the search sees into it.
    const journals = auditFiles.filter((f) => f.includes(`${sep}audit-journal${sep}`));
    assert.ok(journals.length > 0, `a journal file to search: ${auditFiles.join(', ')}`);
    assert.ok(contents.some((c) => journals.includes(c.f) && c.bytes.indexOf(marker) >= 0), 'access key id visible in the audit journal');
    assert.ok(contents.some((c) => exported.includes(c.f) && c.bytes.indexOf(marker) >= 0), 'access key id visible in the export');
    for (const [what, secret] of secrets) {
      for (const form of forms(secret)) {
        for (const { f, bytes } of contents) assert.equal(bytes.indexOf(form), -1, `${what} found in ${f}`);
      }
    }
  });
});
