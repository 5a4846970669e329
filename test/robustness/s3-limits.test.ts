import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { signer } from '../s3/raw-sign.js';
import { robustSuite } from './harness.js';
import { s3Call, statusCode, type S3CallOptions } from './s3-call.js';

/**
 * Oversized bodies and malformed query parameters on S3, correctly signed: each is refused
 * with S3's code before the server reads (or keeps) more than its limit, and the server
 * keeps serving.
 */
describe('S3: oversized bodies and malformed query parameters', () => {
  let uploadId = '';
  const call = (method: string, path: string, opts: S3CallOptions = {}): ReturnType<typeof s3Call> => s3Call(t.endpoint, method, path, opts);
  const t = robustSuite(
    {},
    {
      async setup() {
        assert.equal((await call('PUT', '/rob')).status, 200);
        assert.equal((await call('PUT', '/rob/a', { body: 'a' })).status, 200);
        uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec((await call('POST', '/rob/mp', { query: { uploads: '' } })).text)?.[1] ?? '';
        assert.notEqual(uploadId, '');
      },
      async check() {
        assert.equal((await call('GET', '/rob/a')).text, 'a', 'a normal GET after the malformed input');
      },
    },
  );

  it('XML and policy bodies over their limits → EntityTooLarge / MalformedPolicy', async () => {
    const pad = ' '.repeat(2 << 20);
    const cases: Array<[string, string, S3CallOptions, string]> = [
      ['POST', '/rob', { query: { delete: '' }, md5: true, body: `<Delete>${'<Object><Key>k</Key></Object>'.repeat(100_000)}</Delete>` }, '400 EntityTooLarge'],
      ['PUT', '/rob/a', { query: { tagging: '' }, body: `<Tagging><TagSet>${pad}</TagSet></Tagging>` }, '400 EntityTooLarge'],
      ['PUT', '/rob', { query: { encryption: '' }, body: `<ServerSideEncryptionConfiguration>${pad}</ServerSideEncryptionConfiguration>` }, '400 EntityTooLarge'],
      ['POST', '/rob/mp', { query: { uploadId }, body: `<CompleteMultipartUpload>${' '.repeat(10 << 20)}</CompleteMultipartUpload>` }, '400 EntityTooLarge'],
      ['PUT', '/rob-big-config', { body: `<CreateBucketConfiguration>${pad}</CreateBucketConfiguration>` }, '400 EntityTooLarge'],
      ['PUT', '/rob', { query: { policy: '' }, body: JSON.stringify({ Version: '2012-10-17', Statement: [], pad: 'x'.repeat(30_000) }) }, '400 MalformedPolicy'],
    ];
    for (const [method, path, opts, expected] of cases) assert.equal(statusCode(await call(method, path, opts)), expected, `${method} ${path} ${JSON.stringify(opts.query ?? {})}`);
    assert.equal((await call('HEAD', '/rob-big-config')).status, 404);
  });

  it('PutBucketPolicy: malformed documents → MalformedPolicy, nothing stored; pathological wildcards evaluate without hanging', async () => {
    const doc = (statement: unknown): string => JSON.stringify({ Version: '2012-10-17', Statement: statement });
    const allow = { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::rob/*' };
    const bad = [
      '',
      '{',
      '[]',
      'null',
      '{"Version":"2012-10-17"}',
      doc([null]),
      doc('x'),
      doc([{ ...allow, Effect: 'Maybe' }]),
      doc([{ ...allow, Resource: 'arn:aws:s3:::other/*' }]),
      doc([{ ...allow, Action: 5 }]),
      doc([{ ...allow, Principal: { Foo: 'x' } }]),
      doc([{ ...allow, Condition: { StringEquals: { a: JSON.parse(`${'['.repeat(3000)}${']'.repeat(3000)}`) as unknown } } }]),
      `{"Version":"2012-10-17","x":${'['.repeat(6000)}${']'.repeat(6000)},"Statement":[]}`,
      doc([{ ...allow, Condition: { Frob: { a: 'b' } } }]),
      doc([{ ...allow, Condition: { DateGreaterThan: { 'aws:CurrentTime': 'yesterday' } } }]),
      doc([{ ...allow, Condition: { NumericLessThan: { 's3:max-keys': 'abc' } } }]),
      '{"Version":"1999","Statement":[]}',
    ];
    for (const body of bad) assert.equal(statusCode(await call('PUT', '/rob', { query: { policy: '' }, body })), '400 MalformedPolicy', body.slice(0, 80));
    assert.equal(statusCode(await call('GET', '/rob', { query: { policy: '' } })), '404 NoSuchBucketPolicy');
    // '*a*a…*a b' against 'aaa…a': exponential for a backtracking regex, linear for the policy matcher.
    const evil = `${'*a'.repeat(40)}b`;
    const deny = { Effect: 'Deny', Principal: '*', Action: ['s3:GetObject', 's3:ListBucket'], Resource: [`arn:aws:s3:::rob/${evil}`, 'arn:aws:s3:::rob'], Condition: { StringLike: { 's3:prefix': evil } } };
    assert.equal((await call('PUT', '/rob', { query: { policy: '' }, body: doc([deny]) })).status, 204);
    try {
      assert.equal(statusCode(await call('GET', `/rob/${'a'.repeat(200)}`)), '404 NoSuchKey');
      assert.equal((await call('GET', '/rob', { query: { prefix: 'a'.repeat(200) } })).status, 200);
    } finally {
      assert.equal((await call('DELETE', '/rob', { query: { policy: '' } })).status, 204);
    }
  });

  it('a versionId other than "null" (none is kept here) → InvalidArgument (in DeleteObjects a NoSuchVersion entry): the current object is not read, copied or deleted instead', async () => {
    const named = { versionId: '3HL4kqtJlcpXroDTDmjVBH40Nrjfkd' };
    for (const [method, query] of [['GET', named], ['HEAD', named], ['DELETE', named], ['GET', { ...named, tagging: '' }], ['DELETE', { ...named, tagging: '' }]] as const) {
      const r = await call(method, '/rob/a', { query });
      assert.equal(method === 'HEAD' ? `${r.status}` : statusCode(r), method === 'HEAD' ? '400' : '400 InvalidArgument', `${method} ${JSON.stringify(query)}`);
    }
    const copy = await call('PUT', '/rob/a-copy', { headers: { 'x-amz-copy-source': `/rob/a?versionId=${named.versionId}` } });
    assert.equal(statusCode(copy), '400 InvalidArgument');
    assert.equal((await call('HEAD', '/rob/a-copy')).status, 404);
    const del = `<Delete><Object><Key>a</Key><VersionId>${named.versionId}</VersionId></Object></Delete>`;
    // DeleteObjects answers per key, as S3 does: a NoSuchVersion entry echoing the VersionId, the object kept.
    const deleted = await call('POST', '/rob', { query: { delete: '' }, md5: true, body: del });
    assert.equal(deleted.status, 200);
    assert.match(deleted.text, new RegExp(`<Error><Key>a</Key><VersionId>${named.versionId}</VersionId><Code>NoSuchVersion</Code>`));
    assert.equal((await call('GET', '/rob/a')).text, 'a');
    // "null" is the version every object here has: it names the current object.
    assert.equal((await call('GET', '/rob/a', { query: { versionId: 'null' } })).text, 'a');
    assert.equal((await call('PUT', '/rob/a-copy', { headers: { 'x-amz-copy-source': '/rob/a?versionId=null' } })).status, 200);
    assert.equal((await call('GET', '/rob/a-copy')).text, 'a');
  });

  it('conditional writes (If-None-Match / If-Match on PUT, copy, complete, DELETE) are enforced, never done unconditionally', async () => {
    const cases: Array<[string, string, S3CallOptions, string]> = [
      ['PUT', '/rob/a', { body: 'overwrite', headers: { 'if-none-match': '*' } }, '412 PreconditionFailed'],
      ['PUT', '/rob/a', { body: 'overwrite', headers: { 'if-match': '"0000"' } }, '412 PreconditionFailed'],
      ['PUT', '/rob/a', { headers: { 'x-amz-copy-source': '/rob/a-src', 'if-none-match': '*' } }, '412 PreconditionFailed'],
      ['DELETE', '/rob/a', { headers: { 'if-match': '"0000"' } }, '412 PreconditionFailed'],
      // S3 takes only '*' in If-None-Match on a write, and none on a delete.
      ['PUT', '/rob/a', { body: 'overwrite', headers: { 'if-none-match': '"0000"' } }, '501 NotImplemented'],
      ['DELETE', '/rob/a', { headers: { 'if-none-match': '*' } }, '501 NotImplemented'],
    ];
    assert.equal((await call('PUT', '/rob/a-src', { body: 'source' })).status, 200);
    for (const [method, path, opts, expected] of cases) assert.equal(statusCode(await call(method, path, opts)), expected, `${method} ${JSON.stringify(opts.headers)}`);
    const part = await call('PUT', '/rob/mp', { query: { uploadId, partNumber: '1' }, body: 'part' });
    const complete = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.get('etag') ?? ''}</ETag></Part></CompleteMultipartUpload>`;
    // If-Match on a key with no object: S3's 404, and the upload stays open for a retry.
    assert.equal(statusCode(await call('POST', '/rob/mp', { query: { uploadId }, headers: { 'if-match': '"0000"' }, body: complete })), '404 NoSuchKey');
    assert.equal((await call('GET', '/rob/mp', { query: { uploadId } })).status, 200, 'the upload is still open');
    assert.equal((await call('GET', '/rob/mp')).status, 404, 'nothing was completed');
    // Conditional reads are unaffected.
    assert.equal((await call('GET', '/rob/a', { headers: { 'if-match': '"0000"' } })).status, 412);
  });

  it('Object Lock and expected-bucket-owner headers are enforced or refused, never ignored', async () => {
    const lock = { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': '2035-01-01T00:00:00Z' };
    const refused: Array<[string, string, S3CallOptions, string]> = [
      ['PUT', '/rob/locked', { body: 'x', headers: lock }, '400 InvalidRequest'],
      ['PUT', '/rob/locked', { body: 'x', headers: { 'x-amz-object-lock-legal-hold': 'ON' } }, '400 InvalidRequest'],
      ['PUT', '/rob/locked', { headers: { ...lock, 'x-amz-copy-source': '/rob/a' } }, '400 InvalidRequest'],
      ['POST', '/rob/locked', { query: { uploads: '' }, headers: lock }, '400 InvalidRequest'],
      ['PUT', '/rob-locked', { headers: { 'x-amz-bucket-object-lock-enabled': 'true' } }, '501 NotImplemented'],
      ['GET', '/rob/a', { headers: { 'x-amz-expected-bucket-owner': '999999999999' } }, '403 AccessDenied'],
      ['PUT', '/rob/locked', { body: 'x', headers: { 'x-amz-expected-bucket-owner': '999999999999' } }, '403 AccessDenied'],
      ['PUT', '/rob/locked', { headers: { 'x-amz-copy-source': '/rob/a', 'x-amz-source-expected-bucket-owner': '999999999999' } }, '403 AccessDenied'],
    ];
    for (const [method, path, opts, expected] of refused) assert.equal(statusCode(await call(method, path, opts)), expected, `${method} ${path} ${JSON.stringify(opts.headers)}`);
    assert.equal((await call('HEAD', '/rob/locked')).status, 404, 'nothing was written unlocked');
    assert.equal((await call('HEAD', '/rob-locked')).status, 404, 'no bucket was made without its lock');
    assert.equal((await call('GET', '/rob/a', { headers: { 'x-amz-expected-bucket-owner': '000000000000' } })).text, 'a', 'the right owner is served');
  });

  it('a PUT declaring 6 GiB is refused with EntityTooLarge before any body byte is sent', async () => {
    const url = new URL(t.endpoint);
    const signed = await signer().sign(
      { method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/rob/huge', query: {}, headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(6 * 1024 ** 3) } },
      { signingDate: new Date() },
    );
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(['PUT /rob/huge HTTP/1.1', ...Object.entries(signed.headers as Record<string, string>).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n'));
      });
      socket.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('</Error>')) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(got));
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /<Code>EntityTooLarge<\/Code>/);
    assert.equal((await call('HEAD', '/rob/huge')).status, 404);
  });

  it('listing, multipart and part-number query parameters of the wrong type → InvalidArgument (or NoSuchUpload)', async () => {
    const cases: Array<[string, string, Record<string, string>, string]> = [
      ['GET', '/rob', { 'max-keys': 'abc' }, '400 InvalidArgument'],
      ['GET', '/rob', { 'max-keys': '-1' }, '400 InvalidArgument'],
      ['GET', '/rob', { 'list-type': '2', 'continuation-token': '!!!' }, '400 InvalidArgument'],
      ['GET', '/rob', { 'encoding-type': 'foo' }, '400 InvalidArgument'],
      ['GET', '/rob', { uploads: '', 'max-uploads': 'x' }, '400 InvalidArgument'],
      ['GET', '/rob/mp', { uploadId, 'max-parts': 'abc' }, '400 InvalidArgument'],
      ['GET', '/rob/mp', { uploadId, 'part-number-marker': '-5' }, '400 InvalidArgument'],
      ['PUT', '/rob/mp', { uploadId, partNumber: 'abc' }, '400 InvalidArgument'],
      ['PUT', '/rob/mp', { uploadId, partNumber: '0' }, '400 InvalidArgument'],
      ['PUT', '/rob/mp', { uploadId, partNumber: '10001' }, '400 InvalidArgument'],
      ['PUT', '/rob/mp', { uploadId: '../../etc', partNumber: '1' }, '404 NoSuchUpload'],
      ['DELETE', '/rob/mp', { uploadId: "' OR 1=1 --" }, '404 NoSuchUpload'],
    ];
    for (const [method, path, query, expected] of cases) {
      const opts: S3CallOptions = method === 'PUT' ? { query, body: 'x' } : { query };
      assert.equal(statusCode(await call(method, path, opts)), expected, `${method} ${path} ${JSON.stringify(query)}`);
    }
    assert.equal((await call('GET', '/rob/mp', { query: { uploadId } })).status, 200, 'the upload is still there');
  });
});
