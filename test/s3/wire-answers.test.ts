import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { signedFetch, signer } from './raw-sign.js';

/** Small S3 wire answers: the bucket-key header's value case; chunked bodies without a length. */
describe('S3 small wire answers', () => {
  let t: TestServer;
  let s3: S3Client;
  const B = 'wireanswers';

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(() => t.close());

  const put = (key: string, headers: Record<string, string>) =>
    signedFetch(t.endpoint, { method: 'PUT', path: `/${B}/${key}`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers }, body: Buffer.from(`body of ${key}`) }, { date: t.clock.now() });

  it('x-amz-server-side-encryption-bucket-key-enabled is read without regard to case (TRUE, True enable it; FALSE does not)', async () => {
    for (const [key, value, enabled] of [['upper', 'TRUE', true], ['mixed', 'True', true], ['lower', 'true', true], ['off', 'FALSE', false]] as const) {
      const res = await put(key, { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-bucket-key-enabled': value });
      assert.equal(res.status, 200, await res.text());
      assert.equal(res.headers.get('x-amz-server-side-encryption-bucket-key-enabled'), enabled ? 'true' : null, `${value}: the PUT's answer`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: key }));
      assert.equal(head.BucketKeyEnabled, enabled ? true : undefined, `${value}: the stored object`);
      assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body?.transformToString(), `body of ${key}`);
    }
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'missing' }))), '404 NotFound');
  });

  /**
   * A signed PUT whose body goes out with Transfer-Encoding: chunked and no Content-Length
   * (node:http's default for a body written in pieces); answers "<status> <code>".
   */
  async function chunkedPut(key: string, headers: Record<string, string>, pieces: readonly Buffer[]): Promise<string> {
    const url = new URL(t.endpoint);
    const signed = await signer().sign(
      { method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/${B}/${key}`, query: {}, headers: { host: url.host, ...headers } },
      { signingDate: t.clock.now() },
    );
    return new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: `/${B}/${key}`, headers: signed.headers as Record<string, string> }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(`${res.statusCode ?? 0} ${/<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? ''}`));
      });
      req.on('error', reject);
      for (const p of pieces) req.write(p);
      req.end();
    });
  }

  const framed = (data: Buffer): Buffer[] => [Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n0\r\n\r\n')];

  it('an aws-chunked PUT without Content-Length and without x-amz-decoded-content-length is 411 MissingContentLength, storing nothing', async () => {
    const data = Buffer.from('streamed without a length');
    const streaming = { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked' };
    assert.equal(await chunkedPut('no-length', streaming, framed(data)), '411 MissingContentLength');
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'no-length' }))), '404 NotFound', 'nothing stored');
    // With the decoded length declared, the same transfer is taken.
    assert.equal(await chunkedPut('with-length', { ...streaming, 'x-amz-decoded-content-length': String(data.length) }, framed(data)), '200 ');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'with-length' }))).Body?.transformToString(), data.toString());
  });

  it('a plain (not aws-chunked) PUT sent with Transfer-Encoding: chunked is taken, as S3 takes it', async () => {
    const pieces = [Buffer.from('plain '), Buffer.from('chunked '), Buffer.from('body')];
    assert.equal(await chunkedPut('plain-chunked', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, pieces), '200 ');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'plain-chunked' }))).Body?.transformToString(), 'plain chunked body');
  });
});
