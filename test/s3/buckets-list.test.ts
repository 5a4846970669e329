import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketEncryptionCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  CopyObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { testServerFixture, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { errorCode } from './helpers.js';

describe('S3 buckets, listings and default encryption', () => {
  const fx = testServerFixture();

  it('CreateBucket: names, LocationConstraint, BucketAlreadyOwnedByYou; HeadBucket; GetBucketLocation', async () => {
    for (const bad of ['ab', 'Upper', 'a..b', '192.168.1.1', '-start', 'xn--abc', 'end-']) {
      assert.equal(await errorCode(fx.s3.send(new CreateBucketCommand({ Bucket: bad }))), '400 InvalidBucketName', bad);
    }
    await fx.s3.send(new CreateBucketCommand({ Bucket: 'bkt1' }));
    await fx.s3.send(new CreateBucketCommand({ Bucket: 'b-eu', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    assert.equal(await errorCode(fx.s3.send(new CreateBucketCommand({ Bucket: 'bkt1' }))), '409 BucketAlreadyOwnedByYou');
    await fx.s3.send(new HeadBucketCommand({ Bucket: 'bkt1' }));
    assert.match(await errorCode(fx.s3.send(new HeadBucketCommand({ Bucket: 'nope' }))), /^404 /);
    assert.equal((await fx.s3.send(new GetBucketLocationCommand({ Bucket: 'bkt1' }))).LocationConstraint, undefined);
    assert.equal((await fx.s3.send(new GetBucketLocationCommand({ Bucket: 'b-eu' }))).LocationConstraint, 'eu-west-1');
  });

  it('DeleteBucket: BucketNotEmpty, then deleted after DeleteObjects (Quiet and not)', async () => {
    await fx.s3.send(new CreateBucketCommand({ Bucket: 'del' }));
    for (const k of ['x', 'y', 'z']) await fx.s3.send(new PutObjectCommand({ Bucket: 'del', Key: k, Body: k }));
    assert.equal(await errorCode(fx.s3.send(new DeleteBucketCommand({ Bucket: 'del' }))), '409 BucketNotEmpty');
    const loud = await fx.s3.send(new DeleteObjectsCommand({ Bucket: 'del', Delete: { Objects: [{ Key: 'x' }, { Key: 'never' }] } }));
    assert.deepEqual(loud.Deleted?.map((d) => d.Key).sort(), ['never', 'x']);
    const quiet = await fx.s3.send(new DeleteObjectsCommand({ Bucket: 'del', Delete: { Objects: [{ Key: 'y' }, { Key: 'z' }], Quiet: true } }));
    assert.equal(quiet.Deleted, undefined);
    await fx.s3.send(new DeleteBucketCommand({ Bucket: 'del' }));
    assert.equal(await errorCode(fx.s3.send(new DeleteBucketCommand({ Bucket: 'del' }))), '404 NoSuchBucket');
  });

  it('ListObjectsV2: prefix, delimiter, max-keys with continuation, start-after, encoding-type=url, fetch-owner', async () => {
    await fx.s3.send(new CreateBucketCommand({ Bucket: 'list' }));
    const keys = ['a/1', 'a/2', 'a/b/3', 'b/1', 'c', 'd e+f', 'z'];
    for (const k of keys) await fx.s3.send(new PutObjectCommand({ Bucket: 'list', Key: k, Body: k }));
    const all = await fx.s3.send(new ListObjectsV2Command({ Bucket: 'list' }));
    assert.deepEqual(all.Contents?.map((c) => c.Key), keys);
    assert.equal(all.KeyCount, keys.length);
    const delim = await fx.s3.send(new ListObjectsV2Command({ Bucket: 'list', Delimiter: '/' }));
    assert.deepEqual(delim.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'b/']);
    assert.deepEqual(delim.Contents?.map((c) => c.Key), ['c', 'd e+f', 'z']);
    const sub = await fx.s3.send(new ListObjectsV2Command({ Bucket: 'list', Prefix: 'a/', Delimiter: '/' }));
    assert.deepEqual(sub.Contents?.map((c) => c.Key), ['a/1', 'a/2']);
    assert.deepEqual(sub.CommonPrefixes?.map((p) => p.Prefix), ['a/b/']);
    // Paging two at a time with a delimiter visits every entry once.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await fx.s3.send(new ListObjectsV2Command({ Bucket: 'list', Delimiter: '/', MaxKeys: 2, ...(token ? { ContinuationToken: token } : {}) }));
      seen.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(page.Contents ?? []).map((c) => c.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    assert.deepEqual(seen.sort(), ['a/', 'b/', 'c', 'd e+f', 'z']);
    const startAfter = await fx.s3.send(new ListObjectsV2Command({ Bucket: 'list', StartAfter: 'c' }));
    assert.deepEqual(startAfter.Contents?.map((c) => c.Key), ['d e+f', 'z']);
    const encoded = await fx.s3.send(new ListObjectsV2Command({ Bucket: 'list', Prefix: 'd', EncodingType: 'url' }));
    assert.equal(encoded.Contents?.[0]?.Key, 'd%20e%2Bf', 'keys come url-encoded (the SDK leaves them so)');
    const owner = await fx.s3.send(new ListObjectsV2Command({ Bucket: 'list', Prefix: 'z', FetchOwner: true }));
    assert.ok(owner.Contents?.[0]?.Owner?.ID);
  });

  it('ListObjects v1 with marker', async () => {
    const page1 = await fx.s3.send(new ListObjectsCommand({ Bucket: 'list', MaxKeys: 3 }));
    assert.deepEqual(page1.Contents?.map((c) => c.Key), ['a/1', 'a/2', 'a/b/3']);
    assert.equal(page1.IsTruncated, true);
    const page2 = await fx.s3.send(new ListObjectsCommand({ Bucket: 'list', Marker: 'a/b/3' }));
    assert.deepEqual(page2.Contents?.map((c) => c.Key), ['b/1', 'c', 'd e+f', 'z']);
    assert.equal(page2.IsTruncated, false);
  });

  it('ListObjectVersions: each key its one "null" latest version; key-marker paging with a delimiter visits each entry once; bad markers are InvalidArgument', async () => {
    const keys = ['a/1', 'a/2', 'a/b/3', 'b/1', 'c', 'd e+f', 'z'];
    const all = await fx.s3.send(new ListObjectVersionsCommand({ Bucket: 'list' }));
    assert.deepEqual(all.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest]), keys.map((k) => [k, 'null', true]));
    assert.equal(all.IsTruncated, false);
    const seen: string[] = [];
    let marker: { KeyMarker: string; VersionIdMarker: string } | undefined;
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 10, 'paging ends');
      const page = await fx.s3.send(new ListObjectVersionsCommand({ Bucket: 'list', Delimiter: '/', MaxKeys: 2, ...marker }));
      seen.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(page.Versions ?? []).map((v) => v.Key!));
      if (page.IsTruncated !== true) break;
      assert.equal(page.NextVersionIdMarker, 'null');
      marker = { KeyMarker: page.NextKeyMarker!, VersionIdMarker: page.NextVersionIdMarker };
    }
    assert.deepEqual(seen.sort(), ['a/', 'b/', 'c', 'd e+f', 'z']);
    const afterC = await fx.s3.send(new ListObjectVersionsCommand({ Bucket: 'list', KeyMarker: 'c', VersionIdMarker: 'null' }));
    assert.deepEqual(afterC.Versions?.map((v) => v.Key), ['d e+f', 'z']);
    const encoded = await fx.s3.send(new ListObjectVersionsCommand({ Bucket: 'list', Prefix: 'd', EncodingType: 'url' }));
    assert.equal(encoded.Versions?.[0]?.Key, 'd%20e%2Bf');
    assert.equal(await errorCode(fx.s3.send(new ListObjectVersionsCommand({ Bucket: 'list', VersionIdMarker: 'null' }))), '400 InvalidArgument');
    assert.equal(await errorCode(fx.s3.send(new ListObjectVersionsCommand({ Bucket: 'list', KeyMarker: 'c', VersionIdMarker: '3HL4kqtJlcpXroDTDmjVBH40Nrjfkd' }))), '400 InvalidArgument');
    assert.equal(await errorCode(fx.s3.send(new ListObjectVersionsCommand({ Bucket: 'nope' }))), '404 NoSuchBucket');
  });

  it('ListBuckets: bucket-region filters; max-buckets outside 1..10000 and a token that is not one are InvalidArgument', async () => {
    const eu = await fx.s3.send(new ListBucketsCommand({ BucketRegion: 'eu-west-1' }));
    assert.deepEqual(eu.Buckets?.map((b) => [b.Name, b.BucketRegion]), [['b-eu', 'eu-west-1']]);
    const everyName = (await fx.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name!) ?? [];
    assert.ok(everyName.length > 2);
    for (const MaxBuckets of [0, 10_001]) {
      assert.equal(await errorCode(fx.s3.send(new ListBucketsCommand({ MaxBuckets }))), '400 InvalidArgument', String(MaxBuckets));
    }
    for (const token of ['not a token!', 'YQ=', Buffer.from([0xff, 0xfe]).toString('base64url')]) {
      assert.equal(await errorCode(fx.s3.send(new ListBucketsCommand({ ContinuationToken: token }))), '400 InvalidArgument', token);
    }
    // The token is a position among the caller's own buckets: one made up by hand only skips ahead.
    const after = await fx.s3.send(new ListBucketsCommand({ ContinuationToken: Buffer.from('bkt1').toString('base64url') }));
    assert.deepEqual(after.Buckets?.map((b) => b.Name), everyName.filter((n) => n > 'bkt1'));
  });

  it('default bucket encryption applies to PUTs and copies without SSE headers', async () => {
    await fx.s3.send(new CreateBucketCommand({ Bucket: 'enc' }));
    // Since January 2023 every bucket has SSE-S3 as its default ("By default, all buckets have a
    // default encryption configuration that uses ... SSE-S3": API_GetBucketEncryption.html), so
    // a new bucket answers it, not 404 ServerSideEncryptionConfigurationNotFoundError.
    const initial = await fx.s3.send(new GetBucketEncryptionCommand({ Bucket: 'enc' }));
    assert.equal(initial.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256');
    await fx.s3.send(new PutBucketEncryptionCommand({ Bucket: 'enc', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] } }));
    const cfg = await fx.s3.send(new GetBucketEncryptionCommand({ Bucket: 'enc' }));
    assert.equal(cfg.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'aws:kms');
    const put = await fx.s3.send(new PutObjectCommand({ Bucket: 'enc', Key: 'k', Body: 'v' }));
    assert.equal(put.ServerSideEncryption, 'aws:kms');
    assert.match(put.SSEKMSKeyId ?? '', /^arn:aws:kms:/);
    await fx.s3.send(new CopyObjectCommand({ Bucket: 'enc', Key: 'k2', CopySource: 'list/c' }));
    assert.equal((await fx.s3.send(new HeadObjectCommand({ Bucket: 'enc', Key: 'k2' }))).ServerSideEncryption, 'aws:kms');
    await fx.s3.send(new DeleteBucketEncryptionCommand({ Bucket: 'enc' }));
    assert.equal((await fx.s3.send(new PutObjectCommand({ Bucket: 'enc', Key: 'k3', Body: 'v' }))).ServerSideEncryption, 'AES256');
  });

  it('virtual-hosted style: bucket from the Host under localhost', async () => {
    const port = new URL(fx.server.endpoint).port;
    // *.localhost does not resolve here: an agent that sends every name to 127.0.0.1.
    const lookup = (_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void): void =>
      opts.all === true ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
    const httpAgent = new Agent({ lookup: lookup as never });
    const credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
    const vhost = new S3Client({ endpoint: `http://localhost:${port}`, region: TEST_REGION, credentials, maxAttempts: 1, requestHandler: { httpAgent } });
    try {
      await vhost.send(new PutObjectCommand({ Bucket: 'bkt1', Key: 'vh/key.txt', Body: 'virtual' }));
      const head = await fx.s3.send(new HeadObjectCommand({ Bucket: 'bkt1', Key: 'vh/key.txt' }));
      assert.equal(head.ContentLength, 7);
    } finally {
      vhost.destroy();
    }
  });

  it('a known sub-resource we do not implement answers NotImplemented', async () => {
    const { GetBucketLifecycleConfigurationCommand } = await import('@aws-sdk/client-s3');
    assert.equal(await errorCode(fx.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'bkt1' }))), '501 NotImplemented');
  });
});
