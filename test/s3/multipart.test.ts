import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, runOk, scratch } from '../helpers/client-run.js';
import { filesUnder } from '../helpers/files.js';
import { customerKey, errorCode, viaTrustedProxy } from './helpers.js';

const MiB = 1024 * 1024;

/** A deterministic pseudo-random byte source: AES-256-CTR keystream, readable from any offset without holding it. */
class Pattern {
  readonly #key = randomBytes(32);
  /** `length` bytes starting at `offset`. */
  bytes(offset: number, length: number): Buffer {
    const block = Math.floor(offset / 16);
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64BE(BigInt(block), 8);
    const skip = offset - block * 16;
    const c = createCipheriv('aes-256-ctr', this.#key, iv);
    return c.update(Buffer.alloc(skip + length)).subarray(skip);
  }
  /** A stream of bytes [0, size) in 1 MiB chunks. */
  stream(size: number): Readable {
    const self = this;
    return Readable.from(
      (function* () {
        for (let o = 0; o < size; o += MiB) yield self.bytes(o, Math.min(MiB, size - o));
      })(),
    );
  }
  sha256(size: number): string {
    const h = createHash('sha256');
    for (let o = 0; o < size; o += MiB) h.update(this.bytes(o, Math.min(MiB, size - o)));
    return h.digest('hex');
  }
}

async function sha256Of(body: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of body) h.update(c);
  return h.digest('hex');
}

async function bytesOf(s3: S3Client, input: ConstructorParameters<typeof GetObjectCommand>[0]): Promise<{ body: Buffer; out: Awaited<ReturnType<S3Client['send']>> & Record<string, unknown> }> {
  const out = await s3.send(new GetObjectCommand(input));
  return { body: Buffer.from(await out.Body!.transformToByteArray()), out: out as never };
}

function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}

/** A part's ETag as S3 gives it: the plaintext's MD5 for SSE-S3 only, else 32 hex digits that are not that MD5. */
function assertPartEtag(mode: string, etag: string | undefined, plaintext: Buffer): void {
  if (mode === 'SSE-S3') return assert.equal(etag, `"${md5(plaintext)}"`);
  assert.match(etag ?? '', /^"[0-9a-f]{32}"$/);
  assert.notEqual(etag, `"${md5(plaintext)}"`, `a ${mode} part ETag must not be the plaintext's MD5`);
}

/** S3's multipart ETag over the part ETags as answered: MD5 of their binary values, then "-N". */
function multipartEtagOf(partEtags: readonly string[]): string {
  const bytes = Buffer.concat(partEtags.map((e) => Buffer.from(e.replace(/"/g, ''), 'hex')));
  return `"${md5(bytes)}-${partEtags.length}"`;
}

describe('S3 multipart uploads', () => {
  let t: TestServer;
  let s3: S3Client;
  let kmsKeyId = '';
  let kmsKeyArn = '';

  before(async () => {
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = viaTrustedProxy(t.s3());
    const key = await t.kms().send(new CreateKeyCommand({}));
    kmsKeyId = key.KeyMetadata!.KeyId!;
    kmsKeyArn = key.KeyMetadata!.Arn!;
    await s3.send(new CreateBucketCommand({ Bucket: 'mpu' }));
  });
  after(() => t.close());

  it('lib-storage Upload of 100+ MiB under SSE-KMS reads back identical, whole, by range across parts and by part', async () => {
    const size = 100 * MiB + 12_345;
    const pattern = new Pattern();
    const upload = new Upload({
      client: s3,
      params: { Bucket: 'mpu', Key: 'big/model.bin', Body: pattern.stream(size), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyId, ContentType: 'application/x-model' },
      partSize: 8 * MiB,
      queueSize: 4,
    });
    const done = await upload.done();
    assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-13"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big/model.bin' }));
    assert.equal(got.ServerSideEncryption, 'aws:kms');
    assert.equal(got.SSEKMSKeyId, kmsKeyArn);
    assert.equal(got.ContentLength, size);
    assert.equal(got.ContentType, 'application/x-model');
    assert.equal(await sha256Of(got.Body as AsyncIterable<Uint8Array>), pattern.sha256(size));
    const ranges: Array<[number, number]> = [
      [8 * MiB - 100, 8 * MiB + 99], // one part boundary
      [16 * MiB - 5, 32 * MiB + 4], // spans three parts
      [size - 1000, size - 1], // inside the short last part
      [12_345, 12_345], // one byte
    ];
    for (const [a, b] of ranges) {
      const { body, out } = await bytesOf(s3, { Bucket: 'mpu', Key: 'big/model.bin', Range: `bytes=${a}-${b}` });
      assert.equal(out.ContentRange, `bytes ${a}-${b}/${size}`);
      assert.ok(body.equals(pattern.bytes(a, b - a + 1)), `range ${a}-${b}`);
    }
    const part = await bytesOf(s3, { Bucket: 'mpu', Key: 'big/model.bin', PartNumber: 2 });
    assert.equal(part.out.PartsCount, 13);
    assert.equal(part.out.ContentRange, `bytes ${8 * MiB}-${16 * MiB - 1}/${size}`);
    assert.ok(part.body.equals(pattern.bytes(8 * MiB, 8 * MiB)));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'mpu', Key: 'big/model.bin', PartNumber: 13 }));
    assert.equal(head.ContentLength, size - 12 * 8 * MiB);
    assert.equal(head.PartsCount, 13);
    assert.match(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'mpu', Key: 'big/model.bin', PartNumber: 14 }))), /^416 /);
    assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big/model.bin', PartNumber: 14 }))), '416 InvalidPartNumber');
  });

  const ssec = customerKey();
  const otherKey = customerKey();
  const modes = [
    { name: 'SSE-S3', create: () => ({ ServerSideEncryption: 'AES256' as const }), part: () => ({}), header: 'AES256' },
    {
      name: 'SSE-KMS',
      create: () => ({ ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyId, SSEKMSEncryptionContext: Buffer.from(JSON.stringify({ team: 'ml' })).toString('base64'), BucketKeyEnabled: true }),
      part: () => ({}),
      header: 'aws:kms',
    },
    { name: 'SSE-C', create: () => ({ ...ssec }), part: () => ({ ...ssec }), header: undefined },
  ];

  for (const mode of modes) {
    describe(mode.name, () => {
      const key = `modes/${mode.name}/obj`;
      const part1 = randomBytes(5 * MiB);
      const part3 = randomBytes(70_000);
      const source = randomBytes(5 * MiB + 300_000);

      it('create, upload, upload-copy with range, list parts, complete, then GET whole, by range and by part', async () => {
        await s3.send(new PutObjectCommand({ Bucket: 'mpu', Key: `src-${mode.name}`, Body: source, ...mode.create() }));
        const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: key, ContentType: 'text/x-parts', Metadata: { origin: 'test' }, ...mode.create() }));
        assert.equal(created.ServerSideEncryption, mode.header);
        if (mode.name === 'SSE-KMS') {
          assert.equal(created.SSEKMSKeyId, kmsKeyArn);
          assert.equal(created.BucketKeyEnabled, true);
          // With a bucket key, S3's encryption context is the bucket's ARN, not the object's.
          assert.deepEqual(JSON.parse(Buffer.from(created.SSEKMSEncryptionContext!, 'base64').toString()), { team: 'ml', 'aws:s3:arn': 'arn:aws:s3:::mpu' });
        }
        if (mode.name === 'SSE-C') assert.equal(created.SSECustomerKeyMD5, ssec.SSECustomerKeyMD5);
        const UploadId = created.UploadId!;
        const p1 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: key, UploadId, PartNumber: 1, Body: part1, ...mode.part() }));
        assertPartEtag(mode.name, p1.ETag, part1);
        assert.equal(p1.ServerSideEncryption, mode.header);
        const copySse = mode.name === 'SSE-C' ? { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: ssec.SSECustomerKey, CopySourceSSECustomerKeyMD5: ssec.SSECustomerKeyMD5 } : {};
        const part2 = source.subarray(1000, 1000 + 5 * MiB);
        const p2 = await s3.send(
          new UploadPartCopyCommand({ Bucket: 'mpu', Key: key, UploadId, PartNumber: 2, CopySource: `mpu/src-${mode.name}`, CopySourceRange: `bytes=1000-${1000 + 5 * MiB - 1}`, ...mode.part(), ...copySse }),
        );
        assertPartEtag(mode.name, p2.CopyPartResult?.ETag, part2);
        const p3 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: key, UploadId, PartNumber: 3, Body: part3, ...mode.part() }));
        const p4 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: key, UploadId, PartNumber: 4, Body: part3, ...mode.part() }));
        assertPartEtag(mode.name, p3.ETag, part3);
        assertPartEtag(mode.name, p4.ETag, part3);
        // Identical parts: the same MD5 for SSE-S3; otherwise opaque, so equal plaintexts must not show.
        if (mode.name === 'SSE-S3') assert.equal(p3.ETag, p4.ETag);
        else assert.notEqual(p3.ETag, p4.ETag);
        const page1 = await s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: key, UploadId, MaxParts: 2 }));
        assert.deepEqual(page1.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), [[1, part1.length, p1.ETag], [2, part2.length, p2.CopyPartResult!.ETag]]);
        assert.equal(page1.IsTruncated, true);
        const page2 = await s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: key, UploadId, PartNumberMarker: page1.NextPartNumberMarker! }));
        assert.deepEqual(page2.Parts?.map((p) => p.PartNumber), [3, 4]);
        assert.equal(page2.IsTruncated, false);
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'mpu', Prefix: key }));
        assert.equal(listed.KeyCount, 0, 'an incomplete upload is not an object');
        // Part 3 is under 5 MiB and not the last one listed.
        const tooSmall = [{ PartNumber: 3, ETag: p3.ETag! }, { PartNumber: 4, ETag: p4.ETag! }];
        assert.equal(await errorCode(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: key, UploadId, MultipartUpload: { Parts: tooSmall }, ...mode.part() }))), '400 EntityTooSmall');
        const parts: CompletedPart[] = [
          { PartNumber: 1, ETag: p1.ETag! },
          { PartNumber: 2, ETag: p2.CopyPartResult!.ETag! },
          { PartNumber: 3, ETag: p3.ETag! },
        ];
        // Part 4 is left out: it is discarded.
        const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: key, UploadId, MultipartUpload: { Parts: parts }, ...mode.part() }));
        assert.equal(done.ETag, multipartEtagOf([p1.ETag!, p2.CopyPartResult!.ETag!, p3.ETag!]));
        assert.equal(done.ServerSideEncryption, mode.header);
        const whole = Buffer.concat([part1, part2, part3]);
        const { body, out } = await bytesOf(s3, { Bucket: 'mpu', Key: key, ...mode.part() });
        assert.ok(body.equals(whole));
        assert.equal(out.ETag, done.ETag);
        assert.equal(out.ContentType, 'text/x-parts');
        assert.deepEqual(out.Metadata, { origin: 'test' });
        const a = 10 * MiB - 10;
        const b = 10 * MiB + 10;
        const ranged = await bytesOf(s3, { Bucket: 'mpu', Key: key, Range: `bytes=${a}-${b}`, ...mode.part() });
        assert.ok(ranged.body.equals(whole.subarray(a, b + 1)));
        const across = await bytesOf(s3, { Bucket: 'mpu', Key: key, Range: `bytes=${5 * MiB - 3}-${10 * MiB + 70}`, ...mode.part() });
        assert.ok(across.body.equals(whole.subarray(5 * MiB - 3, 10 * MiB + 71)));
        const byPart = await bytesOf(s3, { Bucket: 'mpu', Key: key, PartNumber: 3, ...mode.part() });
        assert.ok(byPart.body.equals(part3));
        assert.equal(byPart.out.PartsCount, 3);
        assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: key, PartNumber: 1, Range: 'bytes=0-1', ...mode.part() }))), '400 InvalidRequest');
        assert.equal(await errorCode(s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: key, UploadId }))), '404 NoSuchUpload');
      });

      it('error paths: InvalidPart, InvalidPartOrder, MalformedXML, bad part numbers, BadDigest, NoSuchUpload, abort', async () => {
        const k = `${key}-errors`;
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: k, ...mode.create() }));
        const small = Buffer.from('tiny part');
        const p1 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber: 1, Body: small, ...mode.part() }));
        const p2 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber: 2, Body: small, ...mode.part() }));
        const complete = (Parts: CompletedPart[]): Promise<unknown> => s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: k, UploadId, MultipartUpload: { Parts }, ...mode.part() }));
        assert.equal(await errorCode(complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }])), '400 InvalidPart');
        assert.equal(await errorCode(complete([{ PartNumber: 7, ETag: p1.ETag! }])), '400 InvalidPart');
        assert.equal(await errorCode(complete([{ PartNumber: 2, ETag: p2.ETag! }, { PartNumber: 1, ETag: p1.ETag! }])), '400 InvalidPartOrder');
        assert.equal(await errorCode(complete([])), '400 MalformedXML');
        for (const PartNumber of [0, 10_001]) {
          assert.equal(await errorCode(s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber, Body: small, ...mode.part() }))), '400 InvalidArgument');
        }
        assert.equal(await errorCode(s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber: 3, Body: small, ContentMD5: createHash('md5').update('other').digest('base64'), ...mode.part() }))), '400 BadDigest');
        assert.equal(await errorCode(s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: k, UploadId: 'nope', PartNumber: 1, Body: small, ...mode.part() }))), '404 NoSuchUpload');
        assert.equal(await errorCode(s3.send(new UploadPartCopyCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber: 4, CopySource: `mpu/src-${mode.name}`, CopySourceIfMatch: '"different"', ...mode.part() }))), '412 PreconditionFailed');
        assert.equal(await errorCode(s3.send(new UploadPartCopyCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber: 4, CopySource: 'mpu/missing', ...mode.part() }))), '404 NoSuchKey');
        if (mode.name === 'SSE-C') {
          assert.equal(await errorCode(s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber: 3, Body: small }))), '400 InvalidRequest');
          assert.equal(await errorCode(s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber: 3, Body: small, ...otherKey }))), '400 InvalidRequest');
          // Completion may leave SSE-C's headers out (test/s3/part-etags.test.ts), but not name another key.
          assert.equal(await errorCode(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: k, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag! }] }, ...otherKey }))), '400 InvalidRequest');
          // The copy source is SSE-C too: without its key the copy is refused.
          assert.equal(await errorCode(s3.send(new UploadPartCopyCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber: 4, CopySource: `mpu/src-${mode.name}`, ...mode.part() }))), '400 InvalidRequest');
        } else {
          assert.equal(await errorCode(s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: k, UploadId, PartNumber: 3, Body: small, ...ssec }))), '400 InvalidRequest');
        }
        const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu', Prefix: k }));
        assert.deepEqual(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [[k, UploadId]]);
        await s3.send(new AbortMultipartUploadCommand({ Bucket: 'mpu', Key: k, UploadId }));
        assert.equal(await errorCode(s3.send(new AbortMultipartUploadCommand({ Bucket: 'mpu', Key: k, UploadId }))), '404 NoSuchUpload');
        assert.equal(await errorCode(s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: k, UploadId }))), '404 NoSuchUpload');
        assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu', Prefix: k }))).Uploads, undefined);
        assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'mpu', Key: k, ...mode.part() }))), '404 NotFound');
      });
    });
  }

  it('ListMultipartUploads: prefix, delimiter, key-marker, upload-id-marker, max-uploads paging', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'mp-list' }));
    const ids: Record<string, string[]> = {};
    for (const key of ['a/1', 'a/2', 'b', 'c', 'c', 'd/x/1']) {
      const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mp-list', Key: key }));
      (ids[key] ??= []).push(r.UploadId!);
    }
    const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mp-list' }));
    assert.deepEqual(all.Uploads?.map((u) => u.Key), ['a/1', 'a/2', 'b', 'c', 'c', 'd/x/1']);
    assert.deepEqual(all.Uploads?.filter((u) => u.Key === 'c').map((u) => u.UploadId), ids['c']);
    const rolled = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mp-list', Delimiter: '/' }));
    assert.deepEqual(rolled.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'd/']);
    assert.deepEqual(rolled.Uploads?.map((u) => u.Key), ['b', 'c', 'c']);
    const under = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mp-list', Prefix: 'd/', Delimiter: '/' }));
    assert.deepEqual(under.CommonPrefixes?.map((p) => p.Prefix), ['d/x/']);
    const seen: string[] = [];
    let page = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mp-list', MaxUploads: 2 }));
    for (;;) {
      seen.push(...(page.Uploads ?? []).map((u) => `${u.Key}@${u.UploadId}`));
      if (page.IsTruncated !== true) break;
      assert.equal(page.Uploads?.length, 2);
      page = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mp-list', MaxUploads: 2, KeyMarker: page.NextKeyMarker!, UploadIdMarker: page.NextUploadIdMarker! }));
    }
    assert.deepEqual(seen, all.Uploads?.map((u) => `${u.Key}@${u.UploadId}`));
    const afterC1 = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mp-list', KeyMarker: 'c', UploadIdMarker: ids['c']![0]! }));
    assert.deepEqual(afterC1.Uploads?.map((u) => u.UploadId), [ids['c']![1], ids['d/x/1']![0]]);
    const afterC = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mp-list', KeyMarker: 'c' }));
    assert.deepEqual(afterC.Uploads?.map((u) => u.Key), ['d/x/1']);
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: 'mp-list' }))).KeyCount, 0);
  });

  it('default bucket encryption applies to an upload created without SSE headers', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'mp-default' }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: 'mp-default',
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: kmsKeyId }, BucketKeyEnabled: true }] },
      }),
    );
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mp-default', Key: 'k' }));
    assert.equal(created.ServerSideEncryption, 'aws:kms');
    assert.equal(created.SSEKMSKeyId, kmsKeyArn);
    assert.equal(created.BucketKeyEnabled, true);
    const body = randomBytes(1000);
    const p = await s3.send(new UploadPartCommand({ Bucket: 'mp-default', Key: 'k', UploadId: created.UploadId, PartNumber: 1, Body: body }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mp-default', Key: 'k', UploadId: created.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag!, ChecksumCRC32: p.ChecksumCRC32 }] } }));
    const { body: got, out } = await bytesOf(s3, { Bucket: 'mp-default', Key: 'k' });
    assert.ok(got.equals(body));
    assert.equal(out.ServerSideEncryption, 'aws:kms');
  });

  it("the create's x-amz-tagging becomes the completed object's tags; a bad one is InvalidTag at create", async () => {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'tagged', Tagging: 'team=ml&stage=raw%20data' }));
    const body = randomBytes(1000);
    const p = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'tagged', UploadId: created.UploadId, PartNumber: 1, Body: body }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'tagged', UploadId: created.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag!, ChecksumCRC32: p.ChecksumCRC32 }] } }));
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'mpu', Key: 'tagged' }));
    assert.deepEqual(tags.TagSet, [{ Key: 'team', Value: 'ml' }, { Key: 'stage', Value: 'raw data' }]);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'mpu', Key: 'tagged' }))).TagCount, 2);
    assert.equal(await errorCode(s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'tagged-bad', Tagging: 'aws:x=1' }))), '400 InvalidTag');
  });

  it('no plaintext of parts at rest, before and after completion, under every mode', async () => {
    const marker = 'CIPHERLAKE-MULTIPART-MARKER-51c0e2';
    const body = Buffer.from(`${marker}\n`.repeat(200_000)); // ~7 MiB: a full first part
    const first = body.subarray(0, 5 * MiB);
    const second = body.subarray(5 * MiB);
    const search = (): void => {
      // A completion's part files are removed after it answers: one may go while this reads.
      const files = filesUnder(t.dataDir).flatMap((f) => {
        try {
          return [{ f, bytes: readFileSync(f) }];
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw err;
        }
      });
      // The search must cover where the parts really are: their sealed bytes are all in these files.
      assert.ok(files.reduce((n, { bytes }) => n + bytes.length, 0) >= modes.length * body.length, 'the parts are stored under the data dir');
      for (const { f, bytes } of files) assert.equal(bytes.includes(marker), false, `${f} holds the marker`);
    };
    const uploads: Array<{ key: string; id: string; sse: object; etags: string[] }> = [];
    for (const mode of modes) {
      const key = `rest/${mode.name}`;
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: key, ...mode.create() }));
      const etags: string[] = [];
      for (const [i, b] of [first, second].entries()) etags.push((await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: key, UploadId, PartNumber: i + 1, Body: b, ...mode.part() }))).ETag!);
      uploads.push({ key, id: UploadId!, sse: mode.part(), etags });
    }
    search();
    for (const u of uploads) {
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: u.key, UploadId: u.id, MultipartUpload: { Parts: u.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) }, ...u.sse }));
      assert.ok((await bytesOf(s3, { Bucket: 'mpu', Key: u.key, ...u.sse })).body.equals(body));
    }
    search();
  });

  it('tamper: a flipped byte in one part fails reads of that part only; the client never gets wrong bytes', async () => {
    const part1 = randomBytes(5 * MiB);
    const part2 = randomBytes(100_000);
    const dataDir = join(t.dataDir, 'objects', 'data');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'victim' }));
    const p1 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'victim', UploadId, PartNumber: 1, Body: part1 }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'victim', UploadId, PartNumber: 2, Body: part2 }));
    const beforeComplete = new Set(filesUnder(dataDir));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'victim', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag! }, { PartNumber: 2, ETag: p2.ETag! }] } }));
    const added = filesUnder(dataDir).filter((f) => !beforeComplete.has(f));
    assert.equal(added.length, 1, 'one body for the completed object');
    const file = added[0]!;
    const stored = readFileSync(file);
    const flipAt = stored.length - 50_000; // inside part 2's sealed stream
    stored[flipAt] = stored[flipAt]! ^ 0x01;
    writeFileSync(file, stored);
    const first = await bytesOf(s3, { Bucket: 'mpu', Key: 'victim', Range: 'bytes=0-99' });
    assert.ok(first.body.equals(part1.subarray(0, 100)), 'part 1 still reads');
    await assert.rejects(bytesOf(s3, { Bucket: 'mpu', Key: 'victim', PartNumber: 2 }));
    await assert.rejects(bytesOf(s3, { Bucket: 'mpu', Key: 'victim' }));
  });

  it('an upload survives a restart mid-way and completes after it', async () => {
    const part1 = randomBytes(5 * MiB);
    const part2 = randomBytes(1234);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'restart', ...ssec }));
    const p1 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'restart', UploadId, PartNumber: 1, Body: part1, ...ssec }));
    t = await t.restart();
    s3 = viaTrustedProxy(t.s3());
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu', Prefix: 'restart' }));
    assert.deepEqual(listed.Uploads?.map((u) => u.UploadId), [UploadId]);
    const p2 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'restart', UploadId, PartNumber: 2, Body: part2, ...ssec }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'restart', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag! }, { PartNumber: 2, ETag: p2.ETag! }] }, ...ssec }));
    assert.ok((await bytesOf(s3, { Bucket: 'mpu', Key: 'restart', ...ssec })).body.equals(Buffer.concat([part1, part2])));
  });

  it('AWS CLI: aws s3 cp of a 20 MiB file up and down with --sse aws:kms goes multipart', async () => {
    const s = scratch('cipherlake-mp-cli-');
    try {
      const env = awsEnv(s);
      const file = join(s.dir, 'twenty.bin');
      const body = randomBytes(20 * MiB);
      writeFileSync(file, body);
      await runOk('aws', ['--endpoint-url', t.endpoint, 's3', 'cp', file, 's3://mpu/cli/twenty.bin', '--sse', 'aws:kms', '--sse-kms-key-id', kmsKeyId], env);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'mpu', Key: 'cli/twenty.bin' }));
      assert.match(head.ETag ?? '', /-\d+"$/, 'uploaded in parts');
      assert.equal(head.ServerSideEncryption, 'aws:kms');
      assert.equal(head.SSEKMSKeyId, kmsKeyArn);
      const back = join(s.dir, 'back.bin');
      await runOk('aws', ['--endpoint-url', t.endpoint, 's3', 'cp', 's3://mpu/cli/twenty.bin', back], env);
      assert.equal(createHash('sha256').update(readFileSync(back)).digest('hex'), createHash('sha256').update(body).digest('hex'));
    } finally {
      s.remove();
    }
  });
});
