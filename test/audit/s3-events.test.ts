import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { rmSync } from 'node:fs';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { indexTermsOf, type AuditEvent } from '../../src/audit/index.js';
import { runAuditLookup } from '../../src/cli/commands/audit-lookup.js';
import { capture } from '../helpers/cli-capture.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { presignedUrl } from '../s3/raw-sign.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { at, queryRequest } from '../iam/query-client.js';

const LOOKUP_EVENTS = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents';

/** Every record whose lookup terms name `bucket`, newest first (what `audit lookup --bucket` runs). */
async function byBucket(t: TestServer, bucket: string): Promise<AuditEvent[]> {
  await t.server.audit.flush();
  return (await t.server.auditStore.lookup({ bucket, limit: 1000 })).records.map((r) => r.event);
}

function one(events: AuditEvent[], eventName: string): AuditEvent {
  const found = events.filter((e) => e.eventName === eventName);
  assert.equal(found.length, 1, `one ${eventName} in ${events.map((e) => e.eventName).join(',')}`);
  return found[0]!;
}

describe('S3 audit records in CloudTrail shape (issue 5)', () => {
  let t: TestServer;
  let s3: S3Client;
  let host: string;
  let account: string;
  let stopped = false;
  const customerKey = randomBytes(32);
  const customerKeyMd5 = createHash('md5').update(customerKey).digest('base64');

  before(async () => {
    // SSE-C needs HTTPS: the test's plain-HTTP requests claim it through a trusted proxy header.
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = t.s3();
    host = new URL(t.endpoint).host;
    account = t.server.config.accountId;
    await s3.send(new CreateBucketCommand({ Bucket: 'audited' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'other' }));
    await s3.send(new PutObjectCommand({ Bucket: 'audited', Key: 'dir/a b.txt', Body: 'hello' }));
    await s3.send(new PutObjectCommand({ Bucket: 'other', Key: 'x', Body: 'other' }));
    await (await s3.send(new GetObjectCommand({ Bucket: 'audited', Key: 'dir/a b.txt' }))).Body!.transformToByteArray();
    await s3.send(new ListObjectsV2Command({ Bucket: 'audited', Prefix: 'dir/', Delimiter: '/', MaxKeys: 10 }));
    await s3.send(new DeleteObjectsCommand({ Bucket: 'other', Delete: { Objects: [{ Key: 'x' }] } }));
    // Answered or not (no default encryption set), the call is recorded.
    await s3.send(new GetBucketEncryptionCommand({ Bucket: 'audited' })).catch(() => undefined);
  });

  after(async () => {
    if (!stopped) await t.close();
    else rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('PutObject: bucketName, Host and key; the object, then the bucket, as resources; a data write', async () => {
    const e = one(await byBucket(t, 'audited'), 'PutObject');
    assert.deepEqual(e.requestParameters, { Host: host, bucketName: 'audited', key: 'dir/a b.txt' });
    assert.deepEqual(e.resources, [
      { ARN: 'arn:aws:s3:::audited/dir/a b.txt', type: 'AWS::S3::Object' },
      { ARN: 'arn:aws:s3:::audited', accountId: account, type: 'AWS::S3::Bucket' },
    ]);
    assert.equal(e.eventCategory, 'Data');
    assert.equal(e.managementEvent, false);
    assert.equal(e.readOnly, false);
    assert.equal(e.eventSource, 's3.amazonaws.com');
  });

  it('GetObject: the same parameters and resources; a data read', async () => {
    const e = one(await byBucket(t, 'audited'), 'GetObject');
    assert.deepEqual(e.requestParameters, { Host: host, bucketName: 'audited', key: 'dir/a b.txt' });
    assert.deepEqual(e.resources?.map((r) => r.ARN), ['arn:aws:s3:::audited/dir/a b.txt', 'arn:aws:s3:::audited']);
    assert.equal(e.eventCategory, 'Data');
    assert.equal(e.readOnly, true);
  });

  it('ListObjectsV2: the listing parameters from the query, the bucket as the one resource; a data read', async () => {
    const e = one(await byBucket(t, 'audited'), 'ListObjects');
    const p = e.requestParameters!;
    assert.equal(p['Host'], host);
    assert.equal(p['bucketName'], 'audited');
    assert.equal(p['list-type'], '2');
    assert.equal(p['prefix'], 'dir/');
    assert.equal(p['delimiter'], '/');
    assert.equal(p['max-keys'], '10');
    assert.equal(p['key'], undefined);
    assert.equal(p['x-id'], undefined, 'the SDK operation marker is not a parameter');
    assert.deepEqual(e.resources, [{ ARN: 'arn:aws:s3:::audited', accountId: account, type: 'AWS::S3::Bucket' }]);
    assert.equal(e.eventCategory, 'Data');
  });

  it('CreateBucket and GetBucketEncryption: bucket-only resources; management events; the sub-resource as an empty field', async () => {
    const events = await byBucket(t, 'audited');
    const created = one(events, 'CreateBucket');
    assert.deepEqual(created.requestParameters, { Host: host, bucketName: 'audited' });
    assert.deepEqual(created.resources, [{ ARN: 'arn:aws:s3:::audited', accountId: account, type: 'AWS::S3::Bucket' }]);
    assert.equal(created.eventCategory, 'Management');
    assert.equal(created.managementEvent, true);
    const encryption = one(events, 'GetBucketEncryption');
    assert.deepEqual(encryption.requestParameters, { Host: host, bucketName: 'audited', encryption: '' });
    assert.equal(encryption.eventCategory, 'Management');
  });

  it('DeleteObjects: the delete sub-resource and the bucket; a data write', async () => {
    const e = one(await byBucket(t, 'other'), 'DeleteObjects');
    assert.deepEqual(e.requestParameters, { Host: host, bucketName: 'other', delete: '' });
    assert.deepEqual(e.resources, [{ ARN: 'arn:aws:s3:::other', accountId: account, type: 'AWS::S3::Bucket' }]);
    assert.equal(e.eventCategory, 'Data');
    assert.equal(e.readOnly, false);
  });

  it('lookup by bucket finds that bucket\'s S3 events and none of another bucket', async () => {
    const audited = await byBucket(t, 'audited');
    assert.deepEqual(audited.map((e) => e.eventName).sort(), ['CreateBucket', 'GetBucketEncryption', 'GetObject', 'ListObjects', 'PutObject']);
    const other = await byBucket(t, 'other');
    assert.deepEqual(other.map((e) => e.eventName).sort(), ['CreateBucket', 'DeleteObjects', 'PutObject']);
    for (const e of other) assert.equal((e.requestParameters as { bucketName?: string }).bucketName, 'other');
  });

  it('CloudTrail LookupEvents by ResourceName (the bucket) finds its S3 events, with their resources', async () => {
    const res = await rawKmsRequest(t.endpoint, {
      target: LOOKUP_EVENTS,
      service: 'cloudtrail',
      body: JSON.stringify({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'other' }] }),
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const events = res.json['Events'] as { EventName: string; Resources: { ResourceType: string; ResourceName: string }[] }[];
    assert.deepEqual(events.map((e) => e.EventName).sort(), ['CreateBucket', 'DeleteObjects', 'PutObject']);
    const put = events.find((e) => e.EventName === 'PutObject')!;
    assert.deepEqual(put.Resources, [
      { ResourceType: 'AWS::S3::Object', ResourceName: 'arn:aws:s3:::other/x' },
      { ResourceType: 'AWS::S3::Bucket', ResourceName: 'arn:aws:s3:::other' },
    ]);
  });

  it('a denied PUT is recorded with its bucket, key and resources and the AccessDenied error', async () => {
    const iam = async (params: Record<string, string>): Promise<unknown> => {
      const r = await queryRequest(t.endpoint, 'iam', params, undefined, t.clock.now());
      assert.equal(r.status, 200, r.text);
      return r.xml;
    };
    await iam({ Action: 'CreateUser', UserName: 'nobody' });
    const path = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    const xml = await iam({ Action: 'CreateAccessKey', UserName: 'nobody' });
    const nobody = t.s3({ credentials: { accessKeyId: at(xml, ...path, 'AccessKeyId'), secretAccessKey: at(xml, ...path, 'SecretAccessKey') } });
    await assert.rejects(nobody.send(new PutObjectCommand({ Bucket: 'denied', Key: 'k', Body: 'no' })), { name: 'AccessDenied' });
    const events = await byBucket(t, 'denied');
    const e = one(events, 'PutObject');
    assert.equal(e.errorCode, 'AccessDenied');
    assert.equal(e.userIdentity.userName, 'nobody');
    assert.deepEqual(e.requestParameters, { Host: host, bucketName: 'denied', key: 'k' });
    assert.deepEqual(e.resources?.map((r) => r.ARN), ['arn:aws:s3:::denied/k', 'arn:aws:s3:::denied']);
  });

  it('a presigned GET records its response override, not its X-Amz-* signature parameters', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'presigned' }));
    await s3.send(new PutObjectCommand({ Bucket: 'presigned', Key: 'p', Body: 'presigned body' }));
    const url = await presignedUrl(t.endpoint, { method: 'GET', path: '/presigned/p', query: { 'response-content-type': 'text/plain' } }, 300, t.clock.now());
    assert.match(url, /X-Amz-Signature=/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'presigned body');
    const e = one(await byBucket(t, 'presigned'), 'GetObject');
    assert.deepEqual(e.requestParameters, { Host: host, bucketName: 'presigned', key: 'p', 'response-content-type': 'text/plain' });
    // An SSE-C key hoisted into the query (as some presigners do) is an x-amz-* parameter: never recorded, whatever the answer.
    const hoisted = { 'x-amz-server-side-encryption-customer-key': customerKey.toString('base64'), 'x-amz-server-side-encryption-customer-key-MD5': customerKeyMd5 };
    await (await fetch(await presignedUrl(t.endpoint, { method: 'GET', path: '/presigned/hoisted', query: hoisted }, 300, t.clock.now()))).arrayBuffer();
    const hoistedEvent = (await byBucket(t, 'presigned')).find((r) => (r.requestParameters as { key?: string }).key === 'hoisted');
    assert.deepEqual(hoistedEvent?.requestParameters, { Host: host, bucketName: 'presigned', key: 'hoisted' });
  });

  it('multipart: CreateMultipartUpload records the uploads sub-resource, UploadPart its partNumber and uploadId', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'parts' }));
    const uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'parts', Key: 'big' }))).UploadId!;
    await s3.send(new UploadPartCommand({ Bucket: 'parts', Key: 'big', UploadId: uploadId, PartNumber: 1, Body: 'part one' }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'parts', Key: 'big', UploadId: uploadId }));
    const events = await byBucket(t, 'parts');
    assert.deepEqual(one(events, 'CreateMultipartUpload').requestParameters, { Host: host, bucketName: 'parts', key: 'big', uploads: '' });
    const part = one(events, 'UploadPart');
    assert.deepEqual(part.requestParameters, { Host: host, bucketName: 'parts', key: 'big', partNumber: '1', uploadId });
    assert.equal(part.eventCategory, 'Data');
    assert.deepEqual(one(events, 'AbortMultipartUpload').requestParameters, { Host: host, bucketName: 'parts', key: 'big', uploadId });
  });

  it('an SSE-C PUT\'s record holds neither the customer key nor its MD5', async () => {
    const s3s = t.s3();
    s3s.middlewareStack.add((next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-forwarded-proto'] = 'https';
      return next(args);
    }, { step: 'build' });
    await s3.send(new CreateBucketCommand({ Bucket: 'ssec' }));
    await s3s.send(new PutObjectCommand({ Bucket: 'ssec', Key: 'o', Body: 'secret body', SSECustomerAlgorithm: 'AES256', SSECustomerKey: customerKey.toString('base64'), SSECustomerKeyMD5: customerKeyMd5 }));
    const e = one(await byBucket(t, 'ssec'), 'PutObject');
    assert.equal(e.errorCode, undefined);
    assert.deepEqual(e.requestParameters, { Host: host, bucketName: 'ssec', key: 'o' });
    const text = JSON.stringify(e);
    for (const secret of [customerKey.toString('base64'), customerKey.toString('hex'), customerKeyMd5, 'secret body']) assert.equal(text.includes(secret), false);
    assert.equal(/customer-?key/i.test(text), false);
  });

  it('keys are recorded decoded, as the handler addressed them, path-style and virtual-hosted alike', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'keys' }));
    const pathKey = 'dir/q?x=1&y=%41+plus ü€/😀 end';
    await s3.send(new PutObjectCommand({ Bucket: 'keys', Key: pathKey, Body: 'p' }));
    // *.localhost does not resolve here: an agent that sends every name to 127.0.0.1.
    const lookup = (_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void): void =>
      opts.all === true ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
    const port = new URL(t.endpoint).port;
    const vhost = t.s3({ endpoint: `http://localhost:${port}`, forcePathStyle: false, requestHandler: { httpAgent: new Agent({ lookup: lookup as never }) } });
    const hostKey = 'vh/%2F?#ü';
    await vhost.send(new PutObjectCommand({ Bucket: 'keys', Key: hostKey, Body: 'v' }));
    const puts = (await byBucket(t, 'keys')).filter((e) => e.eventName === 'PutObject');
    const byKey = (key: string): AuditEvent | undefined => puts.find((e) => (e.requestParameters as { key?: string }).key === key);
    assert.deepEqual(byKey(pathKey)?.requestParameters, { Host: host, bucketName: 'keys', key: pathKey });
    assert.deepEqual(byKey(pathKey)?.resources?.map((r) => r.ARN), [`arn:aws:s3:::keys/${pathKey}`, 'arn:aws:s3:::keys']);
    assert.deepEqual(byKey(hostKey)?.requestParameters, { Host: `keys.localhost:${port}`, bucketName: 'keys', key: hostKey });
    assert.deepEqual(byKey(hostKey)?.resources?.map((r) => r.ARN), [`arn:aws:s3:::keys/${hostKey}`, 'arn:aws:s3:::keys']);
    assert.equal(puts.length, 2);
  });

  it('query parameters cannot forge the addressed key or bucket, nor add a bucket or key the lookups would find', async () => {
    const keyId = randomUUID();
    const forged = `BucketName=victim&bucket_name=victim&KeyId=${keyId}&kms-key-id=${keyId}&key=forged&Host=evil&prefix=p`;
    // Unsigned (anonymous): refused, and recorded all the same.
    await (await fetch(`${t.endpoint}/forged-target?${forged}`)).arrayBuffer();
    await (await fetch(`${t.endpoint}/?${forged}`)).arrayBuffer();
    const e = one(await byBucket(t, 'forged-target'), 'ListObjects');
    assert.deepEqual(e.requestParameters, { Host: host, bucketName: 'forged-target', prefix: 'p' });
    const listBuckets = (await t.server.auditStore.lookup({ eventName: 'ListBuckets', limit: 1000 })).records.map((r) => r.event);
    const anonymous = listBuckets.filter((r) => r.userIdentity.type === 'Unknown');
    assert.equal(anonymous.length, 1);
    assert.deepEqual(anonymous[0]!.requestParameters, { Host: host, prefix: 'p' });
    assert.equal(anonymous[0]!.resources, undefined);
    assert.deepEqual(await byBucket(t, 'victim'), []);
    assert.deepEqual((await t.server.auditStore.lookup({ keyId, limit: 1000 })).records, []);
  });

  // Last: it stops the server (the CLI reads the data directory of a stopped one).
  it('cipherlake audit lookup --bucket finds that bucket\'s S3 events', async () => {
    await t.stop();
    stopped = true;
    const r = await capture((io) => runAuditLookup({ dataDir: t.dataDir, bucket: 'other', output: 'json', max: '100' }, io));
    assert.equal(r.code, 0, r.err.join('\n'));
    const events = r.out.map((l) => JSON.parse(l) as AuditEvent);
    assert.deepEqual(events.map((e) => e.eventName).sort(), ['CreateBucket', 'DeleteObjects', 'PutObject']);
  });
});

describe('lookup terms of S3 resource ARNs', () => {
  const event = (resources: { ARN: string; type: string }[]): AuditEvent => ({ userIdentity: { type: 'Unknown' }, resources }) as unknown as AuditEvent;

  it('an object ARN and a bucket ARN give the bucket term once; other partitions too; an empty bucket none', () => {
    assert.deepEqual(indexTermsOf(event([{ ARN: 'arn:aws:s3:::b1/k/x', type: 'AWS::S3::Object' }, { ARN: 'arn:aws:s3:::b1', type: 'AWS::S3::Bucket' }])), [{ kind: 'bucket', value: 'b1' }]);
    assert.deepEqual(indexTermsOf(event([{ ARN: 'arn:aws-cn:s3:::b2/k', type: 'AWS::S3::Object' }])), [{ kind: 'bucket', value: 'b2' }]);
    assert.deepEqual(indexTermsOf(event([{ ARN: 'arn:aws:s3:::/k', type: 'AWS::S3::Object' }, { ARN: 'arn:aws:s3:::', type: 'AWS::S3::Bucket' }])), []);
  });
});
