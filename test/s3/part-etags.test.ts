import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandInput,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { customerKey, viaTrustedProxy } from './helpers.js';

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
