import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type ChecksumAlgorithm, type S3Client } from '@aws-sdk/client-s3';
import { createChecksum, type ChecksumAlgorithm as Alg } from '../../src/s3/checksums/checksum.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { signedFetch, xmlCode } from './raw-sign.js';

const data = Buffer.from(Array.from({ length: 150_000 }, (_, i) => (i * 31 + 7) % 256));

function checksumOf(alg: Alg, body: Buffer): string {
  const c = createChecksum(alg);
  c.update(body);
  return c.digestBase64();
}

const FIELD = { CRC32: 'ChecksumCRC32', CRC32C: 'ChecksumCRC32C', CRC64NVME: 'ChecksumCRC64NVME', SHA1: 'ChecksumSHA1', SHA256: 'ChecksumSHA256' } as const;

describe('S3 checksums: x-amz-checksum-* headers and trailers, Content-MD5', () => {
  let t: TestServer;
  let s3: S3Client;
  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: 'sums' }));
  });
  after(() => t.close());

  for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
    it(`${algorithm}: the SDK's checksum is verified, stored, answered on PUT and on GET/HEAD with ChecksumMode`, async () => {
      const expected = checksumOf(algorithm.toLowerCase() as Alg, data);
      for (const [key, body] of [[`${algorithm}-buffer`, data], [`${algorithm}-stream`, Readable.from([data.subarray(0, 70_000), data.subarray(70_000)])]] as const) {
        const put = await s3.send(new PutObjectCommand({ Bucket: 'sums', Key: key, Body: body, ContentLength: data.length, ChecksumAlgorithm: algorithm as ChecksumAlgorithm }));
        assert.equal(put[FIELD[algorithm]], expected, `${key}: PutObject answers the checksum`);
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'sums', Key: key, ChecksumMode: 'ENABLED' }));
        assert.equal(head[FIELD[algorithm]], expected, `${key}: HeadObject with ChecksumMode`);
        const get = await s3.send(new GetObjectCommand({ Bucket: 'sums', Key: key, ChecksumMode: 'ENABLED' }));
        assert.equal(get[FIELD[algorithm]], expected);
        assert.deepEqual(Buffer.from(await get.Body!.transformToByteArray()), data, 'the SDK validated the body against it');
        const plain = await s3.send(new HeadObjectCommand({ Bucket: 'sums', Key: key }));
        assert.equal(plain[FIELD[algorithm]], undefined, 'no checksum without ChecksumMode');
      }
    });
  }

  it('the default client sends a CRC32 trailer, which is verified and stored', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'sums', Key: 'default', Body: Readable.from([data]), ContentLength: data.length }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'sums', Key: 'default', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ChecksumCRC32, checksumOf('crc32', data));
  });

  async function rawPut(key: string, headers: Record<string, string>, body = data): Promise<Response> {
    const sha = createHash('sha256').update(body).digest('hex');
    return signedFetch(t.endpoint, { method: 'PUT', path: `/sums/${key}`, headers: { 'x-amz-content-sha256': sha, ...headers }, body }, { date: t.clock.now() });
  }

  async function absent(key: string): Promise<void> {
    assert.match(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'sums', Key: key }))), /^404 /, `${key} must not be stored`);
  }

  it('a wrong checksum header is BadDigest for every algorithm and stores nothing', async () => {
    for (const alg of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const) {
      const wrong = checksumOf(alg, Buffer.from('something else'));
      const res = await rawPut(`wrong-${alg}`, { [`x-amz-checksum-${alg}`]: wrong });
      const text = await res.text();
      assert.equal(res.status, 400, alg);
      assert.match(text, /<Code>BadDigest<\/Code>/);
      assert.match(text, new RegExp(`The ${alg.toUpperCase()} you specified did not match the calculated checksum.`));
      await absent(`wrong-${alg}`);
      const ok = await rawPut(`right-${alg}`, { [`x-amz-checksum-${alg}`]: checksumOf(alg, data) });
      assert.equal(ok.status, 200, `${alg}: ${await ok.text()}`);
    }
  });

  it('a malformed checksum value, two checksums, or an unknown algorithm is InvalidRequest', async () => {
    const bad = await rawPut('malformed', { 'x-amz-checksum-crc32c': 'AAAA' });
    const text = await bad.text();
    assert.equal(bad.status, 400);
    assert.match(text, /<Code>InvalidRequest<\/Code>/);
    assert.match(text, /Value for x-amz-checksum-crc32c header is invalid\./);
    const two = await rawPut('two', { 'x-amz-checksum-crc32': checksumOf('crc32', data), 'x-amz-checksum-sha1': checksumOf('sha1', data) });
    assert.equal(await xmlCode(two), '400 InvalidRequest');
    const unknown = await rawPut('unknown', { 'x-amz-checksum-md4': 'AAAAAA==' });
    assert.equal(await xmlCode(unknown), '400 InvalidRequest');
    const orphan = await rawPut('orphan', { 'x-amz-sdk-checksum-algorithm': 'CRC32' });
    assert.equal(await xmlCode(orphan), '400 InvalidRequest');
    for (const k of ['malformed', 'two', 'unknown', 'orphan']) await absent(k);
  });

  it('Content-MD5 is checked alongside a checksum: both must hold', async () => {
    const md5 = createHash('md5').update(data).digest('base64');
    const ok = await rawPut('md5-ok', { 'content-md5': md5, 'x-amz-checksum-sha256': checksumOf('sha256', data) });
    assert.equal(ok.status, 200, await ok.text());
    const badMd5 = await rawPut('md5-bad', { 'content-md5': createHash('md5').update('x').digest('base64'), 'x-amz-checksum-sha256': checksumOf('sha256', data) });
    assert.equal(await xmlCode(badMd5), '400 BadDigest');
    await absent('md5-bad');
  });

  it('a ranged GET does not answer the whole-object checksum', async () => {
    const get = await s3.send(new GetObjectCommand({ Bucket: 'sums', Key: 'CRC32C-buffer', Range: 'bytes=0-9', ChecksumMode: 'ENABLED' }));
    assert.equal(get.ChecksumCRC32C, undefined);
    assert.equal((await get.Body!.transformToByteArray()).length, 10);
  });
});
