import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  type CORSRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { FinalizeHandler, FinalizeHandlerArguments, MetadataBearer } from '@smithy/types';
import { testServerFixture } from '../helpers/server.js';
import { errorCode } from './helpers.js';

const B = 'cors-lake';
const RULES: CORSRule[] = [
  {
    ID: 'app',
    AllowedOrigins: ['https://app.example.com', 'https://*.tools.example.com'],
    AllowedMethods: ['GET', 'PUT', 'HEAD'],
    AllowedHeaders: ['Content-Type', 'x-amz-*'],
    ExposeHeaders: ['ETag', 'x-amz-request-id'],
    MaxAgeSeconds: 600,
  },
  { AllowedOrigins: ['*'], AllowedMethods: ['GET'] },
];

/** `client` with every integrity header (Content-MD5, x-amz-checksum-*) dropped before signing. */
function withoutDigest(client: S3Client): S3Client {
  client.middlewareStack.addRelativeTo(
    (next: FinalizeHandler<object, MetadataBearer>) => async (args: FinalizeHandlerArguments<object>) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
      for (const h of Object.keys(headers)) if (/^(content-md5|x-amz-checksum-|x-amz-sdk-checksum-)/i.test(h)) delete headers[h];
      return next(args);
    },
    { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'dropDigest' },
  );
  return client;
}

/** `client` sending `Origin: origin` on every request, as a browser page would; `answered` is told each response's headers. */
function withOrigin(client: S3Client, origin: string, answered?: (headers: Record<string, string>) => void): S3Client {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers !== undefined) request.headers['origin'] = origin;
      const out = await next(args);
      answered?.((out.response as { headers: Record<string, string> }).headers);
      return out;
    },
    { step: 'build', name: 'origin' },
  );
  return client;
}

describe('S3 bucket CORS: Put/Get/DeleteBucketCors', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  it('round trip: Get answers the rules as put; Delete answers 204 and Get then NoSuchCORSConfiguration', async () => {
    assert.equal(await errorCode(fx.s3.send(new GetBucketCorsCommand({ Bucket: B }))), '404 NoSuchCORSConfiguration');
    await fx.s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: RULES } }));
    const got = await fx.s3.send(new GetBucketCorsCommand({ Bucket: B }));
    assert.deepEqual(got.CORSRules, RULES);
    const del = await fx.s3.send(new DeleteBucketCorsCommand({ Bucket: B }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.equal(await errorCode(fx.s3.send(new GetBucketCorsCommand({ Bucket: B }))), '404 NoSuchCORSConfiguration');
    // Deleting what is not there is still 204, as S3.
    assert.equal((await fx.s3.send(new DeleteBucketCorsCommand({ Bucket: B }))).$metadata.httpStatusCode, 204);
  });

  it('a missing bucket is NoSuchBucket for all three', async () => {
    assert.equal(await errorCode(fx.s3.send(new PutBucketCorsCommand({ Bucket: 'no-such-cors', CORSConfiguration: { CORSRules: RULES } }))), '404 NoSuchBucket');
    assert.equal(await errorCode(fx.s3.send(new GetBucketCorsCommand({ Bucket: 'no-such-cors' }))), '404 NoSuchBucket');
    assert.equal(await errorCode(fx.s3.send(new DeleteBucketCorsCommand({ Bucket: 'no-such-cors' }))), '404 NoSuchBucket');
  });

  it('refuses what S3 refuses: unsupported method, two wildcards, wildcard ExposeHeader (InvalidRequest); no rule, over 100 rules, a rule without origin (MalformedXML)', async () => {
    const put = (rules: CORSRule[]) => errorCode(fx.s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: rules } })));
    assert.equal(await put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET', 'PATCH'] }]), '400 InvalidRequest');
    assert.equal(await put([{ AllowedOrigins: ['*'], AllowedMethods: ['OPTIONS'] }]), '400 InvalidRequest');
    assert.equal(await put([{ AllowedOrigins: ['https://*.example.*'], AllowedMethods: ['GET'] }]), '400 InvalidRequest');
    assert.equal(await put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], AllowedHeaders: ['x-*-*'] }]), '400 InvalidRequest');
    assert.equal(await put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], ExposeHeaders: ['*'] }]), '400 InvalidRequest');
    assert.equal(await put([]), '400 MalformedXML');
    assert.equal(await put(Array.from({ length: 101 }, () => ({ AllowedOrigins: ['*'], AllowedMethods: ['GET'] }))), '400 MalformedXML');
    assert.equal(await put([{ AllowedOrigins: [], AllowedMethods: ['GET'] }]), '400 MalformedXML');
    // 100 rules is the limit, not over it.
    await fx.s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: Array.from({ length: 100 }, () => ({ AllowedOrigins: ['*'], AllowedMethods: ['GET'] })) } }));
    assert.equal((await fx.s3.send(new GetBucketCorsCommand({ Bucket: B }))).CORSRules?.length, 100);
    await fx.s3.send(new DeleteBucketCorsCommand({ Bucket: B }));
  });

  it('PutBucketCors without Content-MD5 or a checksum is InvalidRequest, and stores nothing', async () => {
    const bare = withoutDigest(fx.server.s3());
    assert.equal(await errorCode(bare.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: RULES } }))), '400 InvalidRequest');
    assert.equal(await errorCode(fx.s3.send(new GetBucketCorsCommand({ Bucket: B }))), '404 NoSuchCORSConfiguration');
  });
});

describe('S3 bucket CORS: preflight and actual requests from a browser', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new CreateBucketCommand({ Bucket: 'cors-none' }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'data/x.csv', Body: 'a,b\n' }));
    await s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: RULES } }));
  });
  const preflight = (path: string, headers: Record<string, string>) => fetch(`${fx.server.endpoint}${path}`, { method: 'OPTIONS', headers });

  it('a matching preflight (no credentials) answers 200 with the first matching rule\'s headers', async () => {
    const r = await preflight(`/${B}/data/x.csv`, {
      origin: 'https://app.example.com',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'content-type,X-Amz-Date',
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET, PUT, HEAD');
    // The requested names, in the order requested, lower-cased as S3 answers them.
    assert.equal(r.headers.get('access-control-allow-headers'), 'content-type, x-amz-date');
    assert.equal(r.headers.get('access-control-expose-headers'), 'ETag, x-amz-request-id');
    assert.equal(r.headers.get('access-control-max-age'), '600');
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(r.headers.get('vary'), 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method');
    assert.equal(await r.text(), '');
    // The one wildcard of an origin stands for any run of characters; a bucket-level preflight is answered too.
    const sub = await preflight(`/${B}`, { origin: 'https://ml.tools.example.com', 'access-control-request-method': 'HEAD' });
    assert.equal(sub.status, 200);
    assert.equal(sub.headers.get('access-control-allow-origin'), 'https://ml.tools.example.com');
  });

  it('a wildcard-origin rule answers `*` and no credentials', async () => {
    const r = await preflight(`/${B}/data/x.csv`, { origin: 'https://elsewhere.example.org', 'access-control-request-method': 'GET' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET');
    assert.equal(r.headers.get('access-control-allow-credentials'), null);
  });

  it('no matching rule (origin, method or a header not allowed) and no configuration answer 403 AccessForbidden', async () => {
    const refused = async (path: string, headers: Record<string, string>, message: RegExp) => {
      const r = await preflight(path, headers);
      assert.equal(r.status, 403);
      const body = await r.text();
      assert.match(body, /<Code>AccessForbidden<\/Code>/);
      assert.match(body, message);
    };
    const notAllowed = /CORSResponse: This CORS request is not allowed/;
    await refused(`/${B}/k`, { origin: 'https://elsewhere.example.org', 'access-control-request-method': 'PUT' }, notAllowed);
    await refused(`/${B}/k`, { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' }, notAllowed);
    await refused(`/${B}/k`, { origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type, authorization' }, notAllowed);
    await refused(`/${B}/k`, { origin: 'https://app.example.com:443', 'access-control-request-method': 'PUT' }, notAllowed);
    await refused('/cors-none/k', { origin: 'https://app.example.com', 'access-control-request-method': 'GET' }, /CORS is not enabled for this bucket/);
    // S3's answer names the method asked for and what was addressed, after the message.
    await refused(`/${B}/k`, { origin: 'https://elsewhere.example.org', 'access-control-request-method': 'PUT' }, /<\/Message><Method>PUT<\/Method><ResourceType>OBJECT<\/ResourceType>/);
    await refused(`/${B}`, { origin: 'https://elsewhere.example.org', 'access-control-request-method': 'DELETE' }, /<Method>DELETE<\/Method><ResourceType>BUCKET<\/ResourceType>/);
  });

  it('a missing bucket (or none named) is 403 "Bucket not found", a bucket without configuration "CORS is not enabled", before the method is looked at, naming BUCKET', async () => {
    const refused = async (path: string, headers: Record<string, string>, message: string, method: string) => {
      const r = await preflight(path, headers);
      const body = await r.text();
      assert.equal(r.status, 403, body);
      assert.ok(body.includes(`<Code>AccessForbidden</Code><Message>${message}</Message><Method>${method}</Method><ResourceType>BUCKET</ResourceType>`), body);
      assert.equal(r.headers.get('access-control-allow-origin'), null);
    };
    const origin = 'https://app.example.com';
    await refused('/no-such-cors-bucket/k', { origin, 'access-control-request-method': 'GET' }, 'CORSResponse: Bucket not found', 'GET');
    await refused('/no-such-cors-bucket', { origin }, 'CORSResponse: Bucket not found', 'OPTIONS');
    await refused('/', { origin, 'access-control-request-method': 'PUT' }, 'CORSResponse: Bucket not found', 'PUT');
    await refused('/cors-none/k', { origin }, 'CORSResponse: CORS is not enabled for this bucket.', 'OPTIONS');
    await refused('/cors-none/k', { origin, 'access-control-request-method': 'PUT' }, 'CORSResponse: CORS is not enabled for this bucket.', 'PUT');
    // Without an Origin it is BadRequest whatever the bucket.
    const noOrigin = await preflight('/no-such-cors-bucket/k', { 'access-control-request-method': 'GET' });
    assert.equal(noOrigin.status, 400);
    assert.match(await noOrigin.text(), /<Code>BadRequest<\/Code><Message>Insufficient information\. Origin request header needed\.<\/Message>/);
  });

  it('a refusal quotes a caller\'s value at most 256 characters long (answer and audit record stay small)', async () => {
    const long = `X${'y'.repeat(8000)}`;
    // A configured bucket refuses the unknown method (400 BadRequest); one without configuration refuses before the method is looked at (403), naming it.
    for (const [path, status, code] of [[`/${B}/k`, 400, 'BadRequest'], ['/cors-none/k', 403, 'AccessForbidden']] as const) {
      const r = await preflight(path, { origin: 'https://app.example.com', 'access-control-request-method': long });
      const body = await r.text();
      assert.equal(r.status, status, body);
      assert.match(body, new RegExp(`<Code>${code}</Code>`));
      assert.ok(body.length < 1200, `${path}: ${body.length} characters`);
      assert.ok(body.includes(`${long.slice(0, 256)}...`), body);
    }
  });

  it('a preflight without Origin, or with a missing or unknown request method, is 400 BadRequest', async () => {
    const bad = async (headers: Record<string, string>, message: string) => {
      const r = await preflight(`/${B}/k`, headers);
      assert.equal(r.status, 400);
      const body = await r.text();
      assert.match(body, /<Code>BadRequest<\/Code>/);
      assert.ok(body.includes(`<Message>${message}</Message>`), body);
    };
    await bad({ 'access-control-request-method': 'GET' }, 'Insufficient information. Origin request header needed.');
    await bad({ origin: 'https://app.example.com' }, 'Invalid Access-Control-Request-Method: null');
    await bad({ origin: 'https://app.example.com', 'access-control-request-method': 'PATCH' }, 'Invalid Access-Control-Request-Method: PATCH');
  });

  it('actual requests with an Origin get the matching rule\'s headers, error answers included; without Origin, none', async () => {
    let put: Record<string, string> = {};
    const s3 = withOrigin(fx.server.s3(), 'https://app.example.com', (headers) => (put = headers));
    const got = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'data/y.csv', Body: 'c\n' }));
    assert.equal(got.$metadata.httpStatusCode, 200);
    assert.equal(put['access-control-allow-origin'], 'https://app.example.com');
    const r = await fetch(`${fx.server.endpoint}/${B}/data/x.csv`, { headers: { origin: 'https://app.example.com' } });
    // Unsigned: refused (the bucket is private), and the refusal still carries the CORS headers a browser needs to read it.
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(r.headers.get('access-control-expose-headers'), 'ETag, x-amz-request-id');
    assert.equal(r.headers.get('vary'), 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method');
    const plain = await fetch(`${fx.server.endpoint}/${B}/data/x.csv`);
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
    // An origin no rule allows gets no Allow-Origin, but Vary (the answer depends on the Origin).
    const other = await fetch(`${fx.server.endpoint}/${B}/data/x.csv`, { method: 'PUT', headers: { origin: 'https://elsewhere.example.org' }, body: 'x' });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.equal(other.headers.get('vary'), 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method');
  });

  it('a signed GET with Origin through the SDK answers the object with the CORS headers', async () => {
    let seen: Record<string, string> = {};
    const s3 = withOrigin(fx.server.s3(), 'https://app.example.com', (headers) => (seen = headers));
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const obj = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'data/x.csv' }));
    assert.equal(await obj.Body!.transformToString(), 'a,b\n');
    assert.equal(seen['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(seen['access-control-allow-methods'], 'GET, PUT, HEAD');
    assert.equal(seen['access-control-max-age'], '600');
  });

  it('a preflight is audited as PreflightRequest by the anonymous caller, refused ones with their error', async () => {
    await preflight(`/${B}/audited.csv`, { origin: 'https://app.example.com', 'access-control-request-method': 'GET' });
    await preflight(`/${B}/audited.csv`, { origin: 'https://nope.example.org', 'access-control-request-method': 'PUT' });
    // An Authorization header is never verified on a preflight: still the anonymous caller, still where it came from.
    const signedLooking = await preflight(`/${B}/audited.csv`, { origin: 'https://app.example.com', 'access-control-request-method': 'GET', authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/x' });
    assert.equal(signedLooking.status, 200);
    await fx.server.server.audit.flush();
    const { records } = await fx.server.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'PreflightRequest', limit: 10 });
    const mine = records.filter((x) => (x.event.requestParameters as { key?: string } | undefined)?.key === 'audited.csv');
    assert.equal(mine.length, 3);
    const [withAuthorization, refused, allowed] = mine;
    assert.equal(allowed?.event.errorCode, undefined);
    assert.equal(refused?.event.errorCode, 'AccessForbidden');
    assert.equal(allowed?.event.readOnly, true);
    for (const x of mine) assert.match(String(x.event.sourceIPAddress), /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/, 'each record says where the preflight came from');
    // CloudTrail's userIdentity of an anonymous S3 request, on each (equal undefined identities would pass a bare comparison).
    for (const x of mine) assert.equal((x.event.userIdentity as { type?: string } | undefined)?.type, 'Unknown');
    assert.deepEqual(withAuthorization?.event.userIdentity, allowed?.event.userIdentity, 'the same anonymous caller');
    assert.doesNotMatch(JSON.stringify(withAuthorization?.event), /AKIAEXAMPLE/);
  });
});
