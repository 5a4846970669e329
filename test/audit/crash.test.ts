import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { serverFixture } from '../helpers/server-process.js';

const LOAD_MS = 1500;
const CONCURRENCY = 16;

describe('kill -9 under load', () => {
  const fixture = serverFixture('cipherlake-audit-crash-');

  it('every acknowledged GenerateDataKey and PutObject has its audit event after SIGKILL', async () => {
    const dataDir = fixture.dir();
    const server = await fixture.spawn({ dataDir, timeoutMs: 15_000 });
    const { endpoint } = server;
    const created = await rawKmsRequest(endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;
    const body = JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' });
    const s3 = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'crash' }));

    // Half the callers generate data keys, half put SSE-KMS objects (whose answer S3 holds
    // until the record commits); each request id answered with a success must be recorded.
    const acknowledged: string[] = [];
    const acknowledgedBy = { kms: 0, s3: 0 };
    let failures = 0;
    let stop = false;
    let n = 0;
    const kmsCall = async (): Promise<string | null> => {
      const r = await rawKmsRequest(endpoint, { target: 'TrentService.GenerateDataKey', body });
      return r.status === 200 ? r.headers.get('x-amzn-requestid') : null;
    };
    const s3Call = async (): Promise<string | null> => {
      const r = await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: `o${n++}`, Body: 'x'.repeat(4096), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId }));
      return r.$metadata.httpStatusCode === 200 ? (r.$metadata.requestId ?? null) : null;
    };
    const worker = async (kind: 'kms' | 's3'): Promise<void> => {
      const call = kind === 'kms' ? kmsCall : s3Call;
      while (!stop) {
        try {
          const id = await call();
          if (id !== null) {
            acknowledged.push(id);
            acknowledgedBy[kind] += 1;
          }
        } catch {
          failures += 1; // connection reset by the kill: never acknowledged
        }
      }
    };
    const workers = Array.from({ length: CONCURRENCY }, (_, i) => worker(i % 2 === 0 ? 'kms' : 's3'));
    // Load for LOAD_MS, and longer on a slow or busy machine, until enough requests were
    // answered to mean something (bounded: the assertion below reports a machine too slow).
    const started = Date.now();
    while (Date.now() - started < LOAD_MS || (acknowledged.length <= 50 && Date.now() - started < 20_000)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Kill while requests are still in flight; only what was answered before counts.
    const answeredBeforeKill = acknowledged.length;
    server.child.kill('SIGKILL');
    const exit = await server.exited;
    stop = true;
    await Promise.all(workers);
    s3.destroy();
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(answeredBeforeKill > 20, `load too light to mean anything: ${answeredBeforeKill} answered`);
    // Both kinds were acknowledged, so the check below covers PutObject too (not only data keys).
    assert.ok(acknowledgedBy.kms > 0 && acknowledgedBy.s3 > 0, `acknowledged: ${JSON.stringify(acknowledgedBy)}`);

    // The next start, before it serves: the acknowledged records the writer thread had not
    // chained yet are in the killed process's journal; its recovery chains them and removes it.
    const journalDir = join(dataDir, 'audit-journal');
    const left = readdirSync(journalDir);
    assert.ok(left.length > 0, 'the killed process left its journal');
    const restarted = await fixture.spawn({ dataDir, timeoutMs: 15_000 });
    assert.deepEqual(
      readdirSync(journalDir).filter((f) => left.includes(f)),
      [],
      'every journal file of the killed process ingested and removed before the restarted server listens',
    );
    restarted.child.kill('SIGTERM');
    assert.deepEqual(await restarted.exited, { code: 0, signal: null });
    assert.deepEqual(readdirSync(journalDir), [], 'the restarted server chained and removed its own journal as it stopped');

    const db = new Database(join(dataDir, 'audit.db'));
    const recorded = new Set(
      (db.prepare("SELECT json_extract(event_json, '$.requestID') AS id FROM audit_records WHERE event_name IN ('GenerateDataKey', 'PutObject')").all() as { id: string }[]).map((r) => r.id),
    );
    db.close();
    const missing = acknowledged.filter((id) => !recorded.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged requests have no event (${failures} unanswered)`);

    // The chain survived the crash too: the unsigned tail is intact, nothing is reported.
    const out: string[] = [];
    const code = await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: () => {} });
    assert.deepEqual(out, ['intact']);
    assert.equal(code, 0);
  });
});
