import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
import { createHash } from 'node:crypto';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { DeleteObjectCommand, DeletePublicAccessBlockCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutPublicAccessBlockCommand } from '@aws-sdk/client-s3';
import { startTestServer, TEST_ACCESS_KEY_ID, type TestServer } from '../helpers/server.js';
import { awsEnv, runPythonJson, scratch, type Scratch } from '../helpers/client-run.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/post-object.py', import.meta.url));

/**
 * POST Object (browser uploads): boto3's generate_presigned_post makes each form and urllib3
 * posts it as multipart/form-data (fixtures/post-object.py); the answers, the stored objects and
 * the audit records are checked here.
 */
describe('POST Object with a presigned POST policy (boto3 + urllib3)', () => {
  let t: TestServer;
  let s: Scratch;
  let keyArn: string;
  let out: Record<string, unknown>;

  before(async () => {
    t = await startTestServer({ https: { enabled: true, host: '127.0.0.1', port: 0 } });
    s = scratch('cipherlake-post-object-');
    keyArn = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    out = await runPythonJson(SCRIPT, [], awsEnv(s, { S3_ENDPOINT: t.endpoint, S3_HTTPS_ENDPOINT: t.httpsEndpoint!, S3_CA_BUNDLE: join(t.dataDir, 'tls', 'ca', 'ca.crt'), S3_KMS_KEY_ARN: keyArn }), s.dir);
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  it('stores the file and answers 204 with ETag and Location; 201 with PostResponse; 303 to success_action_redirect', () => {
    assert.deepEqual(out['ok'], { status: 204, etag: true, location: `${t.endpoint}/post-bkt/uploads%2Fhello.txt`, sse: 'AES256', body: true });
    assert.deepEqual(out['unicode'], [204, true, true]);
    assert.deepEqual(out['big'], [204, true]);
    assert.deepEqual(out['created'], { status: 201, key: 'created.txt', bucket: 'post-bkt', etag: true });
    assert.deepEqual(out['redirect'], { status: 303, to: 'http://app.example/done', from: ['form'], bucket: ['post-bkt'], key: ['dir/redirected.txt'], etag: true, raw: true });
    assert.deepEqual(out['virtual'], [204, `http://post-bkt.localhost:${new URL(t.endpoint).port}/virtual.txt`, true]);
  });

  it('takes SSE-KMS, SSE-C (over TLS only), a checksum, Content-Type, metadata and tags from the form fields', () => {
    assert.deepEqual(out['kms'], { status: 204, sse: 'aws:kms', key: keyArn, headSse: 'aws:kms', headKey: keyArn, body: true });
    assert.deepEqual(out['ssec'], { status: 204, alg: 'AES256', body: true });
    assert.deepEqual(out['ssecPlainHttp'], [400, 'InvalidRequest']);
    assert.deepEqual(out['checksum'], [204, true, true]);
    assert.deepEqual(out['badChecksum'], [400, 'BadDigest']);
    assert.deepEqual(out['meta'], { status: 204, type: 'text/plain', meta: { origin: 'browser' }, tags: [{ Key: 'team', Value: 'ml' }] });
  });

  it('enforces content-length-range (inclusive bounds) and stores nothing refused', () => {
    assert.deepEqual(out['tooLarge'], [400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size']);
    assert.deepEqual(out['tooSmall'], [400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size']);
    assert.deepEqual(out['bounds'], [204, 204]);
  });

  it('refuses what the policy does not allow, as S3 words it', () => {
    assert.deepEqual(out['extra'], [403, 'AccessDenied', 'Invalid according to Policy: Extra input fields: x-amz-meta-unsigned']);
    assert.equal(out['ignored'], 204);
    assert.deepEqual(out['expired'], [403, 'AccessDenied', 'Invalid according to Policy: Policy expired.']);
    assert.deepEqual(out['outsidePrefix'], [403, 'AccessDenied', 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "uploads/"]']);
    assert.equal(out['outsideStored'], false);
    assert.equal(out['sizedStored'], false, 'the refused uploads stored nothing');
  });

  it('checks the signature over the policy as sent', () => {
    const mismatch = 'The request signature we calculated does not match the signature you provided. Check your key and signing method.';
    assert.deepEqual(out['badSignature'], [403, 'SignatureDoesNotMatch', mismatch]);
    assert.deepEqual(out['changedPolicy'], [403, 'SignatureDoesNotMatch', mismatch]);
    assert.equal(out['cased'], 204);
  });

  it("refuses a credential scoped to another region, and a form replayed to another bucket than its policy's", () => {
    const [status, code, message] = out['otherRegion'] as [number, string, string];
    assert.deepEqual([status, code], [400, 'InvalidArgument']);
    assert.match(message, /^the region 'us-west-2' is wrong; expecting '/);
    assert.deepEqual(out['otherBucket'], [403, 'AccessDenied', 'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "post-bkt"]', false]);
  });

  it('reads the form as S3 does: fields after the file ignored; no key, no file, not multipart refused', () => {
    assert.equal(out['trailing'], 204);
    assert.deepEqual(out['noKey'], [400, 'InvalidArgument', "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", 'key', '']);
    assert.deepEqual(out['noSignature'], [400, 'InvalidArgument', "Bucket POST must contain a field named 'X-Amz-Signature'.  If it is specified, please check the order of the fields.", 'X-Amz-Signature']);
    assert.deepEqual(out['emptyKey'], [400, 'InvalidArgument', 'User key must have a length greater than 0.']);
    assert.deepEqual(out['noFile'], [400, 'InvalidArgument', 'POST requires exactly one file upload per request.', 'file', '0']);
    assert.deepEqual(out['notMultipart'], [412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold']);
  });

  it('runs an unsigned form as the anonymous principal: only what the bucket policy allows', () => {
    assert.deepEqual(out['anonymousPrivate'], [403, 'AccessDenied', 'Access Denied']);
    assert.deepEqual(out['anonymousPublic'], [204, true]);
    assert.deepEqual(out['anonymousOutside'], [403, 'AccessDenied', 'Access Denied']);
  });

  it("runs a form signed by an IAM user's key as that user: its identity policy decides the key", () => {
    assert.equal(out['userAllowed'], 204);
    assert.deepEqual(out['userDenied'], [403, 'AccessDenied', 'Access Denied']);
  });

  it("decides s3:PutObject with the form's fields as the condition keys (s3:x-amz-server-side-encryption)", () => {
    assert.deepEqual(out['policyDeniesPlain'], [[403, 'AccessDenied', 'Access Denied'], false]);
    assert.deepEqual(out['policyAllowsKms'], [204, 'aws:kms']);
  });

  it('bounds the fields before the file at 20 KB', () => {
    assert.deepEqual(out['preDataTooLarge'], [400, 'MaxPostPreDataLengthExceeded', 'Your POST request fields preceeding the upload file was too large.', '20480']);
  });

  it('a client gone mid-file stores nothing, and is audited; the server serves on', async () => {
    // An anonymous form for public/ (the fixture's bucket policy lets anyone put there), cut off after 64 KiB of a declared 1 MiB file.
    const boundary = 'cut-off-boundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\npublic/gone.bin\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="g.bin"\r\n\r\n`;
    const url = new URL(t.endpoint);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`POST /post-bkt HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + 1024 * 1024 + 100}\r\n\r\n${head}`);
    socket.write(Buffer.alloc(64 * 1024, 1));
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    const recorded = async () => {
      await t.server.audit.flush();
      const { records } = await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'PostObject', limit: 500 });
      return records.some((r) => (r.event.requestParameters as { key?: string } | undefined)?.key === 'public/gone.bin');
    };
    // Polled (a bound on waiting, not a timing assertion): the handler records once the cut is noticed.
    let seen = false;
    for (let i = 0; i < 500 && !seen; i++) {
      seen = await recorded();
      if (!seen) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(seen, 'the cut-off upload is recorded');
    const s3 = t.s3();
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'post-bkt', Key: 'public/gone.bin' })), { name: 'NotFound' });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'post-bkt', Prefix: 'public/' }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key), ['public/anon.txt']);
  });

  it('answers a form still sending parts after its file, then closes the connection instead of reading on', async () => {
    // An anonymous form for public/ (the bucket policy lets anyone put there), chunked, whose
    // file is followed by parts that never end: S3 ignores parts after the file. The answer
    // must come once the file is stored, and the server must stop reading there.
    const boundary = 'endless-tail-boundary';
    const url = new URL(t.endpoint);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\npublic/endless-tail.txt\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="e.txt"\r\n\r\ntail body\r\n`;
    socket.write(`POST /post-bkt HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(head)}`);
    let answer = '';
    let closed = false;
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('close', () => (closed = true));
    socket.on('error', () => {}); // the server may reset a connection it stopped reading
    const junk = chunk(`--${boundary}\r\nContent-Disposition: form-data; name="x-ignore-after"\r\n\r\n${'j'.repeat(4096)}\r\n`);
    // Polled bounds, not timing assertions: send a tail part every 5 ms until the server closes (or 5 s passed).
    for (let i = 0; i < 1000 && !closed; i++) {
      if (!socket.destroyed) socket.write(junk);
      await new Promise((r) => setTimeout(r, 5));
    }
    socket.destroy();
    assert.match(answer, /^HTTP\/1\.1 204 /, answer.slice(0, 200));
    assert.match(answer, /\r\nconnection: close\r\n/i);
    assert.ok(closed, 'the server closed the connection');
    const got = await t.s3().send(new GetObjectCommand({ Bucket: 'post-bkt', Key: 'public/endless-tail.txt' }));
    assert.equal(await got.Body!.transformToString(), 'tail body');
    await t.s3().send(new DeleteObjectCommand({ Bucket: 'post-bkt', Key: 'public/endless-tail.txt' }));
  });

  it('bounds the form before the file at 20 KB with its boundaries and part headers (parts busboy skips, empty fields), as S3 counts it', async () => {
    // Anonymous forms for public/ (the bucket policy lets anyone put there): a key, then
    // 20+ KB of parts that carry no field value (no Content-Disposition: busboy skips them;
    // empty x-ignore- fields), then the file. Uncounted, they let a client send an endless form.
    const boundary = 'pre-data-boundary';
    const part = (headers: string, value: string) => `--${boundary}\r\n${headers}\r\n\r\n${value}\r\n`;
    const form = (key: string, padding: string) =>
      part('Content-Disposition: form-data; name="key"', key) + padding + part('Content-Disposition: form-data; name="file"; filename="p.txt"', 'payload') + `--${boundary}--\r\n`;
    const post = async (body: string) => {
      const res = await fetch(`${t.endpoint}/post-bkt`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
      const text = await res.text();
      return [res.status, /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? ''];
    };
    const skipped = part('X-Pad: x', '').repeat(1000);
    const empty = part('Content-Disposition: form-data; name="x-ignore-"', '').repeat(500);
    assert.ok(skipped.length > 20 * 1024 && empty.length > 20 * 1024);
    assert.deepEqual(await post(form('public/skipped-parts.txt', skipped)), [400, 'MaxPostPreDataLengthExceeded']);
    assert.deepEqual(await post(form('public/empty-fields.txt', empty)), [400, 'MaxPostPreDataLengthExceeded']);
    // The same forms within the bound are stored.
    assert.deepEqual(await post(form('public/few-parts.txt', part('X-Pad: x', '').repeat(10) + part('Content-Disposition: form-data; name="x-ignore-"', '').repeat(10))), [204, '']);
    const s3 = t.s3();
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'post-bkt', Key: 'public/skipped-parts.txt' })), { name: 'NotFound' });
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'post-bkt', Key: 'public/empty-fields.txt' })), { name: 'NotFound' });
    await s3.send(new DeleteObjectCommand({ Bucket: 'post-bkt', Key: 'public/few-parts.txt' }));
  });

  it('reads a field sent as a part with a file name, right before the file, as the field it is', async () => {
    // The key part carries a file name (as a form built with Blob parts sends it); in one packet with the file part.
    const boundary = 'named-field-boundary';
    const body =
      `--${boundary}\r\nContent-Disposition: form-data; name="key"; filename="key.txt"\r\n\r\npublic/from-named-part.txt\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\nnamed\r\n--${boundary}--\r\n`;
    const res = await fetch(`${t.endpoint}/post-bkt`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
    assert.equal(res.status, 204, await res.text());
    const s3 = t.s3();
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'post-bkt', Key: 'public/from-named-part.txt' }));
    assert.equal(head.ContentLength, 5);
    await s3.send(new DeleteObjectCommand({ Bucket: 'post-bkt', Key: 'public/from-named-part.txt' }));
    // Such a field counts once toward the 20 KB before the file: 12 KB of it is within the bound.
    const padded =
      `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\npublic/padded-part.txt\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="x-ignore-pad"; filename="pad.txt"\r\n\r\n${'p'.repeat(12 * 1024)}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\npadded\r\n--${boundary}--\r\n`;
    const res2 = await fetch(`${t.endpoint}/post-bkt`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: padded });
    assert.equal(res2.status, 204, await res2.text());
    await s3.send(new DeleteObjectCommand({ Bucket: 'post-bkt', Key: 'public/padded-part.txt' }));
    const res3 = await fetch(`${t.endpoint}/post-bkt`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: padded.replace('p'.repeat(12 * 1024), 'p'.repeat(21 * 1024)) });
    assert.deepEqual([res3.status, /<Code>([^<]*)<\/Code>/.exec(await res3.text())?.[1]], [400, 'MaxPostPreDataLengthExceeded']);
  });

  it('takes a hash the request declares for its body (x-amz-content-sha256) as no hash of the file: the file is only part of the body', async () => {
    const boundary = 'declared-hash-boundary';
    const body =
      `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\npublic/declared-hash.txt\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\nhashed body\r\n--${boundary}--\r\n`;
    const sha256 = createHash('sha256').update(body).digest('hex');
    const res = await fetch(`${t.endpoint}/post-bkt`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'x-amz-content-sha256': sha256 }, body });
    assert.equal(res.status, 204, await res.text());
    const got = await t.s3().send(new GetObjectCommand({ Bucket: 'post-bkt', Key: 'public/declared-hash.txt' }));
    assert.equal(await got.Body!.transformToString(), 'hashed body');
    await t.s3().send(new DeleteObjectCommand({ Bucket: 'post-bkt', Key: 'public/declared-hash.txt' }));
  });

  it("refuses an anonymous form under the bucket's Block Public Access (RestrictPublicBuckets), and a public-read acl field", async () => {
    const boundary = 'bpa-boundary';
    const post = async (key: string, extra = '') => {
      const body =
        `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n${key}\r\n${extra}` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\nblocked\r\n--${boundary}--\r\n`;
      const res = await fetch(`${t.endpoint}/post-bkt`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
      return [res.status, /<Code>([^<]*)<\/Code>/.exec(await res.text())?.[1] ?? ''];
    };
    const s3 = t.s3();
    // The bucket policy lets anyone put under public/ (the fixture's): a public policy, which RestrictPublicBuckets voids for anonymous callers.
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: 'post-bkt', PublicAccessBlockConfiguration: { RestrictPublicBuckets: true } }));
    try {
      assert.deepEqual(await post('public/blocked.txt'), [403, 'AccessDenied']);
    } finally {
      await s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'post-bkt' }));
    }
    // ACLs are disabled here (bucket owner enforced): a public-read acl field is refused, as a PUT's x-amz-acl.
    assert.deepEqual(await post('public/acl.txt', `--${boundary}\r\nContent-Disposition: form-data; name="acl"\r\n\r\npublic-read\r\n`), [400, 'AccessControlListNotSupported']);
    assert.deepEqual(await post('public/unblocked.txt'), [204, '']);
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'post-bkt', Key: 'public/blocked.txt' })), { name: 'NotFound' });
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'post-bkt', Key: 'public/acl.txt' })), { name: 'NotFound' });
    await s3.send(new DeleteObjectCommand({ Bucket: 'post-bkt', Key: 'public/unblocked.txt' }));
  });

  it("stores a field's non-ASCII text as a PUT's header bytes, and refuses a field no header could carry (CR/LF, NUL): every GET of such an object failed", async () => {
    const boundary = 'header-text-boundary';
    const post = async (key: string, name: string, value: string) => {
      const body =
        `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n${key}\r\n--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\ntext\r\n--${boundary}--\r\n`;
      const res = await fetch(`${t.endpoint}/post-bkt`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
      return [res.status, /<Code>([^<]*)<\/Code>/.exec(await res.text())?.[1] ?? ''];
    };
    assert.deepEqual(await post('public/utf8-meta.txt', 'x-amz-meta-note', 'café — ok'), [204, '']);
    const got = await t.s3().send(new GetObjectCommand({ Bucket: 'post-bkt', Key: 'public/utf8-meta.txt' }));
    assert.equal(await got.Body!.transformToString(), 'text');
    // node reads header bytes as latin1: the UTF-8 bytes sent come back as sent.
    assert.equal(Buffer.from(got.Metadata!['note']!, 'latin1').toString('utf8'), 'café — ok');
    for (const [name, value] of [['Content-Type', 'text/plain\r\nX-Injected: 1'], ['x-amz-meta-a', 'v\nw'], ['Cache-Control', 'a\u0000b']] as const) {
      assert.deepEqual(await post(`public/bad-${name}.txt`, name, value), [400, 'InvalidArgument'], name);
      await assert.rejects(t.s3().send(new HeadObjectCommand({ Bucket: 'post-bkt', Key: `public/bad-${name}.txt` })), { name: 'NotFound' });
    }
    await t.s3().send(new DeleteObjectCommand({ Bucket: 'post-bkt', Key: 'public/utf8-meta.txt' }));
  });

  it('redirects to success_action_redirect as a URL parser reads it (its CR/LF dropped, other characters percent-encoded)', async () => {
    const boundary = 'redirect-boundary';
    const post = async (key: string, redirect: string) => {
      const body =
        `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n${key}\r\n--${boundary}\r\nContent-Disposition: form-data; name="success_action_redirect"\r\n\r\n${redirect}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\nredirected\r\n--${boundary}--\r\n`;
      const res = await fetch(`${t.endpoint}/post-bkt`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body, redirect: 'manual' });
      await res.text();
      return [res.status, res.headers.get('location')?.split('?')[0], res.headers.get('x-injected')];
    };
    assert.deepEqual(await post('public/r1.txt', 'http://app.example/done\r\nX-Injected: 1'), [303, 'http://app.example/doneX-Injected:%201', null]);
    assert.deepEqual(await post('public/r2.txt', 'http://app.example/café'), [303, 'http://app.example/caf%C3%A9', null]);
    // The bucket, key and etag go into the query, before a fragment (kept): after it they would be no query.
    const fragment = await fetch(`${t.endpoint}/post-bkt`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body:
        `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\npublic/r3.txt\r\n--${boundary}\r\nContent-Disposition: form-data; name="success_action_redirect"\r\n\r\nhttp://app.example/done?from=form#top\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\nredirected\r\n--${boundary}--\r\n`,
      redirect: 'manual',
    });
    await fragment.text();
    assert.equal(fragment.status, 303);
    const to = new URL(fragment.headers.get('location')!);
    assert.deepEqual([to.pathname, to.hash, to.searchParams.get('from'), to.searchParams.get('bucket'), to.searchParams.get('key')], ['/done', '#top', 'form', 'post-bkt', 'public/r3.txt']);
    assert.match(to.searchParams.get('etag') ?? '', /^"[0-9a-f]{32}"$/);
    for (const key of ['public/r1.txt', 'public/r2.txt', 'public/r3.txt']) await t.s3().send(new DeleteObjectCommand({ Bucket: 'post-bkt', Key: key }));
  });

  it('audits each upload as PostObject, naming the signer, the key and the SSE', async () => {
    await t.server.audit.flush();
    const { records } = await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'PostObject', limit: 500 });
    const events = records.map((r) => r.event as { userIdentity?: { accessKeyId?: string; type?: string }; requestParameters?: { key?: string }; responseElements?: Record<string, unknown> | null; errorCode?: string });
    const kms = events.find((e) => e.requestParameters?.key === 'kms.txt' && e.errorCode === undefined);
    assert.ok(kms, 'the SSE-KMS upload is recorded under its key');
    assert.equal(kms.userIdentity?.accessKeyId, TEST_ACCESS_KEY_ID);
    assert.deepEqual(kms.responseElements, { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': keyArn });
    const user = events.find((e) => e.requestParameters?.key === 'uploader/mine.txt');
    assert.equal(user?.userIdentity?.type, 'IAMUser');
    assert.equal(user.userIdentity.accessKeyId, out['userAccessKey']);
    const expired = events.find((e) => e.requestParameters?.key === 'expired.txt');
    assert.equal(expired?.errorCode, 'AccessDenied');
    // The SSE-C uploads (stored over TLS, refused over plain HTTP) are recorded, and no record holds the key or its MD5.
    const ssec = events.filter((e) => e.requestParameters?.key === 'ssec.txt');
    assert.deepEqual(ssec.map((e) => e.errorCode ?? 'ok').sort(), ['InvalidRequest', 'ok']);
    const secrets = out['ssecSecrets'] as string[];
    assert.equal(secrets.length, 2);
    const trail = JSON.stringify(records);
    for (const secret of secrets) {
      assert.ok(secret.length >= 24, secret.length.toString());
      assert.ok(!trail.includes(secret) && !trail.includes(Buffer.from(secret, 'base64').toString('hex')), 'an SSE-C key or its MD5 is in the audit trail');
    }
    const anonymous = events.find((e) => e.requestParameters?.key === 'public/anon.txt' && e.errorCode === undefined);
    // CloudTrail's userIdentity of an anonymous S3 request.
    assert.equal(anonymous?.userIdentity?.type, 'Unknown');
    assert.equal(anonymous.userIdentity.accessKeyId, undefined);
  });
});
