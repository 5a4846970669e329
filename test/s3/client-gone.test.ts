import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { watchHandlerCalls, type HandlerCalls } from './handler-calls.js';

const B = 'client-gone';

// A multipart GET is sent by streamOut (single-part file bodies by sendBatches): a client that
// leaves mid-body destroys the decrypting stream, which then emits neither 'end' nor 'error'.
describe('a GET whose client leaves mid-body', () => {
  let t: TestServer;
  let s3: S3Client;
  let calls: HandlerCalls;
  before(async () => {
    calls = watchHandlerCalls();
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
    calls.restore();
    await t.close();
  });

  it('of a multipart object ends its request on the server', async () => {
    const abort = new AbortController();
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'mp' }), { abortSignal: abort.signal });
    const body = got.Body as Readable;
    await new Promise((resolve) => body.once('data', resolve));
    assert.equal(calls.inFlight, 1, 'the GET is still being sent when the client leaves');
    abort.abort();
    body.destroy();
    for (let i = 0; i < 100 && calls.inFlight > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(calls.inFlight, 0, 'the handler returned');
  });
});
