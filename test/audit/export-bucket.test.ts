import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { runAuditPublicKey } from '../../src/cli/commands/audit-public-key.js';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { DataDirError, ServerRefusedError } from '../../src/cli/errors.js';
import { AUDIT_SIGNING_ALIAS, CLOUDTRAIL_DIGEST_ALIAS } from '../../src/kms/index.js';
import { capture } from '../helpers/cli-capture.js';
import { exportWithRootEnv } from '../helpers/audit-export.js';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';

describe('cipherlake audit export --bucket', () => {
  let t: TestServer;
  let work: string;
  let exportKeyId: string;

  before(async () => {
    t = await startTestServer();
    work = mkdtempSync(join(tmpdir(), 'cipherlake-audit-bucket-'));
    const kms = t.kms();
    const keyId = (await kms.send(new CreateKeyCommand({ Description: 'data' }))).KeyMetadata!.KeyId!;
    await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('hello') }));
    for (let i = 0; i < 3; i++) await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    exportKeyId = (await kms.send(new CreateKeyCommand({ Description: 'audit export' }))).KeyMetadata!.KeyId!;
    await t.s3().send(new CreateBucketCommand({ Bucket: 'audit-trail' }));
    await t.server.audit.checkpoint();
  });

  after(async () => {
    await t.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('uploads every file under the prefix with SSE-KMS; a downloaded copy verifies with only the public key', async () => {
    const exp = await exportWithRootEnv({ dataDir: t.dataDir, bucket: 'audit-trail', prefix: 'trail', kmsKeyId: exportKeyId, endpoint: t.endpoint });
    assert.equal(exp.code, 0, exp.err.join('\n'));
    assert.ok(exp.out.some((k) => /^trail\/AWSLogs\/000000000000\/CloudTrail\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/000000000000_CloudTrail_us-east-1_.*\.json\.gz$/.test(k)), exp.out.join('\n'));
    assert.ok(exp.out.some((k) => k.startsWith('trail/AWSLogs/') && k.includes('/CloudTrail-Digest/')), exp.out.join('\n'));

    const s3 = t.s3();
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'audit-trail' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!).sort();
    assert.deepEqual(keys, [...exp.out].sort());
    const copy = join(work, 'downloaded');
    for (const key of keys) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'audit-trail', Key: key }));
      assert.equal(head.ServerSideEncryption, 'aws:kms', key);
      assert.match(head.SSEKMSKeyId ?? '', new RegExp(exportKeyId), key);
      const body = await (await s3.send(new GetObjectCommand({ Bucket: 'audit-trail', Key: key }))).Body!.transformToByteArray();
      const file = join(copy, ...key.slice('trail/'.length).split('/'));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
    }

    const pem = await capture((io) => runAuditPublicKey({ dataDir: t.dataDir }, io));
    const keyFile = join(work, 'audit.pem');
    writeFileSync(keyFile, pem.out.join('\n') + '\n');
    const verified = await capture((io) => runAuditVerify({ export: copy, publicKey: keyFile }, io));
    assert.deepEqual(verified.out, ['intact']);
    assert.equal(verified.code, 0);
  });

  it('without --kms-key-id the objects are still SSE-KMS (bucket default, else alias/aws/s3)', async () => {
    const exp = await exportWithRootEnv({ dataDir: t.dataDir, bucket: 'audit-trail', prefix: 'default-key/', endpoint: t.endpoint });
    assert.equal(exp.code, 0, exp.err.join('\n'));
    assert.ok(exp.out.length > 0);
    const head = await t.s3().send(new HeadObjectCommand({ Bucket: 'audit-trail', Key: exp.out[0]! }));
    assert.equal(head.ServerSideEncryption, 'aws:kms');
  });

  it('names the refused PUT and refuses bucket flags without --bucket', async () => {
    await assert.rejects(exportWithRootEnv({ dataDir: t.dataDir, bucket: 'no-such-bucket', endpoint: t.endpoint }), (err: unknown) => {
      assert.ok(err instanceof ServerRefusedError, String(err));
      assert.match(err.message, /PUT s3:\/\/no-such-bucket\/AWSLogs\/.* failed: NoSuchBucket/);
      return true;
    });
    await assert.rejects(exportWithRootEnv({ dataDir: t.dataDir, prefix: 'x' }), /need --bucket/);
    await assert.rejects(exportWithRootEnv({ dataDir: t.dataDir }), /--dir DIR or --bucket NAME/);
  });

  it('refuses to sign with a CloudTrail digest key alias that names anything but an RSA signing key', async () => {
    const store = t.server.keys.deps.store;
    const alias = (await store.getAlias(CLOUDTRAIL_DIGEST_ALIAS))!;
    const ecc = (await t.kms().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    await store.updateAlias({ ...alias, targetKeyId: ecc });
    try {
      await assert.rejects(exportWithRootEnv({ dataDir: t.dataDir, bucket: 'audit-trail', prefix: 'swapped', endpoint: t.endpoint }), (err: unknown) => {
        assert.ok(err instanceof DataDirError, String(err));
        assert.match(err.message, /names a ECC_NIST_P256 SIGN_VERIFY key, not an RSA signing key/);
        return true;
      });
    } finally {
      await store.updateAlias(alias);
    }
  });

  it('refuses a service key alias repointed at a customer key (as the server would refuse to start): audit public-key, and a bucket export', async () => {
    const store = t.server.keys.deps.store;
    const kms = t.kms();
    const cases = [
      { alias: AUDIT_SIGNING_ALIAS, spec: 'ECC_NIST_P256', run: () => capture((io) => runAuditPublicKey({ dataDir: t.dataDir }, io)) },
      { alias: CLOUDTRAIL_DIGEST_ALIAS, spec: 'RSA_2048', run: () => exportWithRootEnv({ dataDir: t.dataDir, bucket: 'audit-trail', prefix: 'repointed', endpoint: t.endpoint }) },
    ] as const;
    for (const c of cases) {
      const alias = (await store.getAlias(c.alias))!;
      // A key of the right spec and usage, but one the caller made and can sign with.
      const mine = (await kms.send(new CreateKeyCommand({ KeySpec: c.spec, KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
      await store.updateAlias({ ...alias, targetKeyId: mine });
      try {
        await assert.rejects(c.run(), (err: unknown) => {
          assert.ok(err instanceof DataDirError, String(err));
          assert.match(err.message, new RegExp(`^${c.alias} names arn:aws:kms:[^:]+:000000000000:key/${mine}, a customer managed ${c.spec} SIGN_VERIFY key, not the ${c.spec} signing key the server made`));
          return true;
        });
      } finally {
        await store.updateAlias(alias);
      }
    }
  });
});
