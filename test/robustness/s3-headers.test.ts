import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { cut, signedChunkedBody, signStreamingPut } from '../s3/chunk-signer.js';
import { viaTrustedProxy } from '../s3/helpers.js';
import { signer } from '../s3/raw-sign.js';
import { assertNoSecret, robustSuite } from './harness.js';
import { s3Call, statusCode, type S3CallOptions } from './s3-call.js';

const BODY = 'hello, robust world';
const SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';

/** SSE-C request headers for `key` (MD5 as given, else the right one). */
function sseC(key: Buffer, opts: { algorithm?: string; keyB64?: string; md5?: string } = {}): Record<string, string> {
  return {
    'x-amz-server-side-encryption-customer-algorithm': opts.algorithm ?? 'AES256',
    'x-amz-server-side-encryption-customer-key': opts.keyB64 ?? key.toString('base64'),
    'x-amz-server-side-encryption-customer-key-md5': opts.md5 ?? createHash('md5').update(key).digest('base64'),
  };
}

/**
 * Malformed S3 headers, names and bodies, correctly signed: ranges, SSE and SSE-C
 * headers, bucket and key names, metadata, Content-MD5, x-amz-content-sha256, aws-chunked
 * framing. Each gets S3's 4xx (or S3's documented leniency), never touches a stored object,
 * never echoes a customer key or secret, and the server keeps serving.
 */
describe('S3: malformed headers, names and bodies', () => {
  const call = (method: string, path: string, opts: S3CallOptions = {}): ReturnType<typeof s3Call> => s3Call(t.endpoint, method, path, opts);
  const t = robustSuite(
    { s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } },
    {
      async setup() {
        assert.equal((await call('PUT', '/rob')).status, 200);
        assert.equal((await call('PUT', '/rob/keep', { body: BODY })).status, 200);
      },
      async check() {
        const keep = await call('GET', '/rob/keep');
        assert.equal(`${keep.status} ${keep.text}`, `200 ${BODY}`, 'a normal GET after the malformed input; the object is unchanged');
      },
    },
  );

  it('Range: out of bounds → 416 InvalidRange; syntax S3 does not serve is ignored (200, whole object)', async () => {
    for (const range of ['bytes=100-200', 'bytes=-0', 'bytes=99999999999999999999999-']) {
      assert.equal(statusCode(await call('GET', '/rob/keep', { headers: { range } })), '416 InvalidRange', range);
    }
    for (const range of ['bytes=abc', 'bytes=5-2', 'bytes=0-0,2-3', 'chars=0-1', 'bytes=0-1x', 'bytes=-', '']) {
      const r = await call('GET', '/rob/keep', { headers: { range } });
      assert.equal(`${r.status} ${r.text}`, `200 ${BODY}`, range);
    }
    const suffix = await call('GET', '/rob/keep', { headers: { range: 'bytes=-99999999999999999999' } });
    assert.equal(`${suffix.status} ${suffix.text}`, `206 ${BODY}`, 'a suffix longer than the object is the whole object');
    assert.equal(statusCode(await call('GET', '/rob/keep', { query: { partNumber: 'abc' } })), '400 InvalidArgument');
    assert.equal(statusCode(await call('GET', '/rob/keep', { query: { partNumber: '5' } })), '416 InvalidPartNumber');
    assert.equal(statusCode(await call('GET', '/rob/keep', { query: { partNumber: '1' }, headers: { range: 'bytes=0-1' } })), '400 InvalidRequest');
  });

  it('SSE headers: unknown algorithm, unknown KMS key, bad context → 400; the object is not overwritten', async () => {
    const put = (headers: Record<string, string>): ReturnType<typeof s3Call> => call('PUT', '/rob/keep', { body: 'overwrite', headers });
    assert.equal(statusCode(await put({ 'x-amz-server-side-encryption': 'ROT13' })), '400 InvalidArgument');
    assert.equal(statusCode(await put({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'alias/none' })), '400 KMS.NotFoundException');
    assert.equal(statusCode(await put({ 'x-amz-server-side-encryption-aws-kms-key-id': 'alias/aws/s3' })), '400 InvalidArgument');
    for (const ctx of ['!!!', Buffer.from('[1]').toString('base64'), Buffer.from('{"a":1}').toString('base64'), Buffer.from('{"aws:s3:arn":"x"}').toString('base64')]) {
      assert.equal(statusCode(await put({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-context': ctx })), '400 InvalidArgument', ctx);
    }
  });

  it('SSE-C: bad algorithm, key, key length, MD5, mixed modes, plain HTTP → 4xx that never echo the key', async () => {
    const key = randomBytes(32);
    const short = randomBytes(16);
    const cases: Array<[Record<string, string>, string]> = [
      [sseC(key, { algorithm: 'AES128' }), '400 InvalidEncryptionAlgorithmError'],
      [sseC(key, { keyB64: `!!${key.toString('base64')}!!` }), '400 InvalidArgument'],
      [sseC(key, { md5: 'AAAAAAAAAAAAAAAAAAAAAA==' }), '400 InvalidArgument'],
      [sseC(short), '400 InvalidArgument'],
      [{ ...sseC(key), 'x-amz-server-side-encryption': 'AES256' }, '400 InvalidArgument'],
      [{ 'x-amz-server-side-encryption-customer-key': key.toString('base64') }, '400 InvalidArgument'],
    ];
    const texts: string[] = [];
    for (const [headers, expected] of cases) {
      const r = await call('PUT', '/rob/keep', { body: 'overwrite', headers });
      assert.equal(statusCode(r), expected, JSON.stringify(Object.keys(headers)));
      texts.push(r.text);
    }
    const plain = await s3Call(t.endpoint, 'PUT', '/rob/keep', { body: 'overwrite', headers: { ...sseC(key), 'x-forwarded-proto': 'http' } });
    assert.equal(statusCode(plain), '400 InvalidRequest', 'SSE-C over plain HTTP');
    texts.push(plain.text);
    // An SSE-C object: a wrong or missing key fails, the right one still opens it.
    assert.equal((await call('PUT', '/rob/ssec', { body: BODY, headers: sseC(key) })).status, 200);
    const other = randomBytes(32);
    const wrong = await call('GET', '/rob/ssec', { headers: sseC(other) });
    assert.equal(statusCode(wrong), '403 AccessDenied');
    assert.equal(statusCode(await call('GET', '/rob/ssec')), '400 InvalidRequest');
    assert.equal(statusCode(await call('PUT', '/rob/ssec', { body: 'x', headers: sseC(key, { md5: createHash('md5').update(other).digest('base64') }) })), '400 InvalidArgument');
    const right = await call('GET', '/rob/ssec', { headers: sseC(key) });
    assert.equal(`${right.status} ${right.text}`, `200 ${BODY}`, 'the failed overwrite left the SSE-C object as it was');
    texts.push(wrong.text);
    for (const text of texts) assertNoSecret(text, [key, short, other], 'an SSE-C error body');
    assertNoSecret(t.rawLog.join('\n'), [key, short, other, TEST_SECRET_ACCESS_KEY], 'the server log');
  });

  it('bucket names S3 refuses → InvalidBucketName; nothing is created', async () => {
    for (const name of ['Bad_Bucket', 'ab', '192.168.1.1', 'a'.repeat(64), 'a..b', '-abc', 'abc-', '%00abc', 'xn--abc']) {
      assert.equal(statusCode(await call('PUT', `/${name}`)), '400 InvalidBucketName', name);
    }
    const list = await call('GET', '/');
    assert.ok(!/Bad_Bucket|a\.\.b/.test(list.text));
  });

  it('object keys over 1024 UTF-8 bytes → KeyTooLongError on PUT, copy and multipart create; 1024 is fine', async () => {
    const long = 'k'.repeat(1025);
    const multiByte = '€'.repeat(342); // 1026 bytes in 342 characters
    for (const key of [long, multiByte]) {
      assert.equal(statusCode(await call('PUT', `/rob/${encodeURIComponent(key)}`, { body: 'x' })), '400 KeyTooLongError', `${key.length} characters`);
    }
    assert.equal(statusCode(await call('PUT', `/rob/${long}`, { headers: { 'x-amz-copy-source': '/rob/keep' } })), '400 KeyTooLongError', 'copy');
    assert.equal(statusCode(await call('POST', `/rob/${long}`, { query: { uploads: '' } })), '400 KeyTooLongError', 'multipart');
    const exact = 'k'.repeat(1024);
    assert.equal((await call('PUT', `/rob/${exact}`, { body: 'x' })).status, 200);
    assert.equal((await call('GET', `/rob/${exact}`)).text, 'x');
  });

  it('a key with ../ segments sent as-is is an ordinary key: stored inside the data directory', async () => {
    const path = '/rob/../../robust-escape';
    const signed = await signer().sign(
      { method: 'PUT', protocol: 'http:', hostname: '127.0.0.1', port: Number(new URL(t.endpoint).port), path, query: {}, headers: { host: new URL(t.endpoint).host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body: 'escape' },
      { signingDate: new Date() },
    );
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${t.endpoint}/`, { method: 'PUT', path, headers: { ...(signed.headers as Record<string, string>), 'content-length': '6' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('escape');
    });
    assert.equal(status, 200);
    assert.equal(existsSync(join(dirname(t.dataDir), 'robust-escape')), false);
    const list = await call('GET', '/rob', { query: { prefix: '../' } });
    assert.match(list.text, /<Key>\.\.\/\.\.\/robust-escape<\/Key>/);
  });

  it('metadata over 2 KB → MetadataTooLarge; tag, metadata and context keys named __proto__ are kept', async () => {
    assert.equal(statusCode(await call('PUT', '/rob/keep', { body: 'x', headers: { 'x-amz-meta-big': 'v'.repeat(3000) } })), '400 MetadataTooLarge');
    const put = await call('PUT', '/rob/proto', {
      body: 'x',
      headers: {
        'x-amz-meta-__proto__': 'meta',
        'x-amz-tagging': '__proto__=tag&constructor=c',
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-context': Buffer.from('{"__proto__":"ctx"}').toString('base64'),
      },
    });
    assert.equal(put.status, 200, put.text);
    const context = JSON.parse(Buffer.from(put.headers.get('x-amz-server-side-encryption-context') ?? '', 'base64').toString()) as Record<string, string>;
    assert.ok(Object.hasOwn(context, '__proto__') && context['__proto__'] === 'ctx', 'the context pair is bound to the object');
    const head = await call('HEAD', '/rob/proto');
    assert.equal(head.headers.get('x-amz-meta-__proto__'), 'meta');
    const tags = await call('GET', '/rob/proto', { query: { tagging: '' } });
    assert.match(tags.text, /<Key>__proto__<\/Key><Value>tag<\/Value>/);
    assert.equal((await call('GET', '/rob/proto')).text, 'x');
  });

  it('Content-MD5 and x-amz-content-sha256 that do not fit the body → 400, nothing stored', async () => {
    const put = (headers: Record<string, string>): ReturnType<typeof s3Call> => call('PUT', '/rob/keep', { body: 'overwrite', headers });
    assert.equal(statusCode(await put({ 'content-md5': 'notmd5' })), '400 InvalidDigest');
    assert.equal(statusCode(await put({ 'content-md5': createHash('md5').update('other').digest('base64') })), '400 BadDigest');
    assert.equal(statusCode(await put({ 'x-amz-content-sha256': createHash('sha256').update('other').digest('hex') })), '400 XAmzContentSHA256Mismatch');
    const garbage = await put({ 'x-amz-content-sha256': 'garbage' });
    assert.equal(statusCode(garbage), '400 InvalidArgument');
    assert.match(garbage.text, /x-amz-content-sha256 must be UNSIGNED-PAYLOAD/);
    assert.equal(statusCode(await put({ 'x-amz-checksum-crc32': '!!' })), '400 InvalidRequest');
    assert.equal(statusCode(await put({ 'x-amz-sdk-checksum-algorithm': 'MD17' })), '400 InvalidRequest');
  });

  it('DeleteObjects without Content-MD5 or a checksum → 400 InvalidRequest, nothing deleted; MD5, CRC32 and CRC64NVME (SDK) delete', async () => {
    const del = (key: string): string => `<Delete><Object><Key>${key}</Key></Object></Delete>`;
    assert.equal((await call('PUT', '/rob/del-me', { body: 'x' })).status, 200);
    const bare = await call('POST', '/rob', { query: { delete: '' }, body: del('del-me') });
    assert.equal(statusCode(bare), '400 InvalidRequest');
    assert.match(bare.text, /Missing required header for this request: Content-MD5/);
    const onlyAlgorithm = await call('POST', '/rob', { query: { delete: '' }, body: del('del-me'), headers: { 'x-amz-sdk-checksum-algorithm': 'CRC32' } });
    assert.equal(onlyAlgorithm.status, 400, 'an algorithm named without its checksum');
    assert.equal((await call('HEAD', '/rob/del-me')).status, 200, 'a refused DeleteObjects deleted nothing');
    assert.equal((await call('POST', '/rob', { query: { delete: '' }, body: del('del-me'), md5: true })).status, 200);
    assert.equal((await call('HEAD', '/rob/del-me')).status, 404, 'Content-MD5: deleted');
    const sdk = viaTrustedProxy(new S3Client({ endpoint: t.endpoint, region: TEST_REGION, forcePathStyle: true, credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY } }));
    try {
      for (const algorithm of [undefined, 'CRC64NVME'] as const) {
        assert.equal((await call('PUT', '/rob/del-me', { body: 'x' })).status, 200);
        const out = await sdk.send(new DeleteObjectsCommand({ Bucket: 'rob', Delete: { Objects: [{ Key: 'del-me' }] }, ...(algorithm !== undefined ? { ChecksumAlgorithm: algorithm } : {}) }));
        assert.deepEqual(out.Deleted?.map((d) => d.Key), ['del-me'], `SDK, ${algorithm ?? 'its default checksum'}`);
        assert.equal((await call('HEAD', '/rob/del-me')).status, 404, `SDK, ${algorithm ?? 'its default checksum'}: deleted`);
      }
    } finally {
      sdk.destroy();
    }
  });

  it('aws-chunked bodies with broken framing or signatures → 400/403, the existing object untouched', async () => {
    const data = Buffer.alloc(150_000, 7);
    const put = async (mangle: (b: Buffer) => Buffer): Promise<string> => {
      const r = await signStreamingPut(t.endpoint, '/rob/keep', SIGNED, { 'x-amz-decoded-content-length': String(data.length) }, new Date());
      const res = await fetch(`${t.endpoint}/rob/keep`, { method: 'PUT', headers: r.headers, body: mangle(signedChunkedBody(r.ctx, r.seed, cut(data, 65536))) });
      const text = await res.text();
      return `${res.status} ${/<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? ''}`;
    };
    const afterSize = (b: Buffer): Buffer => b.subarray(b.indexOf(';'));
    const cases: Array<[string, (b: Buffer) => Buffer, string]> = [
      ['not chunked at all', () => Buffer.from('hello world, not aws-chunked'), '400 IncompleteBody'],
      ['empty', () => Buffer.alloc(0), '400 IncompleteBody'],
      ['non-hex size', (b) => Buffer.concat([Buffer.from('zz'), afterSize(b)]), '400 IncompleteBody'],
      ['negative size', (b) => Buffer.concat([Buffer.from('-10'), afterSize(b)]), '400 IncompleteBody'],
      ['2^64 size', (b) => Buffer.concat([Buffer.from('ffffffffffffffff'), afterSize(b)]), '400 IncompleteBody'],
      ['endless framing line', () => Buffer.alloc(100_000, 0x61), '400 IncompleteBody'],
      ['junk after the final chunk', (b) => Buffer.concat([b, Buffer.from('junk')]), '400 IncompleteBody'],
      ['a chunk longer than declared', (b) => {
        const c = Buffer.from(b);
        c[c.indexOf('\r\n', c.indexOf('\r\n') + 2 + 65_535)] = 0x41;
        return c;
      }, '400 IncompleteBody'],
      ['no chunk signature', (b) => Buffer.concat([Buffer.from('10000\r\n'), b.subarray(b.indexOf('\r\n') + 2)]), '403 SignatureDoesNotMatch'],
    ];
    for (const [name, mangle, expected] of cases) assert.equal(await put(mangle), expected, name);
  });

  it('aws-chunked x-amz-decoded-content-length that is not a decimal byte count → 411 MissingContentLength, the existing object untouched', async () => {
    const data = Buffer.alloc(70_000, 5);
    const put = async (decoded: string): Promise<string> => {
      const r = await signStreamingPut(t.endpoint, '/rob/decoded', SIGNED, { 'x-amz-decoded-content-length': decoded }, new Date());
      const res = await fetch(`${t.endpoint}/rob/decoded`, { method: 'PUT', headers: r.headers, body: signedChunkedBody(r.ctx, r.seed, cut(data, 65536)) });
      const text = await res.text();
      return `${res.status} ${/<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? ''}`;
    };
    assert.equal(await put(String(data.length)), '200 ', 'a well-formed length stores');
    for (const bad of ['abc', '-1', `-${data.length}`, '+70000', '70000.0', '7e4', '0x11170', ' ', '70000, 70000']) {
      assert.equal(await put(bad), '411 MissingContentLength', JSON.stringify(bad));
    }
    assert.equal(await put(String(data.length + 1)), '400 IncompleteBody', 'a numeric length that is wrong is still checked');
    const got = await call('GET', '/rob/decoded');
    assert.equal(got.status, 200);
    assert.equal(got.text.length, data.length, 'the stored object is the first one, untouched');
  });

  it('a connection cut mid-body (aws-chunked, or a body read whole to hash it) stores nothing, logged as no server fault', async () => {
    const data = Buffer.alloc(150_000, 9);
    const url = new URL(t.endpoint);
    const streaming = await signStreamingPut(t.endpoint, '/rob/cut', SIGNED, { 'x-amz-decoded-content-length': String(data.length) }, new Date());
    // Without x-amz-content-sha256 the server reads the whole body to hash it before checking the signature.
    const whole = await signer().sign(
      { method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/rob/cut', query: {}, headers: { host: url.host }, body: data },
      { signingDate: new Date() },
    );
    const sends: Array<[Record<string, string>, Buffer]> = [
      [streaming.headers, signedChunkedBody(streaming.ctx, streaming.seed, cut(data, 65536))],
      [Object.fromEntries(Object.entries(whole.headers as Record<string, string>).filter(([k]) => k !== 'host')), data],
    ];
    for (const [headers, body] of sends) {
      const from = t.rawLog.length;
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          const head = ['PUT /rob/cut HTTP/1.1', `host: ${url.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `content-length: ${body.length}`, '', ''].join('\r\n');
          socket.write(head);
          // Half the body, then the client goes away.
          socket.end(body.subarray(0, 70_000), () => {
            socket.destroy();
            resolve();
          });
        });
        socket.on('error', reject);
      });
      // The server notices the close asynchronously; the object must never appear, and the abort is no server error.
      for (let i = 0; i < 20; i++) {
        assert.equal((await call('HEAD', '/rob/cut')).status, 404, 'no half-written object is visible');
        await new Promise((res) => setTimeout(res, 10));
      }
      assert.deepEqual(t.logs().slice(from).filter((l) => l.level >= 50).map((l) => l.msg), [], 'a client abort is not logged as a server error');
    }
  });
});
