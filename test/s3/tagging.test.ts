import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand, CreateBucketCommand, DeleteObjectTaggingCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';

describe('S3 object tagging', () => {
  let t: TestServer;
  let s3: S3Client;
  const tagsOf = async (key: string): Promise<Array<[string, string]>> =>
    ((await s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: key }))).TagSet ?? []).map((x) => [x.Key ?? '', x.Value ?? '']);

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: 'tags' }));
  });
  after(() => t.close());

  it('x-amz-tagging on PUT is stored; GET/HEAD answer x-amz-tagging-count', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'a', Body: 'x', Tagging: 'project=lake&stage=raw%20data&empty=' }));
    assert.deepEqual(await tagsOf('a'), [['project', 'lake'], ['stage', 'raw data'], ['empty', '']]);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'tags', Key: 'a' }))).TagCount, 3);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'tags', Key: 'a' }));
    assert.equal(got.TagCount, 3);
    assert.equal(await got.Body!.transformToString(), 'x');
  });

  it('PutObjectTagging replaces, DeleteObjectTagging empties, an untagged object has an empty TagSet', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'b', Body: 'y' }));
    assert.deepEqual(await tagsOf('b'), []);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'tags', Key: 'b' }))).TagCount, undefined);
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'b', Tagging: { TagSet: [{ Key: 'k1', Value: 'v1' }, { Key: 'k2', Value: 'v2' }] } }));
    assert.deepEqual(await tagsOf('b'), [['k1', 'v1'], ['k2', 'v2']]);
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'b', Tagging: { TagSet: [{ Key: 'only', Value: 'one' }] } }));
    assert.deepEqual(await tagsOf('b'), [['only', 'one']]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: 'tags', Key: 'b' }));
    assert.deepEqual(await tagsOf('b'), []);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'tags', Key: 'b' }))).Body!.transformToString(), 'y', 'the body is untouched');
  });

  it('an overwrite without x-amz-tagging drops the old tags', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'c', Body: '1', Tagging: 'a=1' }));
    await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'c', Body: '2' }));
    assert.deepEqual(await tagsOf('c'), []);
  });

  it('CopyObject copies the source tags by default and replaces them with x-amz-tagging-directive REPLACE', async () => {
    await s3.send(new CopyObjectCommand({ Bucket: 'tags', Key: 'a-copy', CopySource: 'tags/a' }));
    assert.deepEqual(await tagsOf('a-copy'), [['project', 'lake'], ['stage', 'raw data'], ['empty', '']], 'the source tags, not just an equal (maybe empty) set');
    await s3.send(new CopyObjectCommand({ Bucket: 'tags', Key: 'a-replaced', CopySource: 'tags/a', TaggingDirective: 'REPLACE', Tagging: 'new=tag' }));
    assert.deepEqual(await tagsOf('a-replaced'), [['new', 'tag']]);
    await s3.send(new CopyObjectCommand({ Bucket: 'tags', Key: 'a-none', CopySource: 'tags/a', TaggingDirective: 'REPLACE' }));
    assert.deepEqual(await tagsOf('a-none'), []);
  });

  it("S3's rules: at most 10 tags (BadRequest), key ≤ 128, value ≤ 256, no duplicates, no aws: prefix (InvalidTag); missing objects are NoSuchKey", async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    assert.equal(await errorCode(s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'a', Tagging: { TagSet: eleven } }))), '400 BadRequest');
    const cases = [
      [{ Key: 'k'.repeat(129), Value: 'v' }],
      [{ Key: 'k', Value: 'v'.repeat(257) }],
      [{ Key: 'dup', Value: '1' }, { Key: 'dup', Value: '2' }],
      [{ Key: 'aws:reserved', Value: 'v' }],
    ];
    for (const TagSet of cases) {
      assert.equal(await errorCode(s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'a', Tagging: { TagSet } }))), '400 InvalidTag');
    }
    const ten = Array.from({ length: 10 }, (_, i) => ({ Key: `k${i}`, Value: 'v'.repeat(256) }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'b', Tagging: { TagSet: ten } }));
    assert.equal((await tagsOf('b')).length, 10);
    assert.equal(await errorCode(s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'bad', Body: 'x', Tagging: 'aws:x=1' }))), '400 InvalidTag');
    assert.match(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'tags', Key: 'bad' }))), /^404 /, 'a refused PUT stores nothing');
    assert.equal(await errorCode(s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: 'missing' }))), '404 NoSuchKey');
    assert.equal(await errorCode(s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'missing', Tagging: { TagSet: [] } }))), '404 NoSuchKey');
  });
});
