import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { presignedUrl, signedFetch, xmlCode } from './raw-sign.js';

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function crc32b64(b: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b) >>> 0);
  return out.toString('base64');
}

function awsChunked(data: Buffer, trailer: string): Buffer {
  const half = Math.floor(data.length / 2);
  const parts = [data.subarray(0, half), data.subarray(half)].filter((p) => p.length > 0);
  return Buffer.concat([...parts.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]), Buffer.from(`0\r\n${trailer}\r\n\r\n`)]);
}

describe('S3 authentication and payload verification', () => {
  let t: TestServer;
  let s3: S3Client;
  before(async () => {
    t = await startTestServer();
    s3 = t.s3({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    await s3.send(new CreateBucketCommand({ Bucket: 'auth' }));
    await s3.send(new PutObjectCommand({ Bucket: 'auth', Key: 'k', Body: 'payload' }));
  });
  after(() => t.close());

  it('presigned GET works with plain fetch, and expires as X-Amz-Expires says', async () => {
    const url = await presignedUrl(t.endpoint, { method: 'GET', path: '/auth/k' }, 60, t.clock.now());
    const ok = await fetch(url);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'payload');
    t.clock.advance(61_000);
    const expired = await fetch(url);
    const text = await expired.text();
    assert.equal(expired.status, 403);
    assert.match(text, /<Code>AccessDenied<\/Code>/);
    assert.match(text, /Request has expired/);
  });

  it('presigned PUT (UNSIGNED-PAYLOAD) stores the object', async () => {
    const url = await presignedUrl(t.endpoint, { method: 'PUT', path: '/auth/presigned' }, 300, t.clock.now());
    const res = await fetch(url, { method: 'PUT', body: 'via presigned url' });
    assert.equal(res.status, 200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'auth', Key: 'presigned' }));
    assert.equal(await got.Body!.transformToString(), 'via presigned url');
  });

  it('anonymous, unknown key, wrong secret, clock skew', async () => {
    assert.equal(await xmlCode(await fetch(`${t.endpoint}/auth/k`)), '403 AccessDenied');
    const bad = t.s3({ credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' } });
    assert.equal(await errorCode(bad.send(new GetObjectCommand({ Bucket: 'auth', Key: 'k' }))), '403 InvalidAccessKeyId');
    assert.equal(await xmlCode(await signedFetch(t.endpoint, { method: 'GET', path: '/auth/k', headers: { 'x-amz-content-sha256': sha256('') } }, { secret: 'wrong', date: t.clock.now() })), '403 SignatureDoesNotMatch');
    const skewed = new Date(t.clock.now().getTime() - 20 * 60_000);
    assert.equal(await xmlCode(await signedFetch(t.endpoint, { method: 'GET', path: '/auth/k', headers: { 'x-amz-content-sha256': sha256('') } }, { date: skewed })), '403 RequestTimeTooSkewed');
  });

  it('a signed payload whose body differs from x-amz-content-sha256 is refused and not stored', async () => {
    const res = await signedFetch(t.endpoint, { method: 'PUT', path: '/auth/tampered', headers: { 'x-amz-content-sha256': sha256('original') }, body: Buffer.from('modified') }, { date: t.clock.now() });
    assert.equal(await xmlCode(res), '400 XAmzContentSHA256Mismatch');
    assert.match(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'auth', Key: 'tampered' }))), /^404 /);
    const good = await signedFetch(t.endpoint, { method: 'PUT', path: '/auth/signed', headers: { 'x-amz-content-sha256': sha256('exact') }, body: Buffer.from('exact') }, { date: t.clock.now() });
    assert.equal(good.status, 200);
  });

  it('STREAMING-UNSIGNED-PAYLOAD-TRAILER: a good CRC32 trailer stores, a bad one is BadDigest and stores nothing', async () => {
    const data = Buffer.from('chunked body '.repeat(1000));
    const headers = (trailerValue: string) => ({
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(data.length),
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'x-test-trailer': trailerValue,
    });
    const ok = await signedFetch(t.endpoint, { method: 'PUT', path: '/auth/chunked', headers: headers('ok'), body: awsChunked(data, `x-amz-checksum-crc32:${crc32b64(data)}`) }, { date: t.clock.now() });
    assert.equal(ok.status, 200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'auth', Key: 'chunked' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
    assert.equal(got.ContentEncoding, undefined, 'aws-chunked is not a stored content encoding');
    const wrong = await signedFetch(t.endpoint, { method: 'PUT', path: '/auth/chunked-bad', headers: headers('bad'), body: awsChunked(data, 'x-amz-checksum-crc32:AAAAAA==') }, { date: t.clock.now() });
    assert.equal(await xmlCode(wrong), '400 BadDigest');
    assert.match(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'auth', Key: 'chunked-bad' }))), /^404 /);
  });

  it('Content-MD5 mismatch is BadDigest', async () => {
    const res = await signedFetch(
      t.endpoint,
      { method: 'PUT', path: '/auth/md5', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-md5': createHash('md5').update('other').digest('base64') }, body: Buffer.from('body') },
      { date: t.clock.now() },
    );
    assert.equal(await xmlCode(res), '400 BadDigest');
  });
});
