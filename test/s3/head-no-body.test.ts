import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { SqliteS3MetadataStore } from '../../src/store/sqlite/s3-metadata-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';

const B = 'nobody';

describe('answers that send no body never read an inline body from the metadata store', () => {
  let server: TestServer;
  let s3: S3Client;
  const calls = { withBody: 0, head: 0 };
  const saved = { getObject: SqliteS3MetadataStore.prototype.getObject, getObjectHead: SqliteS3MetadataStore.prototype.getObjectHead };

  before(async () => {
    server = await startTestServer();
    s3 = server.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: Buffer.from('an inline body') }));
    SqliteS3MetadataStore.prototype.getObject = async function (this: SqliteS3MetadataStore, bucket: string, key: string) {
      calls.withBody += 1;
      return saved.getObject.call(this, bucket, key);
    };
    SqliteS3MetadataStore.prototype.getObjectHead = async function (this: SqliteS3MetadataStore, bucket: string, key: string) {
      calls.head += 1;
      const o = await saved.getObjectHead.call(this, bucket, key);
      assert.equal(o.inlineBody, undefined, 'getObjectHead never returns the body');
      assert.equal(o.storageId, 'inline');
      return o;
    };
  });
  after(async () => {
    SqliteS3MetadataStore.prototype.getObject = saved.getObject;
    SqliteS3MetadataStore.prototype.getObjectHead = saved.getObjectHead;
    await server?.close();
  });

  const counted = async (run: () => Promise<unknown>): Promise<{ withBody: number; head: number }> => {
    calls.withBody = 0;
    calls.head = 0;
    await run();
    return { ...calls };
  };

  it('HEAD', async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k' }));
    assert.equal(head.ContentLength, 14);
    assert.deepEqual(await counted(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k' }))), { withBody: 0, head: 1 });
  });

  it('GET answered 304 (If-None-Match) or 412 (If-Match)', async () => {
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k' }));
    assert.deepEqual(await counted(() => errorCode(s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', IfNoneMatch: ETag })))), { withBody: 0, head: 1 });
    assert.deepEqual(await counted(() => errorCode(s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', IfMatch: '"0000"' })))), { withBody: 0, head: 1 });
  });

  it('GetObjectTagging', async () => {
    await s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'k', Tagging: { TagSet: [{ Key: 'team', Value: 'ml' }] } }));
    let tags: unknown = [];
    assert.deepEqual(
      await counted(async () => {
        tags = (await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'k' }))).TagSet ?? [];
      }),
      { withBody: 0, head: 1 },
    );
    assert.deepEqual(tags, [{ Key: 'team', Value: 'ml' }]);
  });

  it('a conditional GET that passes, and a plain GET, still send the inline body', async () => {
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k' }));
    let body = '';
    assert.deepEqual(
      await counted(async () => {
        body = await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', IfMatch: ETag }))).Body!.transformToString();
      }),
      { withBody: 1, head: 1 },
    );
    assert.equal(body, 'an inline body');
    assert.deepEqual(
      await counted(async () => {
        body = await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'k' }))).Body!.transformToString();
      }),
      { withBody: 1, head: 0 },
    );
    assert.equal(body, 'an inline body');
  });
});
