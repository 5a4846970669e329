import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, ListPartsCommand, PutObjectCommand, UploadPartCopyCommand, type S3Client } from '@aws-sdk/client-s3';
import { FsObjectBackend } from '../../src/store/fs-objects/fs-object-backend.js';
import { holdBackendCreate } from '../helpers/hold-backend-create.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const B = 'copy-source-error';
const SIZE = 1024 * 1024;

// CopyObject and UploadPartCopy open the source's plaintext stream, then wait (the target
// upload, its key, the body file) before reading it. A source that fails during those waits
// (a disk read error, a tampered segment) must fail the request, never the server.
describe('a copy whose source fails while the copy waits to read it', () => {
  let t: TestServer;
  let s3: S3Client;
  let hold: ReturnType<typeof holdBackendCreate>;
  let failReads: (() => void) | undefined;
  const openReader = FsObjectBackend.prototype.openReader;

  before(async () => {
    hold = holdBackendCreate();
    FsObjectBackend.prototype.openReader = async function (this: FsObjectBackend, id: string) {
      const reader = await openReader.call(this, id);
      const failed = failReads;
      if (failed === undefined) return reader;
      failReads = undefined;
      return { ...reader, read: async () => (failed(), Promise.reject(Object.assign(new Error('i/o error'), { code: 'EIO' }))) };
    };
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'src', Body: Buffer.alloc(SIZE, 3) }));
  });
  after(async () => {
    hold.restore();
    FsObjectBackend.prototype.openReader = openReader;
    await t.close();
  });

  /** Runs `copy` with the source's reads failing while the target's file is being created; returns its error. */
  async function failedCopy(copy: () => Promise<unknown>): Promise<unknown> {
    let readFailed!: () => void;
    const sourceFailed = new Promise<void>((resolve) => (readFailed = resolve));
    const held = hold.arm();
    failReads = readFailed;
    const result = copy().then(() => undefined, (err: unknown) => err);
    await Promise.all([held.entered, sourceFailed]);
    for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
    held.release();
    return result;
  }

  it('CopyObject answers an error, stores nothing, and the server serves on', { timeout: 20_000 }, async () => {
    const err = await failedCopy(() => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'dst', CopySource: `${B}/src` })));
    assert.equal((err as { name?: string } | undefined)?.name, 'InternalError');
    assert.deepEqual(readdirSync(join(t.dataDir, 'objects', 'tmp')), []);
    await assert.rejects(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'dst', CopySource: `${B}/nope` })), { name: 'NoSuchKey' });
  });

  it('UploadPartCopy answers an error, stores no part, and the server serves on', { timeout: 20_000 }, async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp' }));
    const err = await failedCopy(() => s3.send(new UploadPartCopyCommand({ Bucket: B, Key: 'mp', UploadId, PartNumber: 1, CopySource: `${B}/src` })));
    assert.equal((err as { name?: string } | undefined)?.name, 'InternalError');
    const parts = await s3.send(new ListPartsCommand({ Bucket: B, Key: 'mp', UploadId }));
    assert.deepEqual(parts.Parts ?? [], []);
    assert.deepEqual(readdirSync(join(t.dataDir, 'objects', 'tmp')), []);
  });
});
