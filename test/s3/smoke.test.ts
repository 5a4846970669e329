import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { testServerFixture } from '../helpers/server.js';

describe('S3 smoke', () => {
  const fx = testServerFixture();

  it('creates a bucket, puts, gets, heads and deletes an object with a default client (aws-chunked + CRC32 trailer)', async () => {
    await fx.s3.send(new CreateBucketCommand({ Bucket: 'smoke' }));
    const list = await fx.s3.send(new ListBucketsCommand({}));
    assert.deepEqual(list.Buckets?.map((b) => b.Name), ['smoke']);
    const put = await fx.s3.send(new PutObjectCommand({ Bucket: 'smoke', Key: 'a/b.txt', Body: 'hello world', ContentType: 'text/plain', Metadata: { team: 'ml' } }));
    assert.equal(put.ServerSideEncryption, 'AES256');
    assert.equal(put.ETag, '"5eb63bbbe01eeed093cb22bb8f5acdc3"');
    const got = await fx.s3.send(new GetObjectCommand({ Bucket: 'smoke', Key: 'a/b.txt' }));
    assert.equal(await got.Body?.transformToString(), 'hello world');
    assert.equal(got.ContentType, 'text/plain');
    assert.equal(got.Metadata?.team, 'ml');
    assert.equal(got.ServerSideEncryption, 'AES256');
    const head = await fx.s3.send(new HeadObjectCommand({ Bucket: 'smoke', Key: 'a/b.txt' }));
    assert.equal(head.ContentLength, 11);
    await fx.s3.send(new DeleteObjectCommand({ Bucket: 'smoke', Key: 'a/b.txt' }));
    await assert.rejects(fx.s3.send(new HeadObjectCommand({ Bucket: 'smoke', Key: 'a/b.txt' })), (e: Error) => e.name === 'NotFound');
  });
});
