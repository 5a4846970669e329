import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SegmentOpener } from '../../src/crypto/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { watchHandlerCalls, type HandlerCalls } from './handler-calls.js';

// A large single-part GET is sent by sendBatches (handlers-object.ts) from plaintextBatches
// (read-large.ts): each ~1 MiB batch is read and opened (SegmentOpener.updateAsync) while the
// one before is sent. A client that leaves while the server is between batches (not waiting
// for a drain: the client had read everything sent) must end the send there: a destroyed
// response never needs a drain, so without a look at it the server would read and open
// the whole rest of the object for nobody.

const B = 'batches-client-gone';
const MIB = 1024 * 1024;
/** 16 batches of 16 segments of 64 KiB. */
const SIZE = 16 * MIB;

describe('a large GET whose client leaves between two batches', () => {
  let t: TestServer;
  let s3: S3Client;
  let calls: HandlerCalls;
  before(async () => {
    calls = watchHandlerCalls();
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'big', Body: Buffer.alloc(SIZE, 7) }));
  });
  after(async () => {
    calls.restore();
    await t.close();
  });

  it('reads and opens no more of the object once the client is gone', async () => {
    const updateAsync = SegmentOpener.prototype.updateAsync;
    let opened = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The third batch is held until the client has gone: the server then waits for it, with
    // the first two sent and read by the client (so no drain is awaited).
    SegmentOpener.prototype.updateAsync = async function (this: SegmentOpener, ...args: Parameters<typeof updateAsync>) {
      opened += 1;
      if (opened === 3) await gate;
      return updateAsync.apply(this, args);
    };
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'big' }));
      const body = got.Body as Readable;
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        body.on('data', (c: Buffer) => {
          received += c.length;
          if (received >= 2 * MIB) resolve();
        });
        body.on('error', reject);
      });
      assert.equal(received, 2 * MIB, 'the first two batches, and nothing of the held one');
      body.destroy();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(calls.inFlight, 1, 'the GET is still waiting for its third batch');
      release();
      for (let i = 0; i < 100 && calls.inFlight > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(calls.inFlight, 0, 'the handler returned');
      // Batch 3 was under way when the client left (and at most one more read ahead of it).
      assert.ok(opened <= 5, `${opened} of 16 batches opened for a client that left after 2`);
    } finally {
      release();
      SegmentOpener.prototype.updateAsync = updateAsync;
    }
  });
});
