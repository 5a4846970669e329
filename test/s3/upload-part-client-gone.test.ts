import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, CreateMultipartUploadCommand, ListPartsCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Handler, type S3Outcome } from '../../src/s3/index.js';
import { holdBackendCreate } from '../helpers/hold-backend-create.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { signer } from './raw-sign.js';

const B = 'part-client-gone';
const PART_BYTES = 1024 * 1024;

// UploadPart awaits the upload row, its key (a KMS call for SSE-KMS) and the body file's
// creation before it reads the body. A client that leaves during those waits destroys the
// request; a body stream built before them then failed with no 'error' listener: an uncaught
// exception, which stops the whole server (here: fails this test file).
describe('an UploadPart whose client leaves before its body is read', () => {
  let t: TestServer;
  let s3: S3Client;
  let uploadId: string;
  /** Armed by a test: the next backend.create() reports it was entered and waits until released. */
  let hold: ReturnType<typeof holdBackendCreate>;
  /** The part request and its handler's promise, as the server saw them. */
  let seen: { req: IncomingMessage; done: Promise<S3Outcome> } | undefined;
  const handle = S3Handler.prototype.handle;

  before(async () => {
    S3Handler.prototype.handle = function (this: S3Handler, r) {
      const done = handle.call(this, r);
      if (r.req.method === 'PUT' && r.req.url?.includes('partNumber=') === true) seen = { req: r.req, done };
      return done;
    };
    hold = holdBackendCreate();
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'k', ServerSideEncryption: 'aws:kms' }))).UploadId ?? '';
  });
  after(async () => {
    S3Handler.prototype.handle = handle;
    hold.restore();
    await t.close();
  });

  it('while the part file is being created: the server survives, stores nothing, and takes the part again', { timeout: 20_000 }, async () => {
    const held = hold.arm();
    const client = await sendPartOfPart(t.endpoint, uploadId);
    await held.entered;
    const server = seen;
    assert.ok(server !== undefined, 'the server is handling the part');
    const gone = new Promise((resolve) => server.req.once('close', resolve));
    client.destroy();
    await gone;
    // The destroyed request's 'error' went out; a stream failed by it errors a tick later.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    held.release();
    const outcome = await server.done;
    assert.equal(outcome.errorCode, 'IncompleteBody');
    const parts = await s3.send(new ListPartsCommand({ Bucket: B, Key: 'k', UploadId: uploadId }));
    assert.deepEqual(parts.Parts ?? [], []);
    assert.deepEqual(readdirSync(join(t.dataDir, 'objects', 'tmp')), []);
    // The server still serves the same upload.
    const body = Buffer.alloc(PART_BYTES, 7);
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'k', UploadId: uploadId, PartNumber: 1, Body: body }));
    const listed = await s3.send(new ListPartsCommand({ Bucket: B, Key: 'k', UploadId: uploadId }));
    assert.deepEqual(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]), [[1, ETag, PART_BYTES]]);
  });
});

/**
 * Sends a signed UploadPart's headers and 4 KiB of its 1 MiB body, then keeps the request open.
 * Less than the request's buffer (16 KiB): the server keeps reading its socket and sees the
 * client leave (with more, node stops reading it until the body is consumed).
 */
async function sendPartOfPart(endpoint: string, uploadId: string): Promise<ReturnType<typeof request>> {
  const url = new URL(endpoint);
  const query = { partNumber: '1', uploadId };
  const headers = { host: url.host, 'content-length': String(PART_BYTES), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const signed = await signer().sign({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/${B}/k`, query, headers }, { signingDate: new Date() });
  const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: `/${B}/k?${new URLSearchParams(query).toString()}`, headers: signed.headers });
  // The destroyed client's own error (it never got an answer) is expected.
  req.on('error', () => {});
  req.write(Buffer.alloc(4 * 1024, 1));
  return req;
}
