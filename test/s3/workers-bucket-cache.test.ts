import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { clusterWorkers, serverFixture, type ServerProcess } from '../helpers/server-process.js';
import { clientPerWorker, pinnedS3Client, type PinnedS3Client } from '../helpers/cluster-connections.js';

/** 'ok', or the error's name (the S3 code the SDK parsed). */
const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: Error) => e.name);

/**
 * `cipherlake server --workers 2`: each worker keeps bucket records (their default encryption)
 * and bucket access rows (policy, public access block) in memory. A change made through one
 * worker is what the other answers by on its very next request: each case has the observer
 * read (and cache) the old state first, then fails if its cache were not invalidated.
 */
describe('cipherlake server --workers 2: bucket configuration changed through one worker, used through the other at once', () => {
  const fixture = serverFixture('cipherlake-s3-workers-cache-');
  let server: ServerProcess;
  const clients: PinnedS3Client[] = [];
  /** A client served by one worker (the writer) and one served by the other (the observer). */
  let writer: S3Client;
  let observer: S3Client;

  before(async () => {
    server = await fixture.spawn({ dataDir: join(fixture.dir(), 'data'), args: ['--workers', '2'], timeoutMs: 30_000 });
    const workers = clusterWorkers(server.child.pid!);
    assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
    const pinned = await clientPerWorker(workers, Number(new URL(server.endpoint).port), () => pinnedS3Client(server.endpoint), (c) => c.s3.send(new ListBucketsCommand({})));
    clients.push(...pinned);
    [writer, observer] = pinned.map((c) => c.s3) as [S3Client, S3Client];
  });
  // Each client still has the one connection it was pinned by: an error answer that closed it
  // would have sent the next request through a new connection, perhaps to the other worker.
  afterEach(() => {
    for (const c of clients) c.localPort();
  });
  after(() => {
    for (const c of clients) c.destroy();
  });

  const put = (client: S3Client, bucket: string, key: string) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));
  const get = (client: S3Client, bucket: string, key: string) => client.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then((r) => r.Body!.transformToString());

  it('a bucket policy that denies, put then deleted: the other worker enforces each at once', async () => {
    await writer.send(new CreateBucketCommand({ Bucket: 'policy' }));
    await put(writer, 'policy', 'k');
    // The observer has read the bucket having no policy.
    assert.equal(await get(observer, 'policy', 'k'), 'body of k');
    const deny = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::policy/*' }] };
    await writer.send(new PutBucketPolicyCommand({ Bucket: 'policy', Policy: JSON.stringify(deny) }));
    assert.equal(await outcome(get(observer, 'policy', 'k')), 'AccessDenied');
    await writer.send(new DeleteBucketPolicyCommand({ Bucket: 'policy' }));
    assert.equal(await get(observer, 'policy', 'k'), 'body of k');
  });

  it("bucket default encryption changed: the other worker's next PUT is sealed by the new default", async () => {
    await writer.send(new CreateBucketCommand({ Bucket: 'encryption' }));
    // The observer has read (and cached) the bucket record with no default encryption.
    assert.equal((await put(observer, 'encryption', 'before')).ServerSideEncryption, 'AES256');
    await writer.send(new PutBucketEncryptionCommand({ Bucket: 'encryption', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] } }));
    assert.equal((await put(observer, 'encryption', 'kms')).ServerSideEncryption, 'aws:kms');
    await writer.send(new DeleteBucketEncryptionCommand({ Bucket: 'encryption' }));
    assert.equal((await put(observer, 'encryption', 'after')).ServerSideEncryption, 'AES256');
  });

  it('a public access block put: the other worker refuses a public policy at once', async () => {
    await writer.send(new CreateBucketCommand({ Bucket: 'block' }));
    await put(writer, 'block', 'k');
    // The observer has read the bucket's access row (no policy, no block).
    assert.equal(await get(observer, 'block', 'k'), 'body of k');
    await writer.send(new PutPublicAccessBlockCommand({ Bucket: 'block', PublicAccessBlockConfiguration: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false } }));
    const publicRead = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::block/*' }] };
    assert.equal(await outcome(observer.send(new PutBucketPolicyCommand({ Bucket: 'block', Policy: JSON.stringify(publicRead) }))), 'AccessDenied');
  });

  it('a bucket deleted: the other worker answers NoSuchBucket at once', async () => {
    await writer.send(new CreateBucketCommand({ Bucket: 'deleted' }));
    await put(observer, 'deleted', 'k');
    assert.equal((await observer.send(new ListObjectsV2Command({ Bucket: 'deleted' }))).KeyCount, 1);
    await writer.send(new DeleteObjectCommand({ Bucket: 'deleted', Key: 'k' }));
    await writer.send(new DeleteBucketCommand({ Bucket: 'deleted' }));
    assert.equal(await outcome(observer.send(new ListObjectsV2Command({ Bucket: 'deleted' }))), 'NoSuchBucket');
    assert.equal(await outcome(observer.send(new HeadBucketCommand({ Bucket: 'deleted' }))), 'NotFound');
  });
});
