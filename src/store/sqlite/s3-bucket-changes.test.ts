import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NoSuchBucketError } from '../../s3/errors.js';
import { closeSqlite, openSqlite, type SqliteDatabase } from './database.js';
import { SqliteBucketAccessStore } from './s3-bucket-access-store.js';
import { SqliteS3MetadataStore } from './s3-metadata-store.js';

/** Ends the current synchronous run (the stores check the change count once per run), as a next request would. */
const nextRun = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Two connections to one database file, as two cluster workers have, each with its stores. */
function twoProcesses(t: { after: (fn: () => Promise<void>) => void }): Array<{ db: SqliteDatabase; buckets: SqliteS3MetadataStore; access: SqliteBucketAccessStore }> {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-bucket-changes-'));
  const sides = [0, 1].map(() => {
    const db = openSqlite(join(dir, 'metadata.db'));
    return { db, buckets: new SqliteS3MetadataStore(db), access: new SqliteBucketAccessStore(db) };
  });
  t.after(async () => {
    for (const s of sides) await closeSqlite(s.db);
    rmSync(dir, { recursive: true, force: true });
  });
  return sides;
}

const POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] });

test('a bucket policy put, changed or deleted through one connection is what the other reads next, though it cached the bucket having none', async (t) => {
  const [a, b] = twoProcesses(t);
  await a!.buckets.createBucket({ name: 'b', region: 'r', createdAt: new Date(0) });
  await nextRun();
  // Read (and cached) on the other side: no policy, no public access block.
  assert.equal(await b!.access.getPolicy('b'), undefined);
  assert.equal(await b!.access.getPublicAccessBlock('b'), undefined);
  await nextRun();
  assert.equal(await b!.access.getPolicy('b'), undefined);
  await a!.access.putPolicy('b', POLICY);
  await nextRun();
  assert.equal(await b!.access.getPolicy('b'), POLICY);
  await a!.access.putPublicAccessBlock('b', { blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true });
  await nextRun();
  assert.equal((await b!.access.getPublicAccessBlock('b'))?.restrictPublicBuckets, true);
  await a!.access.deletePolicy('b');
  await nextRun();
  assert.equal(await b!.access.getPolicy('b'), undefined);
  // A bucket deleted and made again under the same name through one side has no policy on the other.
  await a!.access.putPolicy('b', POLICY);
  await nextRun();
  assert.equal(await b!.access.getPolicy('b'), POLICY);
  await a!.access.deletePublicAccessBlock('b');
  await a!.access.deletePolicy('b');
  await a!.access.putPolicy('b', POLICY);
  await a!.buckets.deleteBucket('b');
  await a!.buckets.createBucket({ name: 'b', region: 'r', createdAt: new Date(0) });
  await nextRun();
  assert.equal(await b!.access.getPolicy('b'), undefined);
});

test('a bucket changed or deleted through one connection is what the other reads next, though it cached the record', async (t) => {
  const [a, b] = twoProcesses(t);
  await a!.buckets.createBucket({ name: 'b', region: 'r', createdAt: new Date(0) });
  await nextRun();
  assert.equal((await b!.buckets.getBucket('b')).encryption, undefined);
  await nextRun();
  assert.equal((await b!.buckets.getBucket('b')).encryption, undefined);
  await a!.buckets.setBucketEncryption('b', { algorithm: 'aws:kms', kmsKeyId: 'alias/x', bucketKeyEnabled: true });
  await nextRun();
  assert.deepEqual((await b!.buckets.getBucket('b')).encryption, { algorithm: 'aws:kms', kmsKeyId: 'alias/x', bucketKeyEnabled: true });
  await a!.buckets.deleteBucket('b');
  await nextRun();
  await assert.rejects(b!.buckets.getBucket('b'), NoSuchBucketError);
});

test('a write through a connection is what the same connection reads next, within the same run too', async (t) => {
  const [a] = twoProcesses(t);
  await a!.buckets.createBucket({ name: 'b', region: 'r', createdAt: new Date(0) });
  assert.equal(await a!.access.getPolicy('b'), undefined);
  await a!.access.putPolicy('b', POLICY);
  assert.equal(await a!.access.getPolicy('b'), POLICY);
  assert.equal((await a!.buckets.getBucket('b')).encryption, undefined);
  await a!.buckets.setBucketEncryption('b', { algorithm: 'AES256', bucketKeyEnabled: false });
  assert.deepEqual((await a!.buckets.getBucket('b')).encryption, { algorithm: 'AES256', bucketKeyEnabled: false });
  await a!.buckets.deleteBucket('b');
  await assert.rejects(a!.buckets.getBucket('b'), NoSuchBucketError);
  assert.equal(await a!.access.getPolicy('b'), undefined);
});

test("both stores of a connection read one published count: one descriptor of the side file per connection, closed with it", async (t) => {
  const [a, b] = twoProcesses(t);
  const side = `${a!.db.name}.s3-bucket-changes`;
  const open = (): number =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === side;
      } catch {
        return false;
      }
    }).length;
  assert.equal(open(), 2, 'one for each of the two connections');
  await closeSqlite(b!.db);
  assert.equal(open(), 1);
});
