import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { filesUnder } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { at, queryRequest } from '../iam/query-client.js';
import { errorCode } from './helpers.js';
import { signedFetch } from './raw-sign.js';

/**
 * S3 conditional writes (If-None-Match: * and If-Match on PutObject, CopyObject,
 * CompleteMultipartUpload; If-Match on DeleteObject), through the AWS SDK: each refused write
 * answers S3's status and code and changes nothing, and racing creates of one key yield
 * exactly one winner.
 */
describe('S3 conditional writes', () => {
  let t: TestServer;
  let s3: S3Client;
  const B = 'cond';

  const text = async (key: string): Promise<string> => (await s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body!.transformToString();
  const put = (key: string, body: string | Buffer, extra: { IfNoneMatch?: string; IfMatch?: string } = {}) =>
    s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body, ...extra }));
  const bodyFiles = (): string[] => filesUnder(join(t.dataDir, 'objects', 'data'));

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(() => t.close());

  it('PutObject If-None-Match: * creates a missing key once, then answers 412 with <Condition>If-None-Match</Condition>', async () => {
    await put('once', 'first', { IfNoneMatch: '*' });
    assert.equal(await errorCode(put('once', 'second', { IfNoneMatch: '*' })), '412 PreconditionFailed');
    assert.equal(await text('once'), 'first');
    const raw = await signedFetch(t.endpoint, { method: 'PUT', path: `/${B}/once`, headers: { 'if-none-match': '*' }, body: Buffer.from('third') });
    assert.equal(raw.status, 412);
    const xml = await raw.text();
    assert.match(xml, /<Code>PreconditionFailed<\/Code>/);
    assert.match(xml, /<Condition>If-None-Match<\/Condition>/);
    assert.equal(await text('once'), 'first');
  });

  it('PutObject If-None-Match with an ETag is NotImplemented (S3 takes only *), and writes nothing', async () => {
    const { ETag } = await put('etag-none', 'kept');
    assert.equal(await errorCode(put('etag-none', 'new', { IfNoneMatch: ETag! })), '501 NotImplemented');
    assert.equal(await errorCode(put('etag-none-missing', 'new', { IfNoneMatch: '"0000"' })), '501 NotImplemented');
    assert.equal(await text('etag-none'), 'kept');
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'etag-none-missing' }))), '404 NotFound');
  });

  it('PutObject If-Match replaces only the object with that ETag; a missing key is 404 NoSuchKey', async () => {
    const v1 = await put('cas', 'v1');
    const v2 = await put('cas', 'v2', { IfMatch: v1.ETag! });
    assert.equal(await text('cas'), 'v2');
    assert.equal(await errorCode(put('cas', 'v3', { IfMatch: v1.ETag! })), '412 PreconditionFailed', 'a stale ETag');
    assert.equal(await text('cas'), 'v2');
    await put('cas', 'v3', { IfMatch: v2.ETag!.replace(/"/g, '') }); // bare ETag, as some clients send it
    assert.equal(await text('cas'), 'v3');
    await put('cas', 'v4', { IfMatch: '*' });
    assert.equal(await text('cas'), 'v4');
    assert.equal(await errorCode(put('cas-missing', 'x', { IfMatch: v1.ETag! })), '404 NoSuchKey');
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cas-missing' }))), '404 NotFound');
    const raw = await signedFetch(t.endpoint, { method: 'PUT', path: `/${B}/cas`, headers: { 'if-match': '"0000"' }, body: Buffer.from('x') });
    assert.match(await raw.text(), /<Condition>If-Match<\/Condition>/);
  });

  it('a refused large PUT leaves no body file and no row', async () => {
    await put('large', randomBytes(256 * 1024));
    const files = bodyFiles().length;
    const big = randomBytes(300 * 1024);
    assert.equal(await errorCode(put('large', big, { IfNoneMatch: '*' })), '412 PreconditionFailed');
    assert.equal(await errorCode(put('large', big, { IfMatch: '"0000"' })), '412 PreconditionFailed');
    assert.equal(await errorCode(put('large-missing', big, { IfMatch: '"0000"' })), '404 NoSuchKey');
    assert.equal(bodyFiles().length, files);
  });

  it('N racing If-None-Match: * PUTs of one key: exactly one succeeds and GET returns its body', async () => {
    for (const [round, size] of [[0, 100], [1, 200 * 1024]] as const) {
      const key = `race-${round}`;
      const bodies = Array.from({ length: 8 }, (_, i) => Buffer.concat([Buffer.from(`writer ${i} `), randomBytes(size)]));
      const filesBefore = bodyFiles().length;
      const results = await Promise.allSettled(bodies.map((b) => put(key, b, { IfNoneMatch: '*' })));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
      for (const r of results) {
        if (r.status === 'rejected') assert.match(await errorCode(Promise.reject(r.reason)), /^(412 PreconditionFailed|409 ConditionalRequestConflict)$/);
      }
      const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body!.transformToByteArray());
      assert.ok(got.equals(bodies[winners[0]!]!), `round ${round}: GET returns the winner's body`);
      // Only the winner's body file is kept (the small round is stored inline: none at all).
      assert.equal(bodyFiles().length, filesBefore + (size > 64 * 1024 ? 1 : 0), `round ${round}: the losers left no body file`);
    }
  });

  it('CopyObject If-None-Match / If-Match apply to the destination', async () => {
    await put('copy-src', 'source');
    await put('copy-dst', 'dest');
    const copy = (extra: { IfNoneMatch?: string; IfMatch?: string }, key = 'copy-dst') =>
      s3.send(new CopyObjectCommand({ Bucket: B, Key: key, CopySource: `${B}/copy-src`, ...extra }));
    assert.equal(await errorCode(copy({ IfNoneMatch: '*' })), '412 PreconditionFailed');
    assert.equal(await errorCode(copy({ IfMatch: '"0000"' })), '412 PreconditionFailed');
    assert.equal(await text('copy-dst'), 'dest');
    await copy({ IfNoneMatch: '*' }, 'copy-new');
    assert.equal(await text('copy-new'), 'source');
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'copy-dst' }));
    await copy({ IfMatch: ETag! });
    assert.equal(await text('copy-dst'), 'source');
  });

  it('CompleteMultipartUpload: a failed condition answers 412 and keeps the upload open for a retry', async () => {
    const upload = async (key: string): Promise<{ uploadId: string; parts: Array<{ PartNumber: number; ETag: string }> }> => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
      const part = await s3.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: 1, Body: `multipart ${key}` }));
      return { uploadId: UploadId!, parts: [{ PartNumber: 1, ETag: part.ETag! }] };
    };
    const complete = (key: string, u: { uploadId: string; parts: Array<{ PartNumber: number; ETag: string }> }, extra: { IfNoneMatch?: string; IfMatch?: string } = {}) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: key, UploadId: u.uploadId, MultipartUpload: { Parts: u.parts }, ...extra }));

    const { ETag } = await put('mp', 'before');
    const u = await upload('mp');
    assert.equal(await errorCode(complete('mp', u, { IfNoneMatch: '*' })), '412 PreconditionFailed');
    assert.equal(await errorCode(complete('mp', u, { IfMatch: '"0000"' })), '412 PreconditionFailed');
    assert.equal(await text('mp'), 'before');
    const parts = await s3.send(new ListPartsCommand({ Bucket: B, Key: 'mp', UploadId: u.uploadId }));
    assert.equal(parts.Parts?.length, 1, 'the upload is still open');
    await complete('mp', u, { IfMatch: ETag! });
    assert.equal(await text('mp'), 'multipart mp');

    const fresh = await upload('mp-new');
    assert.equal(await errorCode(complete('mp-new', fresh, { IfMatch: '"0000"' })), '404 NoSuchKey');
    await complete('mp-new', fresh, { IfNoneMatch: '*' });
    assert.equal(await text('mp-new'), 'multipart mp-new');
  });

  it('DeleteObject If-Match deletes only the object with that ETag (412 otherwise, 404 for none); If-None-Match is NotImplemented', async () => {
    const { ETag } = await put('del', 'keep me');
    const del = (extra: { IfMatch?: string }, key = 'del') => s3.send(new DeleteObjectCommand({ Bucket: B, Key: key, ...extra }));
    assert.equal(await errorCode(del({ IfMatch: '"0000"' })), '412 PreconditionFailed');
    assert.equal(await text('del'), 'keep me');
    assert.equal(await errorCode(del({ IfMatch: ETag! }, 'del-missing')), '404 NoSuchKey');
    const raw = await signedFetch(t.endpoint, { method: 'DELETE', path: `/${B}/del`, headers: { 'if-none-match': '*' } });
    assert.equal(raw.status, 501);
    assert.equal(await text('del'), 'keep me');
    const ok = await del({ IfMatch: ETag! });
    assert.equal(ok.$metadata.httpStatusCode, 204);
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'del' }))), '404 NotFound');
  });

  it('DeleteObjects: an <ETag> makes that key\'s delete conditional (PreconditionFailed entry, object kept)', async () => {
    const a = await put('batch-a', 'a');
    const b = await put('batch-b', 'b');
    const r = await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'batch-a', ETag: '"0000"' }, { Key: 'batch-b', ETag: b.ETag! }, { Key: 'batch-c' }] } }));
    assert.deepEqual(r.Errors?.map((e) => [e.Key, e.Code]), [['batch-a', 'PreconditionFailed']]);
    assert.deepEqual(r.Deleted?.map((d) => d.Key).sort(), ['batch-b', 'batch-c']);
    assert.equal(await text('batch-a'), 'a');
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'batch-b' }))), '404 NotFound');
    await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'batch-a', ETag: a.ETag! }] } }));
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'batch-a' }))), '404 NotFound');
  });

  it('a bucket policy can require conditional writes (s3:if-none-match, s3:if-match condition keys)', async () => {
    const bucket = 'cond-enforced';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const deny = (key: string) => ({ Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucket}/*`, Condition: { Null: { [key]: 'true' } } });
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ ...deny('s3:if-none-match'), Sid: 'create-only' }] }) }));
    const write = (extra: { IfNoneMatch?: string; IfMatch?: string }) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x', ...extra }));
    assert.equal(await errorCode(write({})), '403 AccessDenied');
    await write({ IfNoneMatch: '*' });
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [deny('s3:if-match')] }) }));
    assert.equal(await errorCode(write({})), '403 AccessDenied');
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
    await write({ IfMatch: ETag! });
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
  });

  it('If-Match also needs s3:GetObject on the target (its answer tells the ETag); If-None-Match needs only the write', async () => {
    const iam = async (params: Record<string, string>): Promise<unknown> => {
      const r = await queryRequest(t.endpoint, 'iam', params, undefined, t.clock.now());
      assert.equal(r.status, 200, r.text);
      return r.xml;
    };
    const writeOnly = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: `arn:aws:s3:::${B}/*` }] };
    await iam({ Action: 'CreateUser', UserName: 'writer' });
    await iam({ Action: 'PutUserPolicy', UserName: 'writer', PolicyName: 'p', PolicyDocument: JSON.stringify(writeOnly) });
    const path = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    const xml = await iam({ Action: 'CreateAccessKey', UserName: 'writer' });
    const writer = t.s3({ credentials: { accessKeyId: at(xml, ...path, 'AccessKeyId'), secretAccessKey: at(xml, ...path, 'SecretAccessKey') } });
    const { ETag } = await put('guarded', 'v1');
    const send = (extra: { IfNoneMatch?: string; IfMatch?: string }) => writer.send(new PutObjectCommand({ Bucket: B, Key: 'guarded', Body: 'v2', ...extra }));
    assert.equal(await errorCode(send({ IfMatch: ETag! })), '403 AccessDenied');
    assert.equal(await errorCode(writer.send(new DeleteObjectCommand({ Bucket: B, Key: 'guarded', IfMatch: ETag! }))), '403 AccessDenied');
    const batch = await writer.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'guarded', ETag: ETag! }] } }));
    assert.deepEqual(batch.Errors?.map((e) => e.Code), ['AccessDenied']);
    assert.equal(await text('guarded'), 'v1');
    assert.equal(await errorCode(send({ IfNoneMatch: '*' })), '412 PreconditionFailed');
    await send({});
    assert.equal(await text('guarded'), 'v2');
  });

  it('conditional reads answer 412 naming the failed header in <Condition> (GET, copy source, part copy source); HEAD has no body', async () => {
    await put('read-cond', 'body');
    const past = new Date(Date.now() - 3600_000).toUTCString();
    const future = new Date(Date.now() + 3600_000).toUTCString();
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'read-cond' }));
    const refused = async (method: string, path: string, headers: Record<string, string>, query: Record<string, string> = {}): Promise<string> => {
      const raw = await signedFetch(t.endpoint, { method, path, headers, query });
      const xml = await raw.text();
      assert.equal(raw.status, 412, xml);
      if (method === 'HEAD') return xml;
      assert.match(xml, /<Code>PreconditionFailed<\/Code>/);
      return /<Condition>([^<]*)<\/Condition>/.exec(xml)?.[1] ?? '(none)';
    };
    const get = (headers: Record<string, string>) => refused('GET', `/${B}/read-cond`, headers);
    assert.equal(await get({ 'if-match': '"0000"' }), 'If-Match');
    assert.equal(await get({ 'if-unmodified-since': past }), 'If-Unmodified-Since');
    assert.equal(await get({ 'if-match': '"0000"', 'if-none-match': ETag! }), 'If-Match', 'If-Match goes first');
    assert.equal(await refused('HEAD', `/${B}/read-cond`, { 'if-match': '"0000"' }), '', 'HEAD sends no body');
    const src = { 'x-amz-copy-source': `/${B}/read-cond` };
    const copy = (headers: Record<string, string>) => refused('PUT', `/${B}/read-cond-copy`, { ...src, ...headers });
    assert.equal(await copy({ 'x-amz-copy-source-if-match': '"0000"' }), 'x-amz-copy-source-If-Match');
    assert.equal(await copy({ 'x-amz-copy-source-if-unmodified-since': past }), 'x-amz-copy-source-If-Unmodified-Since');
    assert.equal(await copy({ 'x-amz-copy-source-if-none-match': ETag! }), 'x-amz-copy-source-If-None-Match');
    assert.equal(await copy({ 'x-amz-copy-source-if-modified-since': future }), 'x-amz-copy-source-If-Modified-Since');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'read-cond-mp' }));
    const partCopy = (headers: Record<string, string>) => refused('PUT', `/${B}/read-cond-mp`, { ...src, ...headers }, { partNumber: '1', uploadId: UploadId! });
    assert.equal(await partCopy({ 'x-amz-copy-source-if-match': '"0000"' }), 'x-amz-copy-source-If-Match');
    assert.equal(await partCopy({ 'x-amz-copy-source-if-none-match': ETag! }), 'x-amz-copy-source-If-None-Match');
    assert.equal(await errorCode(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'read-cond-copy' }))), '404 NotFound', 'no refused copy wrote');
  });

  it('refusals are audited with errorCode PreconditionFailed', async () => {
    await put('audited', 'x');
    assert.equal(await errorCode(put('audited', 'y', { IfNoneMatch: '*' })), '412 PreconditionFailed');
    const events = (await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'PutObject', errorsOnly: true, limit: 50 })).records.map((r) => r.event);
    assert.ok(events.some((e) => e.errorCode === 'PreconditionFailed'), JSON.stringify(events.map((e) => e.errorCode)));
  });
});
