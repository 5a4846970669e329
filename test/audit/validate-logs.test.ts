import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, createHash, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { exportWithRootEnv } from '../helpers/audit-export.js';
import { awsCli, type RunResult } from '../helpers/client-run.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { newUserKey } from '../iam/query-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TRAIL_ARN = 'arn:aws:cloudtrail:us-east-1:000000000000:trail/cipherlake';
const BUCKET = 'audit-trail';
const LIST_PUBLIC_KEYS = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys';

interface DigestJson {
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: string;
  previousDigestS3Object: string | null;
  previousDigestSignature: string | null;
  previousDigestHashValue: string | null;
  logFiles: { s3Bucket: string; s3Object: string; hashValue: string }[];
}

/**
 * Whether the installed AWS CLI reads AWS_ENDPOINT_URL_S3 (service-specific endpoints: AWS CLI
 * v1 on botocore 1.31+, v2 from 2.13): validate-logs cannot reach the test server's S3 without it.
 */
function cliRoutesS3ByEnvironment(): { ok: boolean; version: string } {
  const version = execFileSync('aws', ['--version'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }).trim();
  const v1 = /botocore\/(\d+)\.(\d+)/.exec(version);
  const v2 = /^aws-cli\/2\.(\d+)/.exec(version);
  const ok = v2 !== null ? Number(v2[1]) >= 13 : v1 !== null && (Number(v1[1]) > 1 || Number(v1[2]) >= 31);
  return { ok, version };
}

const cli = cliRoutesS3ByEnvironment();

/**
 * `aws cloudtrail validate-logs`, unmodified, over an export in a Cipherlake bucket: the AWS
 * CLI's own validator (SHA256withRSA over CloudTrail's string to sign, the digest chain,
 * each log file's SHA-256), with CloudTrail (ListPublicKeys) and S3 both served by the test
 * server. validate-logs builds its S3 clients without --endpoint-url, so the S3 endpoint comes
 * from AWS_ENDPOINT_URL_S3, as a user would set it.
 */
describe('aws cloudtrail validate-logs on a bucket export', { skip: cli.ok ? false : `this AWS CLI (${cli.version}) has no AWS_ENDPOINT_URL_S3` }, () => {
  let t: TestServer;
  let home: string;
  let startTime: string;
  let exported = 0;

  function validateLogs(prefix: string): Promise<RunResult> {
    const args = ['cloudtrail', 'validate-logs', '--trail-arn', TRAIL_ARN, '--start-time', startTime, '--s3-bucket', BUCKET, '--s3-prefix', prefix];
    return awsCli(t.endpoint, home, args, undefined, { AWS_ENDPOINT_URL_S3: t.endpoint });
  }

  /** A fresh export of the whole trail under `prefix`; its digest keys oldest first. */
  async function exportTo(prefix: string): Promise<{ digests: string[]; logs: string[] }> {
    const exp = await exportWithRootEnv({ dataDir: t.dataDir, bucket: BUCKET, prefix, endpoint: t.endpoint });
    assert.equal(exp.code, 0, exp.err.join('\n'));
    assert.ok(!exp.err.some((l) => /no alias\/cipherlake\/cloudtrail-digests key/.test(l)), exp.err.join('\n'));
    const digests = exp.out.filter((k) => k.includes('/CloudTrail-Digest/')).sort();
    return { digests, logs: exp.out.filter((k) => k.includes('/CloudTrail/')) };
  }

  async function object(key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
    const r = await t.s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return { body: Buffer.from(await r.Body!.transformToByteArray()), metadata: r.Metadata ?? {} };
  }

  const digestOf = async (key: string): Promise<DigestJson> => JSON.parse(gunzipSync((await object(key)).body).toString('utf8')) as DigestJson;

  before(async () => {
    t = await startTestServer();
    home = mkdtempSync(join(tmpdir(), 'cipherlake-validate-logs-'));
    startTime = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const kms = t.kms();
    const keyId = (await kms.send(new CreateKeyCommand({ Description: 'validate-logs' }))).KeyMetadata!.KeyId!;
    await t.s3().send(new CreateBucketCommand({ Bucket: BUCKET }));
    // Three digests, a second apart or more (each names its file by its second), so the chain has links to follow.
    for (let i = 0; i < 3; i++) {
      await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`record ${i}`) }));
      await t.server.audit.checkpoint();
    }
    exported = (await exportTo('trail')).digests.length;
  });

  after(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('finds every digest and log file valid, following the chain from the newest digest back', async () => {
    assert.ok(exported >= 3, `${exported} digest files`);
    const r = await validateLogs('trail');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`\\n${exported}/${exported} digest files valid\\n`), r.stdout);
    assert.match(r.stdout, new RegExp(`\\n${exported}/${exported} log files valid\\n`), r.stdout);
    assert.doesNotMatch(r.stdout + r.stderr, /INVALID/);
  });

  it('digest files are CloudTrail-shaped: named by their end time, linked, signed in metadata by the key ListPublicKeys lists', async () => {
    const { digests } = await exportTo('shape');
    const keys = await rawKmsRequest(t.endpoint, { target: LIST_PUBLIC_KEYS, service: 'cloudtrail', body: '{}' });
    assert.equal(keys.status, 200, JSON.stringify(keys.json));
    const listed = (keys.json as { PublicKeyList: { Value: string; Fingerprint: string; ValidityStartTime: number; ValidityEndTime: number }[] }).PublicKeyList;
    assert.equal(listed.length, 1);
    const publicKey = createPublicKey({ key: Buffer.from(listed[0]!.Value, 'base64'), format: 'der', type: 'pkcs1' });
    assert.equal(publicKey.asymmetricKeyType, 'rsa');
    let previous = null as { key: string; signature: string; hash: string } | null;
    for (const key of digests) {
      const { body, metadata } = await object(key);
      const inflated = gunzipSync(body);
      const d = JSON.parse(inflated.toString('utf8')) as DigestJson;
      assert.equal(metadata['signature-algorithm'], 'SHA256withRSA');
      assert.equal(d.digestSignatureAlgorithm, 'SHA256withRSA');
      assert.equal(d.digestPublicKeyFingerprint, listed[0]!.Fingerprint);
      assert.equal(d.digestS3Bucket, BUCKET);
      assert.equal(d.digestS3Object, key);
      // The name ends in the digest's end time, the way validate-logs reads it (key[-24:-8]).
      assert.equal(key.slice(-24, -8), d.digestEndTime.replace(/[-:]/g, ''));
      assert.equal(d.previousDigestS3Object, previous?.key ?? null);
      assert.equal(d.previousDigestSignature, previous?.signature ?? null);
      assert.equal(d.previousDigestHashValue, previous?.hash ?? null);
      for (const log of d.logFiles) {
        assert.equal(log.s3Bucket, BUCKET);
        assert.ok(log.s3Object.startsWith('shape/AWSLogs/'), log.s3Object);
        assert.equal(createHash('sha256').update(gunzipSync((await object(log.s3Object)).body)).digest('hex'), log.hashValue);
      }
      const hash = createHash('sha256').update(inflated).digest('hex');
      const toSign = `${d.digestEndTime}\n${d.digestS3Bucket}/${d.digestS3Object}\n${hash}\n${d.previousDigestSignature ?? 'null'}`;
      const signature = metadata['signature'] ?? '';
      assert.ok(verify('sha256', Buffer.from(toSign), publicKey, Buffer.from(signature, 'hex')), key);
      // One flipped byte of the file, and the same signature no longer holds.
      const flipped = Buffer.from(inflated);
      flipped[10] = (flipped[10] ?? 0) ^ 1;
      const tampered = `${d.digestEndTime}\n${d.digestS3Bucket}/${d.digestS3Object}\n${createHash('sha256').update(flipped).digest('hex')}\n${d.previousDigestSignature ?? 'null'}`;
      assert.ok(!verify('sha256', Buffer.from(tampered), publicKey, Buffer.from(signature, 'hex')), key);
      previous = { key, signature, hash };
    }
  });

  it('names a log file whose bytes changed, and exits non-zero', async () => {
    const { logs } = await exportTo('log-edit');
    const victim = logs[0]!;
    const content = gunzipSync((await object(victim)).body).toString('utf8').replace('"Encrypt"', '"Decrypt"');
    await t.s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: victim, Body: gzipSync(Buffer.from(content)) }));
    const r = await validateLogs('log-edit');
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`Log file\\ts3://${BUCKET}/${victim}\\tINVALID: hash value doesn't match`));
    assert.match(r.stdout, /digest files valid/);
  });

  it('names a deleted log file; a second export to the same prefix writes the same bytes and signatures back, valid again', async () => {
    const first = await exportTo('log-gone');
    const before = await Promise.all([...first.digests, ...first.logs].map(async (k) => ({ k, ...(await object(k)) })));
    await t.s3().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: first.logs[0]! }));
    const gone = await validateLogs('log-gone');
    assert.equal(gone.code, 1, gone.stdout);
    assert.match(gone.stderr, new RegExp(`Log file\\ts3://${BUCKET}/${first.logs[0]}\\tINVALID: not found`));

    const again = await exportTo('log-gone');
    assert.deepEqual(again, first);
    for (const b of before) {
      const now = await object(b.k);
      assert.ok(now.body.equals(b.body), b.k);
      assert.equal(now.metadata['signature'], b.metadata['signature'], b.k);
    }
    assert.equal((await validateLogs('log-gone')).code, 0);
  });

  it('names a digest file whose content changed (its signature no longer holds) and one that was deleted', async () => {
    const { digests } = await exportTo('digest-edit');
    const [oldest, middle] = digests;
    const edited = await digestOf(oldest!);
    edited.digestStartTime = '2000-01-01T00:00:00Z';
    const { metadata } = await object(oldest!);
    await t.s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: oldest!, Body: gzipSync(Buffer.from(JSON.stringify(edited))), Metadata: metadata }));
    assert.equal((await t.s3().send(new HeadObjectCommand({ Bucket: BUCKET, Key: oldest! }))).Metadata?.['signature'], metadata['signature']);
    const signatureBroken = await validateLogs('digest-edit');
    assert.equal(signatureBroken.code, 1, signatureBroken.stdout);
    assert.match(signatureBroken.stderr, new RegExp(`Digest file\\ts3://${BUCKET}/${oldest}\\tINVALID: signature verification failed`));

    await t.s3().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: middle! }));
    const missing = await validateLogs('digest-edit');
    assert.equal(missing.code, 1, missing.stdout);
    assert.match(missing.stderr, new RegExp(`Digest file\\ts3://${BUCKET}/${middle}\\tINVALID: not found`));
  });
});

/** ListPublicKeys on its own server: it needs no S3 endpoint override, so it runs whatever the AWS CLI's version. */
describe('CloudTrail ListPublicKeys', () => {
  let t: TestServer;
  let home: string;

  before(async () => {
    t = await startTestServer();
    home = mkdtempSync(join(tmpdir(), 'cipherlake-list-public-keys-'));
  });

  after(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('lists the digest key through the AWS CLI; its time range, token and permission checked as CloudTrail checks them, each call audited', async () => {
    const cli = await awsCli(t.endpoint, home, ['cloudtrail', 'list-public-keys', '--start-time', '2020-01-01T00:00:00Z']);
    assert.equal(cli.code, 0, cli.stderr);
    const keys = (JSON.parse(cli.stdout) as { PublicKeyList: { Fingerprint: string; Value: string }[] }).PublicKeyList;
    assert.equal(keys.length, 1);
    assert.match(keys[0]!.Fingerprint, /^[0-9a-f]{32}$/);
    // The CLI prints the blob as sent (base64): a PKCS#1 RSA public key, as validate-logs loads it.
    assert.equal(createPublicKey({ key: Buffer.from(keys[0]!.Value, 'base64'), format: 'der', type: 'pkcs1' }).asymmetricKeyType, 'rsa');

    const before2001 = await rawKmsRequest(t.endpoint, { target: LIST_PUBLIC_KEYS, service: 'cloudtrail', body: JSON.stringify({ StartTime: 946684800, EndTime: 978307200 }) });
    assert.deepEqual(before2001.json, { PublicKeyList: [] });
    // A range that starts after now: no digest file was signed in it.
    const future = Math.floor(Date.now() / 1000) + 86_400;
    assert.deepEqual((await rawKmsRequest(t.endpoint, { target: LIST_PUBLIC_KEYS, service: 'cloudtrail', body: JSON.stringify({ StartTime: future }) })).json, { PublicKeyList: [] });
    const reversed = await rawKmsRequest(t.endpoint, { target: LIST_PUBLIC_KEYS, service: 'cloudtrail', body: JSON.stringify({ StartTime: 978307200, EndTime: 946684800 }) });
    assert.equal(reversed.status, 400);
    assert.equal((reversed.json as { __type: string }).__type, 'InvalidTimeRangeException');
    const token = await rawKmsRequest(t.endpoint, { target: LIST_PUBLIC_KEYS, service: 'cloudtrail', body: JSON.stringify({ NextToken: 'x' }) });
    assert.equal((token.json as { __type: string }).__type, 'InvalidTokenException');
    const badType = await rawKmsRequest(t.endpoint, { target: LIST_PUBLIC_KEYS, service: 'cloudtrail', body: JSON.stringify({ StartTime: true }) });
    assert.equal((badType.json as { __type: string }).__type, 'SerializationException');

    // A user allowed LookupEvents only is refused ListPublicKeys.
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'cloudtrail:LookupEvents', Resource: '*' }] });
    const reader = await newUserKey(t.endpoint, 'reader', policy);
    const denied = await rawKmsRequest(t.endpoint, { target: LIST_PUBLIC_KEYS, service: 'cloudtrail', body: '{}', ...reader });
    assert.equal(denied.status, 400);
    assert.equal((denied.json as { __type: string }).__type, 'AccessDeniedException');

    // Each call is in the trail as a CloudTrail event, the refused ones with their error code.
    await t.server.audit.flush();
    const { records } = await t.server.auditStore.lookup({ eventName: 'ListPublicKeys', limit: 50 });
    const events = records.map((r) => r.event);
    assert.ok(events.every((e) => e.eventSource === 'cloudtrail.amazonaws.com' && e.readOnly === true));
    assert.ok(events.some((e) => e.errorCode === undefined && (e.requestParameters as Record<string, unknown> | null)?.['startTime'] === '2000-01-01T00:00:00.000Z'), JSON.stringify(events.map((e) => e.requestParameters)));
    assert.deepEqual(events.map((e) => e.errorCode).filter((c) => c !== undefined).sort(), ['AccessDeniedException', 'InvalidTimeRangeException', 'InvalidTokenException', 'SerializationException']);
  });
});
