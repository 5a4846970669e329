import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { exportAuditTrail } from './export.js';
import { digestFileTime } from './export-format.js';
import type { AuditExportResult } from './export.js';
import { verifyAuditExport } from './export-verify.js';
import { LocalAuditSigner } from './signer.js';
import { ACCOUNT, appendMany, openFixture } from './test-support.js';

const root = mkdtempSync(join(tmpdir(), 'cipherlake-audit-export-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** 3 digests: 1..4, 5..8, 9..10; plus 2 unsigned records that are not exported. */
async function exported(): Promise<{ dir: string; pem: string; result: AuditExportResult }> {
  const f = await openFixture();
  for (const [count, from] of [[4, 1], [4, 5], [2, 9]] as const) {
    await appendMany(f.trail, count, from);
    await f.trail.checkpoint();
  }
  await appendMany(f.trail, 2, 11);
  const dir = join(root, `export-${(n += 1)}`);
  const result = await exportAuditTrail(f.store, dir, { accountId: ACCOUNT, region: 'us-east-1' });
  return { dir, pem: f.signer.publicKeyPem(), result };
}

function readLog(dir: string, path: string): { Records: Record<string, unknown>[] } {
  return JSON.parse(gunzipSync(readFileSync(join(dir, path))).toString('utf8')) as { Records: Record<string, unknown>[] };
}

function writeLog(dir: string, path: string, content: unknown): void {
  writeFileSync(join(dir, path), gzipSync(JSON.stringify(content)));
}

describe('CloudTrail export', () => {
  it('writes the CloudTrail layout, one log and one digest file per digest, signed records only', async () => {
    const { dir, result } = await exported();
    assert.equal(result.exportedThroughSeq, 10);
    assert.equal(result.logFiles.length, 3);
    for (const p of result.logFiles) {
      assert.match(p, /^AWSLogs\/111122223333\/CloudTrail\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/111122223333_CloudTrail_us-east-1_\d{8}T\d{4}Z_[0-9a-f]{16}\.json\.gz$/);
    }
    // CloudTrail's digest names end in their time (what validate-logs reads): three digests made
    // within a second get three seconds, in chain order, each its file's digestEndTime.
    for (const p of result.digestFiles) {
      assert.match(p, /^AWSLogs\/111122223333\/CloudTrail-Digest\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/111122223333_CloudTrail-Digest_us-east-1_cipherlake_us-east-1_\d{8}T\d{6}Z\.json\.gz$/);
      const digest = JSON.parse(gunzipSync(readFileSync(join(dir, p))).toString('utf8')) as { digestEndTime: string; digestS3Object: string };
      assert.equal(p.slice(-24, -8), digest.digestEndTime.replace(/[-:]/g, ''));
      assert.equal(digest.digestS3Object, p);
    }
    assert.equal(new Set(result.digestFiles).size, 3);
    assert.deepEqual([...result.digestFiles].sort(), result.digestFiles);
    const first = readLog(dir, result.logFiles[0] ?? '');
    assert.equal(first.Records.length, 4);
    assert.equal(first.Records[0]?.['eventVersion'], '1.09');
    assert.equal(first.Records[0]?.['eventName'], 'Encrypt');
  });

  it('verifies intact with only the public key', async () => {
    const { dir, pem } = await exported();
    const report = await verifyAuditExport(dir, pem);
    assert.deepEqual(report.problems, []);
    assert.equal(report.recordsChecked, 10);
    assert.equal(report.lastSignedSeq, 10);
  });

  it('names a record edited inside a log file', async () => {
    const { dir, pem, result } = await exported();
    const path = result.logFiles[1] ?? '';
    const log = readLog(dir, path);
    const third = log.Records[2];
    if (third) third['sourceIPAddress'] = '10.6.6.6';
    writeLog(dir, path, log);
    assert.deepEqual((await verifyAuditExport(dir, pem)).problems, [
      { kind: 'record-modified', seq: 7 },
      { kind: 'log-file-modified', path },
    ]);
  });

  it('names records deleted from and swapped within log files', async () => {
    const { dir, pem, result } = await exported();
    const [a = '', b = ''] = result.logFiles;
    const first = readLog(dir, a);
    first.Records.splice(1, 1);
    writeLog(dir, a, first);
    const second = readLog(dir, b);
    second.Records.reverse();
    writeLog(dir, b, second);
    assert.deepEqual((await verifyAuditExport(dir, pem)).problems, [
      { kind: 'records-deleted', fromSeq: 2, toSeq: 2 },
      { kind: 'records-swapped', seqs: [5, 8] },
      { kind: 'records-swapped', seqs: [6, 7] },
      { kind: 'log-file-modified', path: a },
      { kind: 'log-file-modified', path: b },
    ]);
  });

  it('names a missing log file and a forged digest file', async () => {
    const { dir, pem, result } = await exported();
    rmSync(join(dir, result.logFiles[2] ?? ''));
    const digestPath = result.digestFiles[1] ?? '';
    const digest = JSON.parse(gunzipSync(readFileSync(join(dir, digestPath))).toString('utf8')) as { cipherlake: { payload: string } };
    digest.cipherlake.payload = digest.cipherlake.payload.replace('"toSeq":8', '"toSeq":7');
    writeFileSync(join(dir, digestPath), gzipSync(JSON.stringify(digest)));
    const problems = (await verifyAuditExport(dir, pem)).problems;
    assert.deepEqual(problems, [
      { kind: 'digest-forged', digestIndex: 1, fromSeq: 5, toSeq: 7 },
      { kind: 'digest-missing', digestIndex: 2, fromSeq: 5, toSeq: 8 },
      // 5..8 are unproven (their digest is forged) and 9..10 are gone: nothing after 4 remains
      { kind: 'tail-truncated', fromSeq: 5, toSeq: 10, evidence: ['digest'] },
      { kind: 'log-file-missing', path: result.logFiles[2], fromSeq: 9, toSeq: 10 },
      { kind: 'log-file-unlisted', path: result.logFiles[1] },
    ]);
  });

  it('trusts nothing signed by another key', async () => {
    const { dir } = await exported();
    const report = await verifyAuditExport(dir, LocalAuditSigner.generate().publicKeyPem());
    assert.equal(report.intact, false);
    assert.equal(report.problems.filter((p) => p.kind === 'digest-forged').length, 3);
  });
});

describe('digestFileTime', () => {
  it('names a digest by its second, or the second after the one before when that is not later', () => {
    const t = (iso: string): Date => new Date(iso);
    assert.equal(digestFileTime(t('2026-11-29T01:02:03.999Z'), null).toISOString(), '2026-11-29T01:02:03.000Z');
    assert.equal(digestFileTime(t('2026-11-29T01:02:03.100Z'), t('2026-11-29T01:02:03.000Z')).toISOString(), '2026-11-29T01:02:04.000Z');
    assert.equal(digestFileTime(t('2026-11-29T01:02:03.100Z'), t('2026-11-29T01:02:05.000Z')).toISOString(), '2026-11-29T01:02:06.000Z');
    assert.equal(digestFileTime(t('2026-11-29T01:02:09.500Z'), t('2026-11-29T01:02:05.000Z')).toISOString(), '2026-11-29T01:02:09.000Z');
  });
});
