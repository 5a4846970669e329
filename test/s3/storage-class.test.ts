import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { sdkRefusal } from '../helpers/sdk-outcome.js';
import { testServerFixture } from '../helpers/server.js';
import { errorCode } from './helpers.js';

const B = 'storage-class';

/** The SDK passes any string through; a cast is how a client sends a class S3 does not know. */
const unknownClass = (s: string): StorageClass => s as StorageClass;

const REFUSED = { status: 400, code: 'InvalidStorageClass', message: 'The storage class you specified is not valid' };

// x-amz-storage-class on the three writes that create a key: a class S3 does not know is
// refused as S3 refuses it (400 InvalidStorageClass) and stores nothing; a known one is
// accepted and changes nothing in what is stored or listed.
describe('S3 x-amz-storage-class', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'source', Body: 'source body' }));
  });

  it('PutObject with an unknown class is InvalidStorageClass and stores nothing', async () => {
    for (const cls of ['FOO', 'standard', 'STANDARD, GLACIER']) {
      const r = await sdkRefusal(fx.s3.send(new PutObjectCommand({ Bucket: B, Key: 'put-refused', Body: 'never stored', StorageClass: unknownClass(cls) })));
      assert.deepEqual(r, REFUSED, `class '${cls}'`);
    }
    assert.equal(await errorCode(fx.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'put-refused' }))), '404 NotFound');
  });

  it('PutObject with an unknown class leaves an existing object as it was', async () => {
    await fx.s3.send(new PutObjectCommand({ Bucket: B, Key: 'kept', Body: 'first' }));
    const r = await sdkRefusal(fx.s3.send(new PutObjectCommand({ Bucket: B, Key: 'kept', Body: 'second', StorageClass: unknownClass('FOO') })));
    assert.deepEqual(r, REFUSED);
    assert.equal(await (await fx.s3.send(new GetObjectCommand({ Bucket: B, Key: 'kept' }))).Body?.transformToString(), 'first');
  });

  it('CopyObject with an unknown class is InvalidStorageClass and creates no copy', async () => {
    const r = await sdkRefusal(fx.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-refused', CopySource: `${B}/source`, StorageClass: unknownClass('FOO') })));
    assert.deepEqual(r, REFUSED);
    assert.equal(await errorCode(fx.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'copy-refused' }))), '404 NotFound');
  });

  it('CreateMultipartUpload with an unknown class is InvalidStorageClass and opens no upload', async () => {
    const r = await sdkRefusal(fx.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mpu-refused', StorageClass: unknownClass('FOO') })));
    assert.deepEqual(r, REFUSED);
    const uploads = await fx.s3.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: 'mpu-refused' }));
    assert.deepEqual(uploads.Uploads ?? [], []);
  });

  it('CopyObject onto itself with a storage class is allowed (how S3 changes a class); without one it is still the illegal self-copy', async () => {
    await fx.s3.send(new PutObjectCommand({ Bucket: B, Key: 'self', Body: 'self body', Metadata: { m: 'v' } }));
    const self = { Bucket: B, Key: 'self', CopySource: `${B}/self` };
    const illegal = await sdkRefusal(fx.s3.send(new CopyObjectCommand(self)));
    assert.deepEqual([illegal.status, illegal.code], [400, 'InvalidRequest']);
    assert.match(illegal.message, /^This copy request is illegal/);
    assert.deepEqual(await sdkRefusal(fx.s3.send(new CopyObjectCommand({ ...self, StorageClass: unknownClass('FOO') }))), REFUSED);
    const copied = await fx.s3.send(new CopyObjectCommand({ ...self, StorageClass: 'STANDARD_IA' }));
    assert.equal(typeof copied.CopyObjectResult?.ETag, 'string');
    const got = await fx.s3.send(new GetObjectCommand({ Bucket: B, Key: 'self' }));
    assert.equal(await got.Body?.transformToString(), 'self body');
    assert.deepEqual(got.Metadata, { m: 'v' });
  });

  it('every class S3 documents is accepted, and the object is stored and listed as before', async () => {
    const classes = ['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE', 'FSX_OPENZFS', 'FSX_ONTAP', 'AWS_BACKUP_WARM', 'AWS_BACKUP_LOW_COST_WARM'];
    const plain = await fx.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'source' }));
    for (const cls of classes) {
      await fx.s3.send(new PutObjectCommand({ Bucket: B, Key: `ok/${cls}`, Body: cls, StorageClass: unknownClass(cls) }));
      const head = await fx.s3.send(new HeadObjectCommand({ Bucket: B, Key: `ok/${cls}` }));
      // As an object written with no class: what HEAD says about the class is unchanged.
      assert.equal(head.StorageClass, plain.StorageClass, cls);
    }
    await fx.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'ok/copy', CopySource: `${B}/source`, StorageClass: 'GLACIER' }));
    const mpu = await fx.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'ok/mpu', StorageClass: 'STANDARD_IA' }));
    assert.equal(typeof mpu.UploadId, 'string');
    const listed = await fx.s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'ok/' }));
    assert.equal(listed.Contents?.length, classes.length + 1);
    assert.deepEqual(new Set(listed.Contents?.map((o) => o.StorageClass)), new Set(['STANDARD']));
  });
});
