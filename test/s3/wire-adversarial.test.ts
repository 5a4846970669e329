import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, CreateMultipartUploadCommand, GetBucketEncryptionCommand, GetObjectCommand, HeadBucketCommand, PutBucketEncryptionCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { signedFetch, xmlCode } from './raw-sign.js';

const B = 'wire-adversarial';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

// Hostile or out-of-schema input on S3's wire, sent as raw signed requests: each gets S3's
// error code and status, and none changes what is stored.
describe('S3 wire: hostile bodies and parameters', () => {
  let t: TestServer;
  let s3: S3Client;

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => t.close());

  /** A signed request (with a body, its Content-MD5 set); answers "<status> <S3 error code>", the code empty on success and for HEAD. */
  async function send(method: string, path: string, query: Record<string, string>, body?: Buffer): Promise<string> {
    const headers = body !== undefined ? { 'content-md5': md5(body) } : {};
    const res = await signedFetch(t.endpoint, { method, path, query, headers, ...(body !== undefined ? { body } : {}) });
    return xmlCode(res);
  }

  it('CreateBucket with another document element than CreateBucketConfiguration is MalformedXML and creates nothing', async () => {
    const r = await send('PUT', '/wrong-root-bucket', {}, Buffer.from('<Foo><LocationConstraint>eu-west-1</LocationConstraint></Foo>'));
    assert.equal(r, '400 MalformedXML');
    assert.equal(await errorCode(s3.send(new HeadBucketCommand({ Bucket: 'wrong-root-bucket' }))), '404 NotFound');
    // A blank body still means "no configuration".
    assert.equal(await send('PUT', '/blank-body-bucket', {}, Buffer.from('  \n')), '200 ');
  });

  it('DeleteObjects with Quiet neither true nor false is MalformedXML and deletes nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'quiet', Body: 'kept' }));
    const r = await send('POST', `/${B}`, { delete: '' }, Buffer.from('<Delete><Quiet>maybe</Quiet><Object><Key>quiet</Key></Object></Delete>'));
    assert.equal(r, '400 MalformedXML');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'quiet' }))).Body?.transformToString(), 'kept');
  });

  it('DeleteObjects whose body is not UTF-8 is MalformedXML, and the key its bytes would decode to is kept', async () => {
    // Decoded leniently, 'a' 0xFF reads as 'a\uFFFD': a key the client never named.
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'a\uFFFD', Body: 'kept' }));
    const body = Buffer.concat([Buffer.from('<Delete><Object><Key>a'), Buffer.from([0xff]), Buffer.from('</Key></Object></Delete>')]);
    assert.equal(await send('POST', `/${B}`, { delete: '' }, body), '400 MalformedXML');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'a\uFFFD' }))).Body?.transformToString(), 'kept');
  });

  it('PutBucketEncryption with BucketKeyEnabled neither true nor false is MalformedXML and leaves the configuration', async () => {
    await s3.send(new PutBucketEncryptionCommand({ Bucket: B, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] } }));
    const doc = '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>maybe</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>';
    assert.equal(await send('PUT', `/${B}`, { encryption: '' }, Buffer.from(doc)), '400 MalformedXML');
    const got = await s3.send(new GetBucketEncryptionCommand({ Bucket: B }));
    assert.equal(got.ServerSideEncryptionConfiguration?.Rules?.[0]?.BucketKeyEnabled, true);
  });

  it('max-keys, max-parts and max-uploads beyond a 32-bit integer (or not digits) are InvalidArgument', async () => {
    for (const v of ['2147483648', '99999999999999999999', '1e3', '']) {
      assert.equal(await send('GET', `/${B}`, { 'max-keys': v }), '400 InvalidArgument', `max-keys=${v}`);
      assert.equal(await send('GET', `/${B}`, { uploads: '', 'max-uploads': v }), '400 InvalidArgument', `max-uploads=${v}`);
    }
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp' }));
    assert.equal(await send('GET', `/${B}/mp`, { uploadId: UploadId ?? '', 'max-parts': '2147483648' }), '400 InvalidArgument');
    // The largest 32-bit value is a valid (capped) page size.
    assert.equal(await send('GET', `/${B}`, { 'max-keys': '2147483647' }), '200 ');
    assert.equal(await send('GET', `/${B}/mp`, { uploadId: UploadId ?? '', 'max-parts': '2147483647' }), '200 ');
  });

  it('a response-* override that cannot be a header value, or is not overridable, is InvalidArgument (GET and HEAD), not a 500', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'hello' }));
    for (const value of ['text/plain\r\nx-injected: 1', 'a\u0000b', 'caf\u00e9\u2603']) {
      assert.equal(await send('GET', `/${B}/k`, { 'response-content-type': value }), '400 InvalidArgument', JSON.stringify(value));
      assert.equal(await send('HEAD', `/${B}/k`, { 'response-content-disposition': value }), '400 ');
    }
    assert.equal(await send('GET', `/${B}/k`, { 'response-x-injected': 'v' }), '400 InvalidArgument');
    // Overrides AWS allows still apply, latin-1 text included.
    const res = await signedFetch(t.endpoint, { method: 'GET', path: `/${B}/k`, query: { 'response-content-type': 'text/x-caf\u00e9', 'response-cache-control': 'no-cache' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('content-type'), 'text/x-caf\u00e9');
    assert.equal(await res.text(), 'hello');
  });
});
