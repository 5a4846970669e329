import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeletePublicAccessBlockCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  GetPublicAccessBlockCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { SqliteS3MetadataStore } from '../../src/store/sqlite/s3-metadata-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sdkOutcome as outcome } from '../helpers/sdk-outcome.js';
import { at, queryRequest, type QueryCredentials } from './query-client.js';

const VPCE = 'vpce-0a1b2c3d4e5f60718';
type Json = Record<string, unknown>;

const policy = (...statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });

describe('S3 access control: identity and bucket policies, channel conditions, KMS on behalf, anonymous access', () => {
  let t: TestServer;
  let root: S3Client;
  let caPem: string;

  async function iam(params: Record<string, string>): Promise<Json> {
    const r = await queryRequest(t.endpoint, 'iam', params, undefined, t.clock.now());
    assert.equal(r.status, 200, r.text);
    return r.xml;
  }

  async function newUser(name: string, identityPolicy?: object): Promise<QueryCredentials> {
    await iam({ Action: 'CreateUser', UserName: name });
    if (identityPolicy !== undefined) await iam({ Action: 'PutUserPolicy', UserName: name, PolicyName: 'p', PolicyDocument: JSON.stringify(identityPolicy) });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: name });
    const key = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    return { accessKeyId: at(xml, ...key, 'AccessKeyId'), secretAccessKey: at(xml, ...key, 'SecretAccessKey') };
  }

  const put = (c: S3Client, Bucket: string, Key: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}): Promise<unknown> =>
    c.send(new PutObjectCommand({ Bucket, Key, Body: `body of ${Key}`, ...extra }));
  const get = async (c: S3Client, Bucket: string, Key: string): Promise<string> =>
    (await c.send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString() ?? '';

  before(async () => {
    t = await startTestServer({
      https: { enabled: true, host: '127.0.0.1', port: 0 },
      endpoints: [{ id: VPCE, host: '127.0.0.2', port: 0, tls: false }],
    });
    caPem = readFileSync(join(t.dataDir, 'tls', 'ca', 'ca.crt'), 'utf8');
    root = t.s3();
  });
  after(async () => {
    await t.close();
  });

  it('a bucket policy denying PutObject unless s3:x-amz-server-side-encryption is aws:kms refuses a plain PUT and accepts SSE-KMS', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'kms-only' }));
    const text = policy({
      Sid: 'RequireKms', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::kms-only/*',
      Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
    });
    await root.send(new PutBucketPolicyCommand({ Bucket: 'kms-only', Policy: text }));
    assert.equal((await root.send(new GetBucketPolicyCommand({ Bucket: 'kms-only' }))).Policy, text);
    assert.equal((await root.send(new GetBucketPolicyStatusCommand({ Bucket: 'kms-only' }))).PolicyStatus?.IsPublic, false);
    assert.equal(await outcome(put(root, 'kms-only', 'plain')), '403 AccessDenied');
    assert.equal(await outcome(put(root, 'kms-only', 'sse-s3', { ServerSideEncryption: 'AES256' })), '403 AccessDenied');
    assert.equal(await outcome(put(root, 'kms-only', 'kms', { ServerSideEncryption: 'aws:kms' })), 'ok');
    assert.equal(await get(root, 'kms-only', 'kms'), 'body of kms');
    await root.send(new DeleteBucketPolicyCommand({ Bucket: 'kms-only' }));
    assert.equal(await outcome(root.send(new GetBucketPolicyCommand({ Bucket: 'kms-only' }))), '404 NoSuchBucketPolicy');
    assert.equal(await outcome(put(root, 'kms-only', 'plain')), 'ok');
  });

  it('refuses malformed bucket policies with MalformedPolicy', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'malformed' }));
    const bad = [
      'not json',
      policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::malformed/*' }), // no Principal
      policy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::other-bucket/*' }),
      policy({ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: 'arn:aws:s3:::malformed/*' }),
    ];
    for (const Policy of bad) {
      assert.equal(await outcome(root.send(new PutBucketPolicyCommand({ Bucket: 'malformed', Policy }))), '400 MalformedPolicy', Policy);
    }
  });

  it('a policy denying aws:SecureTransport=false refuses HTTP and allows HTTPS (TLS 1.2 or later)', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'tls-only' }));
    await root.send(new PutBucketPolicyCommand({
      Bucket: 'tls-only',
      Policy: policy(
        { Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::tls-only', 'arn:aws:s3:::tls-only/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        { Sid: 'ModernTls', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::tls-only/*', Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } } },
      ),
    }));
    assert.equal(await outcome(put(root, 'tls-only', 'x')), '403 AccessDenied');
    assert.equal(await outcome(root.send(new ListObjectsV2Command({ Bucket: 'tls-only' }))), '403 AccessDenied');
    assert.ok(t.httpsEndpoint !== undefined);
    const secure = t.s3({ endpoint: t.httpsEndpoint, requestHandler: { httpsAgent: new HttpsAgent({ ca: caPem }) } });
    assert.equal(await outcome(put(secure, 'tls-only', 'x')), 'ok');
    assert.equal(await get(secure, 'tls-only', 'x'), 'body of x');
    assert.equal(await outcome(get(root, 'tls-only', 'x')), '403 AccessDenied');
  });

  it('a bucket policy keyed on aws:SourceVpce allows through the private endpoint and refuses elsewhere', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'vpce-only' }));
    await root.send(new PutBucketPolicyCommand({
      Bucket: 'vpce-only',
      Policy: policy({ Sid: 'ThroughEndpoint', Effect: 'Deny', Principal: '*', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::vpce-only/*', Condition: { StringNotEquals: { 'aws:SourceVpce': VPCE } } }),
    }));
    const viaEndpoint = t.endpoints[VPCE];
    assert.ok(viaEndpoint !== undefined);
    const private_ = t.s3({ endpoint: viaEndpoint });
    assert.equal(await outcome(put(private_, 'vpce-only', 'x')), 'ok');
    assert.equal(await get(private_, 'vpce-only', 'x'), 'body of x');
    assert.equal(await outcome(put(root, 'vpce-only', 'y')), '403 AccessDenied');
    assert.equal(await outcome(get(root, 'vpce-only', 'x')), '403 AccessDenied');
  });

  it('a user allowed s3:GetObject but not kms:Decrypt cannot read an SSE-KMS object; SSE-S3 objects still read', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'mixed' }));
    const keyId = (await t.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? '';
    await put(root, 'mixed', 'kms', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId });
    await put(root, 'mixed', 's3', { ServerSideEncryption: 'AES256' });
    const s3Only = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::mixed/*' }] };
    const reader = t.s3({ credentials: await newUser('reader', s3Only) });
    assert.equal(await get(reader, 'mixed', 's3'), 'body of s3');
    assert.equal(await outcome(get(reader, 'mixed', 'kms')), '403 AccessDenied');
    // A bucket key root has just opened (cached) is not lent to the reader.
    await put(root, 'mixed', 'bucket-key', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: true });
    assert.equal(await get(root, 'mixed', 'bucket-key'), 'body of bucket-key');
    assert.equal(await outcome(get(reader, 'mixed', 'bucket-key')), '403 AccessDenied');
    // Writing under the customer key needs kms:GenerateDataKey too.
    assert.equal(await outcome(put(reader, 'mixed', 'kms2', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId })), '403 AccessDenied');
    // SSE-KMS under alias/aws/s3: its key policy allows everyone in the account through S3 (kms:ViaService).
    assert.equal(await outcome(put(reader, 'mixed', 'managed', { ServerSideEncryption: 'aws:kms' })), 'ok');
    assert.equal(await get(reader, 'mixed', 'managed'), 'body of managed');
    // kms:Decrypt on the key, only via S3: now the read works.
    const withKms = { Version: '2012-10-17', Statement: [...s3Only.Statement, { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } } }] };
    await iam({ Action: 'PutUserPolicy', UserName: 'reader', PolicyName: 'p', PolicyDocument: JSON.stringify(withKms) });
    assert.equal(await get(reader, 'mixed', 'kms'), 'body of kms');
    // Both KMS calls made for the reader are audited as KMS events invoked by S3.
    const events = (await t.server.auditStore.lookup({ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', limit: 20 })).records.map((r) => r.event);
    const mine = events.filter((e) => e.userIdentity.arn === 'arn:aws:iam::000000000000:user/reader');
    assert.ok(mine.some((e) => e.userIdentity.invokedBy === 's3.amazonaws.com' && e.errorCode === 'AccessDeniedException'), 'the refused Decrypt is recorded');
    assert.ok(mine.some((e) => e.userIdentity.invokedBy === 's3.amazonaws.com' && e.errorCode === undefined), 'the allowed Decrypt is recorded');
    const s3Denied = (await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'GetObject', errorsOnly: true, limit: 20 })).records;
    assert.ok(s3Denied.some((r) => r.event.errorCode === 'AccessDenied' && r.event.userIdentity.arn === 'arn:aws:iam::000000000000:user/reader'));
  });

  it('an IAM user without any policy is refused everything; DeleteObjects is decided per key', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'private' }));
    await put(root, 'private', 'a/1');
    await put(root, 'private', 'b/1');
    const nobody = t.s3({ credentials: await newUser('nobody') });
    assert.equal(await outcome(get(nobody, 'private', 'a/1')), '403 AccessDenied');
    assert.equal(await outcome(put(nobody, 'private', 'a/2')), '403 AccessDenied');
    assert.equal(await outcome(nobody.send(new ListObjectsV2Command({ Bucket: 'private' }))), '403 AccessDenied');
    const cleaner = t.s3({ credentials: await newUser('cleaner', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::private/a/*' }] }) });
    const r = await cleaner.send(new DeleteObjectsCommand({ Bucket: 'private', Delete: { Objects: [{ Key: 'a/1' }, { Key: 'b/1' }] } }));
    assert.deepEqual(r.Deleted?.map((d) => d.Key), ['a/1']);
    assert.deepEqual(r.Errors?.map((e) => [e.Key, e.Code]), [['b/1', 'AccessDenied']]);
  });

  it('S3 asks s3:PutObjectTagging of a write that sets tags and the Version actions of a request naming a version', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'fine-grained' }));
    const writer = t.s3({ credentials: await newUser('plain-writer', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'], Resource: 'arn:aws:s3:::fine-grained/*' }] }) });
    assert.equal(await outcome(put(writer, 'fine-grained', 'untagged')), 'ok');
    assert.equal(await outcome(put(writer, 'fine-grained', 'tagged', { Tagging: 'team=ml' })), '403 AccessDenied');
    assert.equal(await outcome(writer.send(new CreateMultipartUploadCommand({ Bucket: 'fine-grained', Key: 'mpu-tagged', Tagging: 'team=ml' }))), '403 AccessDenied');
    assert.equal(await outcome(writer.send(new CreateMultipartUploadCommand({ Bucket: 'fine-grained', Key: 'mpu-plain' }))), 'ok');
    assert.equal(await outcome(writer.send(new CopyObjectCommand({ Bucket: 'fine-grained', Key: 'copy-tagged', CopySource: 'fine-grained/untagged', TaggingDirective: 'REPLACE', Tagging: 'team=ml' }))), '403 AccessDenied');
    // A directive the route does not know (it reads REPLACE exactly) is its InvalidArgument, not a tagging denial.
    assert.equal(await outcome(writer.send(new CopyObjectCommand({ Bucket: 'fine-grained', Key: 'copy-tagged', CopySource: 'fine-grained/untagged', TaggingDirective: 'replace' as 'REPLACE', Tagging: 'team=ml' }))), '400 InvalidArgument');
    assert.equal(await outcome(writer.send(new CopyObjectCommand({ Bucket: 'fine-grained', Key: 'copy', CopySource: 'fine-grained/untagged' }))), 'ok');
    assert.equal(await outcome(writer.send(new GetObjectCommand({ Bucket: 'fine-grained', Key: 'untagged', VersionId: 'null' }))), '403 AccessDenied');
    assert.equal(await outcome(writer.send(new DeleteObjectCommand({ Bucket: 'fine-grained', Key: 'untagged', VersionId: 'null' }))), '403 AccessDenied');
    const versioned = await writer.send(new DeleteObjectsCommand({ Bucket: 'fine-grained', Delete: { Objects: [{ Key: 'untagged', VersionId: 'null' }, { Key: 'copy' }] } }));
    assert.deepEqual(versioned.Errors?.map((e) => [e.Key, e.Code]), [['untagged', 'AccessDenied']]);
    assert.deepEqual(versioned.Deleted?.map((d) => d.Key), ['copy']);
    assert.equal(await get(writer, 'fine-grained', 'untagged'), 'body of untagged', 'the refused version delete kept the object');

    const tagger = t.s3({ credentials: await newUser('tagging-writer', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:PutObjectTagging', 's3:GetObjectVersion', 's3:DeleteObjectVersion'], Resource: 'arn:aws:s3:::fine-grained/*' }] }) });
    assert.equal(await outcome(put(tagger, 'fine-grained', 'tagged', { Tagging: 'team=ml' })), 'ok');
    assert.equal((await tagger.send(new GetObjectCommand({ Bucket: 'fine-grained', Key: 'tagged', VersionId: 'null' }))).TagCount, 1);
    assert.equal(await outcome(tagger.send(new GetObjectCommand({ Bucket: 'fine-grained', Key: 'tagged' }))), '403 AccessDenied', 's3:GetObjectVersion is not s3:GetObject');
    assert.equal(await outcome(tagger.send(new DeleteObjectCommand({ Bucket: 'fine-grained', Key: 'tagged', VersionId: 'null' }))), 'ok');
    assert.equal(await outcome(root.send(new GetObjectCommand({ Bucket: 'fine-grained', Key: 'tagged' }))), '404 NoSuchKey');
  });

  it('a CopyObject keeping a tagged source\'s tags (directive COPY, the default) also asks s3:GetObjectTagging on the source and s3:PutObjectTagging on the target', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'copy-tags' }));
    await put(root, 'copy-tags', 'src/tagged', { Tagging: 'team=ml' });
    await put(root, 'copy-tags', 'src/plain');
    const copy = (c: S3Client, CopySource: string, Key: string, extra: Partial<ConstructorParameters<typeof CopyObjectCommand>[0]> = {}): Promise<string> =>
      outcome(c.send(new CopyObjectCommand({ Bucket: 'copy-tags', Key, CopySource, ...extra })));
    const copier = t.s3({ credentials: await newUser('plain-copier', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: 'arn:aws:s3:::copy-tags/*' }] }) });
    assert.equal(await copy(copier, 'copy-tags/src/tagged', 'dst/denied'), '403 AccessDenied');
    assert.equal(await copy(copier, 'copy-tags/src/tagged', 'dst/denied-copy', { TaggingDirective: 'COPY' }), '403 AccessDenied');
    assert.equal(await outcome(root.send(new GetObjectCommand({ Bucket: 'copy-tags', Key: 'dst/denied' }))), '404 NoSuchKey', 'the refused copy wrote nothing');
    assert.equal(await copy(copier, 'copy-tags/src/plain', 'dst/plain'), 'ok', 'an untagged source asks no tagging action');
    assert.equal(await copy(copier, 'copy-tags/src/tagged', 'dst/replaced', { TaggingDirective: 'REPLACE' }), 'ok', 'REPLACE without tags carries none');
    assert.deepEqual((await root.send(new GetObjectTaggingCommand({ Bucket: 'copy-tags', Key: 'dst/replaced' }))).TagSet, []);
    assert.equal(await copy(copier, 'copy-tags/src/missing', 'dst/missing'), '404 NoSuchKey');

    const halfTagger = t.s3({ credentials: await newUser('half-tagger', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:GetObjectTagging'], Resource: 'arn:aws:s3:::copy-tags/*' }] }) });
    assert.equal(await copy(halfTagger, 'copy-tags/src/tagged', 'dst/half'), '403 AccessDenied', 's3:PutObjectTagging on the target is needed too');
    const tagCopier = t.s3({ credentials: await newUser('tag-copier', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:GetObjectTagging', 's3:PutObjectTagging'], Resource: 'arn:aws:s3:::copy-tags/*' }] }) });
    assert.equal(await copy(tagCopier, 'copy-tags/src/tagged', 'dst/tagged'), 'ok');
    assert.deepEqual((await root.send(new GetObjectTaggingCommand({ Bucket: 'copy-tags', Key: 'dst/tagged' }))).TagSet, [{ Key: 'team', Value: 'ml' }]);
  });

  it('a CopyObject decides the tag permissions on the tags it copies: tags added to the source after the authorization point are not copied unchecked', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'copy-tag-race' }));
    await put(root, 'copy-tag-race', 'src/race');
    const copier = t.s3({ credentials: await newUser('race-copier', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: 'arn:aws:s3:::copy-tag-race/*' }] }) });
    // The race, made certain: the authorization point's look at the source (getObjectHead)
    // finds it untagged, and the source is tagged right after that look, before the copy reads it.
    const proto = SqliteS3MetadataStore.prototype;
    const original = proto.getObjectHead;
    let raced = false;
    proto.getObjectHead = async function (this: SqliteS3MetadataStore, bucket: string, key: string) {
      const head = await original.call(this, bucket, key);
      if (bucket === 'copy-tag-race' && key === 'src/race' && !raced) {
        raced = true;
        await root.send(new PutObjectTaggingCommand({ Bucket: 'copy-tag-race', Key: 'src/race', Tagging: { TagSet: [{ Key: 'secret', Value: 'label' }] } }));
      }
      return head;
    };
    try {
      assert.equal(await outcome(copier.send(new CopyObjectCommand({ Bucket: 'copy-tag-race', Key: 'dst/raced', CopySource: 'copy-tag-race/src/race' }))), '403 AccessDenied');
    } finally {
      proto.getObjectHead = original;
    }
    assert.ok(raced, 'the authorization point looked at the source');
    assert.equal(await outcome(root.send(new GetObjectCommand({ Bucket: 'copy-tag-race', Key: 'dst/raced' }))), '404 NoSuchKey', 'the refused copy wrote nothing');
  });

  it('public-read bucket policy lets anonymous GETs through; BlockPublicPolicy and RestrictPublicBuckets close it', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'public' }));
    await put(root, 'public', 'page.html');
    const anonymous = (key: string, method = 'GET'): Promise<number> => fetch(`${t.endpoint}/public/${key}`, { method, ...(method === 'PUT' ? { body: 'x' } : {}) }).then(async (r) => (await r.arrayBuffer(), r.status));
    assert.equal(await anonymous('page.html'), 403);
    const publicRead = policy({ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::public/*' });
    await root.send(new PutBucketPolicyCommand({ Bucket: 'public', Policy: publicRead }));
    assert.equal((await root.send(new GetBucketPolicyStatusCommand({ Bucket: 'public' }))).PolicyStatus?.IsPublic, true);
    const r = await fetch(`${t.endpoint}/public/page.html`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'body of page.html');
    assert.equal(await anonymous('page.html', 'PUT'), 403);
    assert.equal(await anonymous('', 'GET'), 403); // listing is not granted

    assert.equal(await outcome(root.send(new GetPublicAccessBlockCommand({ Bucket: 'public' }))), '404 NoSuchPublicAccessBlockConfiguration');
    await root.send(new PutPublicAccessBlockCommand({ Bucket: 'public', PublicAccessBlockConfiguration: { BlockPublicPolicy: true } }));
    const block = (await root.send(new GetPublicAccessBlockCommand({ Bucket: 'public' }))).PublicAccessBlockConfiguration;
    assert.deepEqual(block, { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false });
    assert.equal(await outcome(root.send(new PutBucketPolicyCommand({ Bucket: 'public', Policy: publicRead }))), '403 AccessDenied');
    // A statement restricted to a network is not public, so it is accepted.
    const restricted = policy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::public/*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } });
    assert.equal(await outcome(root.send(new PutBucketPolicyCommand({ Bucket: 'public', Policy: restricted }))), 'ok');
    assert.equal(await anonymous('page.html'), 403);

    await root.send(new DeletePublicAccessBlockCommand({ Bucket: 'public' }));
    await root.send(new PutBucketPolicyCommand({ Bucket: 'public', Policy: publicRead }));
    assert.equal(await anonymous('page.html'), 200);
    await root.send(new PutPublicAccessBlockCommand({ Bucket: 'public', PublicAccessBlockConfiguration: { RestrictPublicBuckets: true } }));
    assert.equal(await anonymous('page.html'), 403);
    assert.equal(await get(root, 'public', 'page.html'), 'body of page.html');
  });
});
