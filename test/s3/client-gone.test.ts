import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Handler } from '../../src/s3/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const B = 'client-gone';

// A multipart GET is sent by streamOut (single-part file bodies by sendBatches): a client that
// leaves mid-body destroys the decrypting stream, which then emits neither 'end' nor 'error'.
describe('a GET whose client leaves mid-body', () => {
  let t: TestServer;
  let s3: S3Client;
  let inFlight = 0;
  const handle = S3Handler.prototype.handle;
  before(async () => {
    S3Handler.prototype.handle = async function (this: S3Handler, r) {
      inFlight += 1;
      try {
        return await handle.call(this, r);
      } finally {
        inFlight -= 1;
      }
    };
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp' }));
    const parts = [];
    for (let n = 1; n <= 3; n++) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId, PartNumber: n, Body: Buffer.alloc(8 * 1024 * 1024, n) }));
      parts.push({ ETag, PartNumber: n });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'mp', UploadId, MultipartUpload: { Parts: parts } }));
  });
  after(async () => {
    S3Handler.prototype.handle = handle;
    await t.close();
  });

  it('of a multipart object ends its request on the server', async () => {
    const abort = new AbortController();
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'mp' }), { abortSignal: abort.signal });
    const body = got.Body as Readable;
    await new Promise((resolve) => body.once('data', resolve));
    assert.equal(inFlight, 1, 'the GET is still being sent when the client leaves');
    abort.abort();
    body.destroy();
    for (let i = 0; i < 100 && inFlight > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(inFlight, 0, 'the handler returned');
  });
});
