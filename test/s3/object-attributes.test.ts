import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectAttributesCommand, PutObjectCommand, UploadPartCommand,
  type ChecksumAlgorithm, type GetObjectAttributesCommandInput, type ObjectAttributes, type S3Client,
} from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, runOk, scratch } from '../helpers/client-run.js';
import { newUserKey } from '../iam/query-client.js';
import { customerKey, errorCode, viaTrustedProxy } from './helpers.js';
import { signedFetch, xmlCode } from './raw-sign.js';

const ALL: ObjectAttributes[] = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'];
const MiB = 1024 * 1024;

/**
 * GetObjectAttributes (GET ?attributes), as the S3 API reference describes it: only the
 * attributes asked for, the ETag unquoted, the stored checksum, a multipart object's parts
 * (listed with their checksums when they have them), SSE-C's key headers required, and both
 * s3:GetObject and s3:GetObjectAttributes needed.
 */
describe('S3 GetObjectAttributes', () => {
  let t: TestServer;
  let s3: S3Client;
  const B = 'attrs';
  const attributes = (Key: string, extra: Partial<GetObjectAttributesCommandInput> = {}, c = s3) =>
    c.send(new GetObjectAttributesCommand({ Bucket: B, Key, ObjectAttributes: ALL, ...extra }));

  async function multipart(Key: string, client: S3Client, algorithm?: ChecksumAlgorithm): Promise<string> {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: B, Key, ...(algorithm !== undefined ? { ChecksumAlgorithm: algorithm } : {}) }));
    const sizes = [5 * MiB, 5 * MiB, 1000];
    const parts = [];
    for (const [i, size] of sizes.entries()) {
      const r = await client.send(new UploadPartCommand({ Bucket: B, Key, UploadId, PartNumber: i + 1, Body: Buffer.alloc(size, i + 1), ...(algorithm !== undefined ? { ChecksumAlgorithm: algorithm } : {}) }));
      parts.push({ PartNumber: i + 1, ETag: r.ETag, ...(r.ChecksumCRC32 !== undefined ? { ChecksumCRC32: r.ChecksumCRC32 } : {}) });
    }
    return (await client.send(new CompleteMultipartUploadCommand({ Bucket: B, Key, UploadId, MultipartUpload: { Parts: parts } }))).ETag ?? '';
  }

  before(async () => {
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = viaTrustedProxy(t.s3());
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(() => t.close());

  it('a single-part object: unquoted ETag, the stored checksum (FULL_OBJECT), STANDARD, its size, no ObjectParts; only what was asked', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'one', Body: 'hello attributes', ChecksumAlgorithm: 'SHA256' }));
    const a = await attributes('one');
    assert.equal(a.ETag, createHash('md5').update('hello attributes').digest('hex'), 'the unquoted MD5 of the body');
    assert.equal(put.ETag, `"${a.ETag}"`);
    assert.equal(a.Checksum?.ChecksumSHA256, createHash('sha256').update('hello attributes').digest('base64'));
    assert.equal(put.ChecksumSHA256, a.Checksum?.ChecksumSHA256);
    assert.equal(a.Checksum?.ChecksumType, 'FULL_OBJECT');
    assert.equal(a.StorageClass, 'STANDARD');
    assert.equal(a.ObjectSize, 'hello attributes'.length);
    assert.equal(a.ObjectParts, undefined);
    assert.ok(a.LastModified instanceof Date);
    const only = await attributes('one', { ObjectAttributes: ['ObjectSize'] });
    assert.deepEqual([only.ObjectSize, only.ETag, only.Checksum, only.StorageClass], [16, undefined, undefined, undefined]);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'plain', Body: 'x' }));
    const plain = await t.s3({ requestChecksumCalculation: 'WHEN_REQUIRED' }).send(new PutObjectCommand({ Bucket: B, Key: 'plain', Body: 'x' }));
    assert.equal((await attributes('plain')).Checksum, undefined, 'no checksum stored, none answered');
    assert.equal((await attributes('plain')).ETag, createHash('md5').update('x').digest('hex'));
    assert.equal(plain.ETag, `"${createHash('md5').update('x').digest('hex')}"`);
  });

  it('a multipart object: TotalPartsCount, and with part checksums the parts, paged by MaxParts and PartNumberMarker', async () => {
    const etag = await multipart('mp-crc', s3, 'CRC32');
    const a = await attributes('mp-crc');
    assert.equal(a.ETag, etag.replace(/"/g, ''));
    assert.match(a.ETag ?? '', /-3$/);
    assert.equal(a.ObjectSize, 10 * MiB + 1000);
    assert.equal(a.ObjectParts?.TotalPartsCount, 3);
    assert.deepEqual(a.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, typeof p.ChecksumCRC32]), [[1, 5 * MiB, 'string'], [2, 5 * MiB, 'string'], [3, 1000, 'string']]);
    assert.equal(a.ObjectParts?.IsTruncated, false);
    const first = await attributes('mp-crc', { ObjectAttributes: ['ObjectParts'], MaxParts: 1 });
    assert.deepEqual(first.ObjectParts?.Parts?.map((p) => p.PartNumber), [1]);
    assert.equal(first.ObjectParts?.IsTruncated, true);
    assert.equal(first.ObjectParts?.NextPartNumberMarker, '1');
    const rest = await attributes('mp-crc', { ObjectAttributes: ['ObjectParts'], PartNumberMarker: '1' });
    assert.deepEqual(rest.ObjectParts?.Parts?.map((p) => p.PartNumber), [2, 3]);
    assert.equal(rest.ObjectParts?.PartNumberMarker, '1');

    // Parts uploaded without checksums: S3 answers the count and lists no Part.
    await multipart('mp-plain', t.s3({ requestChecksumCalculation: 'WHEN_REQUIRED' }));
    const plain = await attributes('mp-plain');
    assert.equal(plain.ObjectParts?.TotalPartsCount, 3);
    assert.equal(plain.ObjectParts?.Parts, undefined);
  });

  it('an SSE-C object needs its key: none is InvalidRequest, another is AccessDenied, its own answers', async () => {
    const key = customerKey();
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'ssec', Body: 'secret body', ...key }));
    assert.equal(await errorCode(attributes('ssec')), '400 InvalidRequest');
    assert.equal(await errorCode(attributes('ssec', customerKey())), '403 AccessDenied');
    assert.equal((await attributes('ssec', key)).ObjectSize, 'secret body'.length);
  });

  it('x-amz-object-attributes missing or empty is InvalidRequest, an unknown name InvalidArgument; NoSuchKey, NoSuchBucket', async () => {
    const get = async (headers: Record<string, string>) => xmlCode(await signedFetch(t.endpoint, { method: 'GET', path: `/${B}/one`, query: { attributes: '' }, headers }));
    assert.equal(await get({}), '400 InvalidRequest');
    assert.equal(await get({ 'x-amz-object-attributes': ' , ' }), '400 InvalidRequest');
    assert.equal(await get({ 'x-amz-object-attributes': 'ETag,Bogus' }), '400 InvalidArgument');
    assert.equal(await get({ 'x-amz-object-attributes': 'ETag', 'x-amz-max-parts': 'many' }), '400 InvalidArgument');
    assert.equal(await errorCode(attributes('one', { ObjectAttributes: ['Everything' as ObjectAttributes] })), '400 InvalidArgument');
    assert.equal(await errorCode(attributes('missing')), '404 NoSuchKey');
    assert.equal(await errorCode(s3.send(new GetObjectAttributesCommand({ Bucket: 'no-such-bucket', Key: 'k', ObjectAttributes: ALL }))), '404 NoSuchBucket');
  });

  it('needs both s3:GetObject and s3:GetObjectAttributes', async () => {
    const allow = (...Action: string[]): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action, Resource: `arn:aws:s3:::${B}/*` }] });
    const as = async (name: string, ...actions: string[]) => t.s3({ credentials: await newUserKey(t.endpoint, name, allow(...actions)) });
    assert.equal(await errorCode(attributes('one', {}, await as('attr-get', 's3:GetObject'))), '403 AccessDenied');
    assert.equal(await errorCode(attributes('one', {}, await as('attr-only', 's3:GetObjectAttributes'))), '403 AccessDenied');
    assert.equal((await attributes('one', {}, await as('attr-both', 's3:GetObject', 's3:GetObjectAttributes'))).ObjectSize, 16);
    // Naming a version ("null", the one version here), both actions are asked in their Version form.
    const versioned = await as('attr-versioned', 's3:GetObjectVersion', 's3:GetObjectVersionAttributes');
    assert.equal((await attributes('one', { VersionId: 'null' }, versioned)).ObjectSize, 16);
    assert.equal(await errorCode(attributes('one', {}, versioned)), '403 AccessDenied', 'the Version actions do not grant the unversioned call');
    assert.equal(await errorCode(attributes('one', { VersionId: 'null' }, await as('attr-unversioned', 's3:GetObject', 's3:GetObjectAttributes'))), '403 AccessDenied');
  });

  it('the AWS CLI: s3api get-object-attributes', async () => {
    const s = scratch('cipherlake-attrs-');
    try {
      const out = JSON.parse(await runOk('aws', ['--endpoint-url', t.endpoint, 's3api', 'get-object-attributes', '--bucket', B, '--key', 'one', '--object-attributes', 'ETag', 'ObjectSize', 'StorageClass'], awsEnv(s), s.dir)) as Record<string, unknown>;
      assert.deepEqual([out['ObjectSize'], out['StorageClass'], out['ETag'], out['Checksum']], [16, 'STANDARD', createHash('md5').update('hello attributes').digest('hex'), undefined]);
    } finally {
      s.remove();
    }
  });
});
