import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { SqliteAuditStore } from '../store/sqlite/audit-store.js';
import { AuditCommitError, AuditSinkClosedError } from './errors.js';
import { redactParameters, sanitizeEvent } from './redact.js';
import { LocalAuditSigner } from './signer.js';
import { MemoryAuditSink } from './sink.js';
import { appendMany, openFixture, sampleEvent } from './test-support.js';
import { AuditTrail } from './trail.js';
import { verifyAudit } from './verify.js';

const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('group commit', () => {
  it('commits 1,000 concurrent appends in a few transactions, in order, without gaps', async () => {
    const f = await openFixture();
    const batches: number[] = [];
    const appendBatch = f.store.appendBatch.bind(f.store);
    f.store.appendBatch = (records) => {
      batches.push(records.length);
      return appendBatch(records);
    };
    const receipts = await Promise.all(Array.from({ length: 1000 }, (_, i) => f.trail.append(sampleEvent(i))));
    assert.deepEqual(receipts.map((r) => r.seq), Array.from({ length: 1000 }, (_, i) => i + 1));
    assert.ok(batches.length <= 3, `transactions: ${batches.join(',')}`);
    assert.equal(f.trail.stats().transactions, batches.length);
    await f.trail.close();
    const report = await verifyAudit(f.store, f.signer.publicKeyPem());
    assert.equal(report.intact, true);
    assert.equal(report.recordsChecked, 1000);
  });

  it('rejects every append of a batch that failed to commit, and keeps going', async () => {
    const f = await openFixture();
    const appendBatch = f.store.appendBatch.bind(f.store);
    f.store.appendBatch = () => Promise.reject(new Error('disk full'));
    const failed = await Promise.allSettled([f.trail.append(sampleEvent(1)), f.trail.append(sampleEvent(2))]);
    for (const r of failed) assert.ok(r.status === 'rejected' && r.reason instanceof AuditCommitError);
    f.store.appendBatch = appendBatch;
    assert.equal((await f.trail.append(sampleEvent(3))).seq, 1);
    await f.trail.close();
    assert.equal((await verifyAudit(f.store, f.signer.publicKeyPem())).intact, true);
  });

  it('refuses appends after close and reports itself disabled', async () => {
    const f = await openFixture({ levels: ['management-write'] });
    assert.equal(f.trail.enabled('management-write'), true);
    assert.equal(f.trail.enabled('data-read'), false);
    await f.trail.close();
    assert.equal(f.trail.enabled('management-write'), false);
    await assert.rejects(f.trail.append(sampleEvent(1)), AuditSinkClosedError);
  });

  it('keeps an acknowledged event after kill -9', async () => {
    const path = join(dir, 'killed.db');
    const here = fileURLToPath(new URL('.', import.meta.url));
    const script = `
      const { openFixture, appendMany } = await import(${JSON.stringify(join(here, 'test-support.ts'))});
      const { default: Database } = await import('better-sqlite3');
      const f = await openFixture({}, new Database(${JSON.stringify(path)}));
      await appendMany(f.trail, 50);
      process.stdout.write('acked ' + f.trail.head().seq + '\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => resolve(d.toString()));
      child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    assert.equal(acked.trim(), 'acked 50');
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const store = new SqliteAuditStore(path);
    const report = await verifyAudit(store, LocalAuditSigner.generate().publicKeyPem());
    store.close();
    assert.equal(report.intact, true);
    assert.equal(report.lastSeq, 50);
    assert.deepEqual(report.unsignedTail, { fromSeq: 1, toSeq: 50 });
  });
});

describe('redaction', () => {
  const MARK = {
    plaintext: 'PLAINTEXT-MARKER-6b1f0c',
    secret: 'SECRET-ACCESS-KEY-MARKER-e77a',
    ssec: 'SSE-C-KEY-MARKER-19d2',
    header: 'SSE-C-HEADER-MARKER-aa01',
    body: 'BODY-MARKER-5c5c',
    buffer: 'BUFFER-MARKER-0e0e',
  };

  it('never stores denylisted fields or binary values: the database files do not hold them', async () => {
    const path = join(dir, 'redaction.db');
    const store = new SqliteAuditStore(path);
    const signer = LocalAuditSigner.generate();
    const redacted: string[] = [];
    const trail = await AuditTrail.open({ store, signer, digestIntervalMs: 0, onRedacted: (_n, paths) => redacted.push(...paths) });
    const event = sampleEvent(1, {
      requestParameters: {
        keyId: 'alias/ml-data',
        Plaintext: MARK.plaintext,
        nested: { sseCustomerKey: MARK.ssec, 'x-amz-server-side-encryption-customer-key': MARK.header },
        body: MARK.body,
      },
      responseElements: { credentials: { accessKeyId: 'ASIAX', secretAccessKey: MARK.secret } },
    });
    // what a careless caller might smuggle in past the types
    Object.assign(event.requestParameters ?? {}, { blob: Buffer.from(MARK.buffer), key: SecretBytes.copyOf(Buffer.from(MARK.buffer)) });
    await trail.append(event);
    await trail.close();
    store.close();
    assert.deepEqual(redacted.sort(), [
      '$.requestParameters.Plaintext',
      '$.requestParameters.blob',
      '$.requestParameters.body',
      '$.requestParameters.key',
      '$.requestParameters.nested.sseCustomerKey',
      '$.requestParameters.nested.x-amz-server-side-encryption-customer-key',
      '$.responseElements.credentials.secretAccessKey',
    ]);
    const bytes = Buffer.concat(readdirSync(dir).filter((n) => n.startsWith('redaction.db')).map((n) => readFileSync(join(dir, n))));
    assert.ok(bytes.includes('alias/ml-data'), 'the safe fields were stored');
    for (const marker of Object.values(MARK)) assert.equal(bytes.includes(marker), false, `${marker} reached the database`);
  });

  it('redactParameters drops the denylist whatever the spelling, and keeps the rest', () => {
    const out = redactParameters({ KeyId: 'k', PLAINTEXT: 'x', secret_access_key: 'y', list: [{ SSECustomerKey: 'z', ok: 1 }], when: new Date(0) });
    assert.deepEqual(out, { KeyId: 'k', list: [{ ok: 1 }], when: '1970-01-01T00:00:00.000Z' });
  });

  it('sanitizeEvent lists dropped paths and never their values', () => {
    const { value, dropped } = sanitizeEvent(sampleEvent(1, { requestParameters: { Plaintext: MARK.plaintext } }));
    assert.deepEqual(dropped, ['$.requestParameters.Plaintext']);
    assert.equal(JSON.stringify(value).includes(MARK.plaintext), false);
  });

  it('MemoryAuditSink redacts too', async () => {
    const sink = new MemoryAuditSink();
    await sink.append(sampleEvent(1, { requestParameters: { Plaintext: MARK.plaintext, keyId: 'k' } }));
    assert.deepEqual(sink.events[0]?.requestParameters, { keyId: 'k' });
  });
});

describe('lookup', () => {
  async function seeded() {
    const f = await openFixture();
    await appendMany(f.trail, 3);
    await f.trail.append(
      sampleEvent(10, {
        eventSource: 's3.amazonaws.com',
        eventName: 'PutObject',
        requestParameters: { bucketName: 'training', key: 'x.parquet' },
        resources: [{ ARN: 'arn:aws:s3:::training/x.parquet', type: 'AWS::S3::Object' }],
      }),
    );
    await f.trail.append(
      sampleEvent(11, {
        eventName: 'Decrypt',
        errorCode: 'AccessDeniedException',
        errorMessage: 'denied',
        userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/bob', accessKeyId: 'AKIABOB', accountId: '111122223333' },
      }),
    );
    await f.trail.append(sampleEvent(12, { eventName: 'Decrypt', errorCode: 'IncorrectKeyException' }));
    return f;
  }

  it('filters by name, source, key (id, ARN or alias), principal, bucket, errors, denials and time', async () => {
    const { store } = await seeded();
    const seqs = async (q: Parameters<typeof store.lookup>[0]) => (await store.lookup(q)).records.map((r) => r.seq);
    assert.deepEqual(await seqs({ eventName: 'Decrypt' }), [6, 5]);
    assert.deepEqual(await seqs({ eventSource: 's3.amazonaws.com' }), [4]);
    assert.deepEqual(await seqs({ keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }), [6, 5, 3, 2, 1]);
    assert.deepEqual(await seqs({ keyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', eventName: 'Encrypt' }), [3, 2, 1]);
    assert.deepEqual(await seqs({ keyId: 'alias/ml-data', principal: 'AKIABOB' }), [5]);
    assert.deepEqual(await seqs({ principal: 'arn:aws:iam::111122223333:user/bob' }), [5]);
    assert.deepEqual(await seqs({ bucket: 'training' }), [4]);
    assert.deepEqual(await seqs({ errorsOnly: true }), [6, 5]);
    assert.deepEqual(await seqs({ accessDeniedOnly: true }), [5]);
    assert.deepEqual(await seqs({ startTime: new Date(Date.UTC(2026, 0, 1, 0, 0, 2)), endTime: new Date(Date.UTC(2026, 0, 1, 0, 0, 10)) }), [4, 3, 2]);
  });

  it('pages newest first with a next token', async () => {
    const { store } = await seeded();
    const first = await store.lookup({ limit: 4 });
    assert.deepEqual(first.records.map((r) => r.seq), [6, 5, 4, 3]);
    assert.ok(first.nextToken);
    const second = await store.lookup({ limit: 4, nextToken: first.nextToken });
    assert.deepEqual(second.records.map((r) => r.seq), [2, 1]);
    assert.equal(second.nextToken, undefined);
    await assert.rejects(store.lookup({ nextToken: 'garbage' }), /invalid next token/);
    await assert.rejects(store.lookup({ limit: 0 }), /limit/);
  });
});
