import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { CreateBucketCommand, HeadObjectCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { TEST_ACCESS_KEY_ID, testServerFixture } from '../helpers/server.js';
import { errorCode } from './helpers.js';
import { presignedUrl, signer } from './raw-sign.js';

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

interface Sent {
  readonly method: string;
  readonly path: string;
  /** Headers signed (in SignedHeaders). */
  readonly signed?: Record<string, string>;
  /** Headers sent but left out of SignedHeaders, as a party on the path would add them. */
  readonly unsigned?: Record<string, string>;
  readonly body?: string;
  readonly secret?: string;
  /** Changes the signed headers before they are sent (tampering on the path). */
  readonly tamper?: (headers: Record<string, string>) => void;
}

// S3 (and Cipherlake) refuse a signed request carrying an x-amz-* header its signature does not
// cover: 403 AccessDenied, "There were headers present in the request which were not signed",
// the names in <HeadersNotSigned>. Presigned URLs were already held to it
// (presigned-hoisted.test.ts); these are requests signed in the Authorization header.
describe('S3 header-signed requests: every x-amz-* header they carry must be signed', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: 'unsigned' }));
  });

  /** Signs in the Authorization header with @smithy/signature-v4 (as the SDKs do), leaving `unsigned` out of SignedHeaders. */
  async function send(r: Sent): Promise<Response> {
    const url = new URL(fx.server.endpoint);
    const body = r.body ?? '';
    const headers = { host: url.host, 'x-amz-content-sha256': sha256(body), ...(r.signed ?? {}), ...(r.unsigned ?? {}) };
    const request = { method: r.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: r.path, query: {}, headers, body };
    const signed = await signer(r.secret).sign(request, { signingDate: fx.server.clock.now(), unsignableHeaders: new Set(Object.keys(r.unsigned ?? {})) });
    const out = { ...(signed.headers as Record<string, string>) };
    delete out.host;
    const signedHeaders = /SignedHeaders=([^,]*)/.exec(out.authorization ?? '')?.[1]?.split(';') ?? [];
    for (const name of Object.keys(r.unsigned ?? {})) assert.ok(!signedHeaders.includes(name), `${name} is left unsigned`);
    r.tamper?.(out);
    return fetch(`${fx.server.endpoint}${r.path}`, { method: r.method, headers: out, ...(r.method === 'PUT' ? { body } : {}) });
  }

  async function refused(res: Response, names: string): Promise<void> {
    const text = await res.text();
    assert.equal(res.status, 403, text);
    assert.match(text, /<Code>AccessDenied<\/Code><Message>There were headers present in the request which were not signed<\/Message>/);
    assert.ok(text.includes(`<HeadersNotSigned>${names}</HeadersNotSigned>`), text);
  }

  const missing = async (key: string): Promise<void> => {
    assert.equal(await errorCode(fx.s3.send(new HeadObjectCommand({ Bucket: 'unsigned', Key: key }))), '404 NotFound');
  };

  it('a PUT with an unsigned x-amz-meta-* header is 403 AccessDenied naming it, and stores nothing', async () => {
    await refused(await send({ method: 'PUT', path: '/unsigned/meta', signed: { 'x-amz-meta-role': 'reader' }, unsigned: { 'x-amz-meta-extra': 'added' }, body: 'x' }), 'x-amz-meta-extra');
    // Overriding a signed one is not possible either: the header's value is in the signature.
    await missing('meta');
  });

  it('an unsigned x-amz-server-side-encryption (or any control header) is refused the same way; several are listed sorted', async () => {
    await refused(await send({ method: 'PUT', path: '/unsigned/sse', unsigned: { 'x-amz-server-side-encryption': 'aws:kms' }, body: 'x' }), 'x-amz-server-side-encryption');
    const unsigned = { 'x-amz-tagging': 'a=1', 'x-amz-acl': 'private', 'x-amz-storage-class': 'STANDARD_IA' };
    await refused(await send({ method: 'PUT', path: '/unsigned/sse', unsigned, body: 'x' }), 'x-amz-acl, x-amz-storage-class, x-amz-tagging');
    await missing('sse');
  });

  it('the same headers signed are taken: 200, with the metadata and SSE they ask for', async () => {
    const res = await send({ method: 'PUT', path: '/unsigned/signed', signed: { 'x-amz-meta-extra': 'added', 'x-amz-server-side-encryption': 'aws:kms' }, body: 'x' });
    assert.equal(res.status, 200, await res.text());
    const head = await fx.s3.send(new HeadObjectCommand({ Bucket: 'unsigned', Key: 'signed' }));
    assert.deepEqual(head.Metadata, { extra: 'added' });
    assert.equal(head.ServerSideEncryption, 'aws:kms');
  });

  it('unsigned headers that are not x-amz-* (x-foo, user-agent, x-amzn-trace-id) are still accepted', async () => {
    const res = await send({ method: 'PUT', path: '/unsigned/other', unsigned: { 'x-foo': 'bar', 'user-agent': 'test/1.0', 'x-amzn-trace-id': 'Root=1-0-0' }, body: 'x' });
    assert.equal(res.status, 200, await res.text());
    assert.equal((await fx.s3.send(new HeadObjectCommand({ Bucket: 'unsigned', Key: 'other' }))).ContentLength, 1);
  });

  it('x-amz-content-sha256 may be unsigned, as on S3: it is the canonical request payload hash, so changing it still breaks the signature', async () => {
    const res = await send({ method: 'PUT', path: '/unsigned/hash', unsigned: { 'x-amz-content-sha256': sha256('x') }, body: 'x' });
    assert.equal(res.status, 200, await res.text());
    const tamper = (headers: Record<string, string>): void => {
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    };
    const tampered = await send({ method: 'PUT', path: '/unsigned/hash2', unsigned: { 'x-amz-content-sha256': sha256('x') }, body: 'x', tamper });
    assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    await missing('hash2');
  });

  it('the signature is checked first: a bad signature with an unsigned header is SignatureDoesNotMatch, not the unsigned-header refusal', async () => {
    const res = await send({ method: 'PUT', path: '/unsigned/bad', unsigned: { 'x-amz-meta-extra': 'added' }, body: 'x', secret: 'wrong' });
    const text = await res.text();
    assert.equal(res.status, 403);
    assert.match(text, /<Code>SignatureDoesNotMatch<\/Code>/);
    assert.doesNotMatch(text, /HeadersNotSigned/);
  });

  it('a HEAD or GET with an unsigned x-amz-* header is refused too (HEAD: no body, the code in x-amz-error-code)', async () => {
    await fx.s3.send(new PutObjectCommand({ Bucket: 'unsigned', Key: 'read', Body: 'r' }));
    const head = await send({ method: 'HEAD', path: '/unsigned/read', unsigned: { 'x-amz-checksum-mode': 'ENABLED' } });
    assert.equal(head.status, 403);
    assert.equal(head.headers.get('x-amz-error-code'), 'AccessDenied');
    await refused(await send({ method: 'GET', path: '/unsigned/read', unsigned: { 'x-amz-expected-bucket-owner': '000000000000' } }), 'x-amz-expected-bucket-owner');
    const ok = await send({ method: 'GET', path: '/unsigned/read', signed: { 'x-amz-checksum-mode': 'ENABLED' } });
    assert.equal(await ok.text(), 'r');
  });

  it('the refusal is audited as a denied S3 request, naming the caller: the signature verified', async () => {
    const accepted = await send({ method: 'PUT', path: '/unsigned/audited-ok', body: 'x' });
    assert.equal(accepted.status, 200, await accepted.text());
    await refused(await send({ method: 'PUT', path: '/unsigned/audited', unsigned: { 'x-amz-tagging': 'a=1' }, body: 'x' }), 'x-amz-tagging');
    await fx.server.server.audit.flush();
    const { records } = await fx.server.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'PutObject', limit: 200 });
    const byKey = (key: string) => records.map((r) => r.event).find((ev) => ev.requestParameters?.['key'] === key);
    const e = byKey('audited');
    const ok = byKey('audited-ok');
    assert.ok(e !== undefined && ok !== undefined, 'both PutObjects are recorded');
    assert.equal(e.errorCode, 'AccessDenied');
    assert.equal(e.errorMessage, 'There were headers present in the request which were not signed');
    // As any AccessDenied of a request whose signature verified: the caller in userIdentity, its source address.
    assert.equal(e.userIdentity.accessKeyId, TEST_ACCESS_KEY_ID);
    assert.deepEqual(e.userIdentity, ok.userIdentity);
    assert.notEqual(e.userIdentity.type, 'Unknown');
    assert.equal(e.sourceIPAddress, ok.sourceIPAddress);
    assert.notEqual(e.sourceIPAddress, '');
  });

  it('a presigned request answers the same way, names included; an unsigned x-amz-content-sha256 header is its payload hash there too', async () => {
    const url = await presignedUrl(fx.server.endpoint, { method: 'PUT', path: '/unsigned/presigned' }, 300, fx.server.clock.now());
    await refused(await fetch(url, { method: 'PUT', body: 'x', headers: { 'x-amz-meta-extra': 'added' } }), 'x-amz-meta-extra');
    await missing('presigned');
    // Signed as UNSIGNED-PAYLOAD: the header saying so is accepted, one claiming a hash breaks the signature.
    assert.match(await (await fetch(url, { method: 'PUT', body: 'x', headers: { 'x-amz-content-sha256': sha256('x') } })).text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    assert.equal((await fetch(url, { method: 'PUT', body: 'x', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } })).status, 200);
  });

  it('an anonymous request signs nothing and is not held to it (a public read with an x-amz-* header is served)', async () => {
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::unsigned/public' }] };
    await fx.s3.send(new PutBucketPolicyCommand({ Bucket: 'unsigned', Policy: JSON.stringify(policy) }));
    await fx.s3.send(new PutObjectCommand({ Bucket: 'unsigned', Key: 'public', Body: 'open' }));
    const res = await fetch(`${fx.server.endpoint}/unsigned/public`, { headers: { 'x-amz-checksum-mode': 'ENABLED' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'open');
  });
});
