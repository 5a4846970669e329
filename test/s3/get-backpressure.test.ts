import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const B = 'slow';
const SIZE = 64 * 1024 * 1024;

// A streamed GET asks res.writableNeedDrain after each read (handlers-object streamOut and
// sendBatches): a client that stops reading must stop the decryptor, once the answer's
// audit hold is released as much as when there is no hold (audit off). An accessor answering
// false there would have the server buffer the whole object for a paused client.
for (const audit of [true, false]) {
  describe(`a streamed GET to a client that stops reading (audit ${audit ? 'on: hold released' : 'off: no hold'})`, () => {
    let t: TestServer;
    let s3: S3Client;
    const body = Buffer.alloc(SIZE);
    for (let i = 0; i < SIZE; i += 4096) body.writeUInt32BE(i, i);
    before(async () => {
      t = await startTestServer(audit ? {} : { audit: { enabled: false } });
      s3 = t.s3();
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'big', Body: body }));
    });
    after(() => t.close());

    it('buffers about one read, not the object, while the client is paused; then sends it all', async () => {
      gc();
      const before = process.memoryUsage().arrayBuffers;
      // Resolves with the status line and headers: the hold (if any) is released; the body is left unread.
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'big' }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      gc();
      const grown = process.memoryUsage().arrayBuffers - before;
      assert.ok(grown < SIZE / 4, `buffered ${grown} bytes of a ${SIZE}-byte object for a paused client`);
      const out = await got.Body!.transformToByteArray();
      assert.equal(out.length, SIZE);
      assert.equal(createHash('sha256').update(out).digest('hex'), createHash('sha256').update(body).digest('hex'));
    });
  });
}
