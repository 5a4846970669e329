import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandInput,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { awsEnv, runOk, scratch, type Scratch } from '../helpers/client-run.js';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';
import { customerKey, errorCode, viaTrustedProxy } from './helpers.js';

/**
 * Part ETags are the plaintext's MD5 for SSE-S3 only, as S3: for SSE-KMS, DSSE-KMS and SSE-C
 * they are opaque, or anyone allowed to ListParts (no SSE-C key needed) could confirm a guess
 * of a part's content.
 */
describe('S3 part ETags reveal nothing of an SSE-KMS, DSSE-KMS or SSE-C part', () => {
  let t: TestServer;
  let s3: S3Client;
  let kmsKeyId = '';
  const ssec = customerKey();
  // A short, guessable part: exactly what an MD5 ETag would let a lister confirm.
  const guessable = Buffer.from('salary of employee 4711: 98000\n');
  const md5Of = (b: Buffer): string => `"${createHash('md5').update(b).digest('hex')}"`;
  const multipartEtagOf = (etags: readonly string[]): string =>
    `"${createHash('md5').update(Buffer.concat(etags.map((e) => Buffer.from(e.replace(/"/g, ''), 'hex')))).digest('hex')}-${etags.length}"`;

  before(async () => {
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = viaTrustedProxy(t.s3());
    kmsKeyId = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await s3.send(new CreateBucketCommand({ Bucket: 'etags' }));
  });
  after(() => t.close());

  async function create(key: string, sse: Partial<CreateMultipartUploadCommandInput>): Promise<string> {
    return (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'etags', Key: key, ...sse }))).UploadId!;
  }

  function assertOpaque(etag: string | undefined, plaintext: Buffer): void {
    assert.match(etag ?? '', /^"[0-9a-f]{32}"$/);
    assert.notEqual(etag, md5Of(plaintext));
  }

  it('SSE-C: ListParts without the key shows no plaintext MD5; the same part again gets another ETag; completion uses what was answered', async () => {
    const UploadId = await create('ssec', { ...ssec });
    const first = await s3.send(new UploadPartCommand({ Bucket: 'etags', Key: 'ssec', UploadId, PartNumber: 1, Body: guessable, ...ssec }));
    assertOpaque(first.ETag, guessable);
    // ListParts needs no SSE-C key (as S3): what it lists must not confirm the guess either.
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'etags', Key: 'ssec', UploadId }));
    assert.deepEqual(listed.Parts?.map((p) => [p.PartNumber, p.ETag]), [[1, first.ETag]]);
    assertOpaque(listed.Parts?.[0]?.ETag, guessable);
    // Uploading the same bytes again must not show that they are the same bytes.
    const again = await s3.send(new UploadPartCommand({ Bucket: 'etags', Key: 'ssec', UploadId, PartNumber: 1, Body: guessable, ...ssec }));
    assertOpaque(again.ETag, guessable);
    assert.notEqual(again.ETag, first.ETag);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'etags', Key: 'ssec', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: again.ETag! }] }, ...ssec }));
    assert.equal(done.ETag, multipartEtagOf([again.ETag!]));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'etags', Key: 'ssec', ...ssec }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(guessable));
  });

  it('SSE-C: CompleteMultipartUpload may leave the key headers out, as S3 (unless the upload was created with a checksum algorithm)', async () => {
    const UploadId = await create('ssec-nokey', { ...ssec });
    const part = await s3.send(new UploadPartCommand({ Bucket: 'etags', Key: 'ssec-nokey', UploadId, PartNumber: 1, Body: guessable, ...ssec }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'etags', Key: 'ssec-nokey', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'etags', Key: 'ssec-nokey', ...ssec }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(guessable));
    // Created with a checksum algorithm, the completion needs the key.
    const withChecksum = await create('ssec-crc', { ...ssec, ChecksumAlgorithm: 'CRC32' });
    const crcPart = await s3.send(new UploadPartCommand({ Bucket: 'etags', Key: 'ssec-crc', UploadId: withChecksum, PartNumber: 1, Body: guessable, ChecksumAlgorithm: 'CRC32', ...ssec }));
    const crcParts = { Parts: [{ PartNumber: 1, ETag: crcPart.ETag!, ChecksumCRC32: crcPart.ChecksumCRC32! }] };
    assert.equal(await errorCode(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'etags', Key: 'ssec-crc', UploadId: withChecksum, MultipartUpload: crcParts }))), '400 InvalidRequest');
    // Refused, the upload stays open and completes with the key.
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'etags', Key: 'ssec-crc', UploadId: withChecksum, MultipartUpload: crcParts, ...ssec }));
    const crcGot = await s3.send(new GetObjectCommand({ Bucket: 'etags', Key: 'ssec-crc', ...ssec }));
    assert.ok(Buffer.from(await crcGot.Body!.transformToByteArray()).equals(guessable));
  });

  it('UploadPartCopy into an SSE-KMS upload gives an opaque ETag, not the (SSE-S3, MD5-tagged) source\'s', async () => {
    const src = await s3.send(new PutObjectCommand({ Bucket: 'etags', Key: 'src-s3', Body: guessable, ServerSideEncryption: 'AES256' }));
    assert.equal(src.ETag, md5Of(guessable), 'the SSE-S3 source is tagged with its MD5');
    const UploadId = await create('kms-copy', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyId });
    const copied = await s3.send(new UploadPartCopyCommand({ Bucket: 'etags', Key: 'kms-copy', UploadId, PartNumber: 1, CopySource: 'etags/src-s3' }));
    const etag = copied.CopyPartResult?.ETag;
    assertOpaque(etag, guessable);
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'etags', Key: 'kms-copy', UploadId }));
    assert.equal(listed.Parts?.[0]?.ETag, etag);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'etags', Key: 'kms-copy', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag! }] } }));
    assert.equal(done.ETag, multipartEtagOf([etag!]));
  });

  it('the destination upload\'s mode decides: a copy of an SSE-KMS object into an SSE-S3 upload is tagged with its MD5', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'etags', Key: 'src-kms', Body: guessable, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyId }));
    const UploadId = await create('s3-copy', { ServerSideEncryption: 'AES256' });
    const copied = await s3.send(new UploadPartCopyCommand({ Bucket: 'etags', Key: 's3-copy', UploadId, PartNumber: 1, CopySource: 'etags/src-kms' }));
    assert.equal(copied.CopyPartResult?.ETag, md5Of(guessable));
  });

  it('DSSE-KMS: part ETags are opaque and differ for identical parts', async () => {
    const UploadId = await create('dsse', { ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: kmsKeyId });
    const etags: string[] = [];
    for (const PartNumber of [1, 2]) {
      const p = await s3.send(new UploadPartCommand({ Bucket: 'etags', Key: 'dsse', UploadId, PartNumber, Body: guessable }));
      assertOpaque(p.ETag, guessable);
      etags.push(p.ETag!);
    }
    assert.notEqual(etags[0], etags[1]);
  });
});

/**
 * Real clients uploading in parts under SSE-KMS and SSE-C now get opaque part ETags, as from
 * S3: none may check them against its own MD5 (s3cmd does, except when the answer says
 * aws:kms). The clients send SSE-C over the HTTPS listener (built-in CA); the SDK checks
 * through the trusted-proxy header.
 */
describe('real clients upload in parts under SSE-KMS and SSE-C', () => {
  const MiB = 1024 * 1024;
  let t: TestServer;
  let s: Scratch;
  let s3: S3Client;
  let keyArn = '';
  let ca = '';
  const body = randomBytes(12 * MiB + 4321);
  const customer = randomBytes(32);
  const ssec = {
    SSECustomerAlgorithm: 'AES256',
    SSECustomerKey: customer.toString('base64'),
    SSECustomerKeyMD5: createHash('md5').update(customer).digest('base64'),
  };

  before(async () => {
    t = await startTestServer({ https: { enabled: true, host: '127.0.0.1', port: 0 }, s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s = scratch('cipherlake-part-etags-');
    s3 = viaTrustedProxy(t.s3());
    ca = join(t.dataDir, 'tls', 'ca', 'ca.crt');
    keyArn = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await s3.send(new CreateBucketCommand({ Bucket: 'clients' }));
    writeFileSync(join(s.dir, 'big.bin'), body);
    writeFileSync(join(s.dir, 'customer.key'), customer);
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  /** The object under `key` was stored in parts under the mode and reads back as `body`. */
  async function assertStoredInParts(key: string, mode: 'aws:kms' | 'SSE-C'): Promise<void> {
    const read = mode === 'SSE-C' ? ssec : {};
    const got = await s3.send(new GetObjectCommand({ Bucket: 'clients', Key: key, ...read }));
    assert.match(got.ETag ?? '', /^"[0-9a-f]{32}-\d+"$/, 'uploaded in parts');
    if (mode === 'aws:kms') assert.equal(got.SSEKMSKeyId, keyArn);
    else assert.equal(got.SSECustomerKeyMD5, ssec.SSECustomerKeyMD5);
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), `${key} reads back`);
  }

  it('AWS CLI: aws s3 cp in parts with --sse aws:kms and with --sse-c, and back down', async () => {
    const aws = (...args: string[]): Promise<string> => runOk('aws', ['--endpoint-url', t.httpsEndpoint!, ...args], awsEnv(s, { AWS_CA_BUNDLE: ca }), s.dir);
    await aws('s3', 'cp', 'big.bin', 's3://clients/cli-kms', '--sse', 'aws:kms', '--sse-kms-key-id', keyArn);
    await assertStoredInParts('cli-kms', 'aws:kms');
    await aws('s3', 'cp', 'big.bin', 's3://clients/cli-ssec', '--sse-c', 'AES256', '--sse-c-key', 'fileb://customer.key');
    await assertStoredInParts('cli-ssec', 'SSE-C');
    await aws('s3', 'cp', 's3://clients/cli-ssec', 'cli-back.bin', '--sse-c', 'AES256', '--sse-c-key', 'fileb://customer.key');
    assert.ok(readFileSync(join(s.dir, 'cli-back.bin')).equals(body));
  });

  it('boto3: upload_file in 5 MiB parts under SSE-KMS and SSE-C', async () => {
    const script = [
      'import os, boto3',
      'from boto3.s3.transfer import TransferConfig',
      'from botocore.config import Config',
      "c = boto3.client('s3', endpoint_url=os.environ['EP'], verify=os.environ['CA'], config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))",
      'cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)',
      "key = open('customer.key', 'rb').read()",
      "c.upload_file('big.bin', 'clients', 'boto-kms', ExtraArgs={'ServerSideEncryption': 'aws:kms', 'SSEKMSKeyId': os.environ['KEY']}, Config=cfg)",
      "c.upload_file('big.bin', 'clients', 'boto-ssec', ExtraArgs={'SSECustomerAlgorithm': 'AES256', 'SSECustomerKey': key}, Config=cfg)",
    ].join('\n');
    await runOk('python3', ['-c', script], awsEnv(s, { EP: t.httpsEndpoint!, CA: ca, KEY: keyArn }), s.dir);
    await assertStoredInParts('boto-kms', 'aws:kms');
    await assertStoredInParts('boto-ssec', 'SSE-C');
  });

  it('rclone: copy in 5 MiB chunks under aws:kms (check passes) and under SSE-C', async () => {
    const env = {
      HOME: s.dir,
      RCLONE_CONFIG: s.empty,
      RCLONE_CONFIG_CL_TYPE: 's3',
      RCLONE_CONFIG_CL_PROVIDER: 'Other',
      RCLONE_CONFIG_CL_ENDPOINT: t.httpsEndpoint!,
      RCLONE_CONFIG_CL_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      RCLONE_CONFIG_CL_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
      RCLONE_CONFIG_CL_REGION: TEST_REGION,
      RCLONE_CONFIG_CL_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG_CL_UPLOAD_CUTOFF: '5M',
      RCLONE_CONFIG_CL_CHUNK_SIZE: '5M',
    };
    const rclone = (...args: string[]): Promise<string> => runOk('rclone', ['--ca-cert', ca, ...args], env, s.dir);
    await rclone('copy', 'big.bin', 'cl:clients/rclone-kms', '--s3-server-side-encryption', 'aws:kms', '--s3-sse-kms-key-id', keyArn);
    await assertStoredInParts('rclone-kms/big.bin', 'aws:kms');
    // rclone compares the MD5 it stored beside the object (the -N ETag is no MD5).
    await rclone('check', '--one-way', '--include', 'big.bin', s.dir, 'cl:clients/rclone-kms');
    // SSE-C: rclone sends no SSE-C headers on CompleteMultipartUpload, which S3 accepts.
    await rclone('copy', 'big.bin', 'cl:clients/rclone-ssec', '--s3-sse-customer-algorithm', 'AES256', '--s3-sse-customer-key-base64', customer.toString('base64'));
    await assertStoredInParts('rclone-ssec/big.bin', 'SSE-C');
  });

  it('s3cmd: put in 5 MiB parts with a KMS key (it checks part ETags against its MD5 unless the answer says aws:kms)', async () => {
    const host = new URL(t.endpoint).host;
    const config = ['[default]', `access_key = ${TEST_ACCESS_KEY_ID}`, `secret_key = ${TEST_SECRET_ACCESS_KEY}`, `host_base = ${host}`, `host_bucket = ${host}`, 'use_https = False', 'signature_v2 = False', `bucket_location = ${TEST_REGION}`, ''];
    writeFileSync(join(s.dir, 's3cfg'), config.join('\n'));
    await runOk('s3cmd', ['-c', 's3cfg', 'put', '--multipart-chunk-size-mb=5', `--server-side-encryption-kms-id=${keyArn}`, 'big.bin', 's3://clients/s3cmd-kms'], { HOME: s.dir }, s.dir);
    await assertStoredInParts('s3cmd-kms', 'aws:kms');
  });
});
