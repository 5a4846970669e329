import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { filesUnder } from '../helpers/files.js';
import { receiveGet, viaTrustedProxy, type Received } from './helpers.js';

// A large GET reads and opens its body in batches of 16 segments (~1 MiB,
// src/s3/operations/read-large.ts), opened on the thread pool when the addon is loaded. A
// tampered segment must fail the GET before any byte of its batch reaches the client: an S3
// error when it is in the first batch, a cut connection after the verified batches otherwise.

const SEGMENT = 64 * 1024;
const UNIT = SEGMENT + 16;
const HEADER = 45;
/** 37 segments: two full batches of 16 and a third of 5 (the last one short). */
const SIZE = 36 * SEGMENT + 777;

/** What a GET of `key` (or of `range` of it) delivers (receiveGet). */
const receive = (s3: S3Client, key: string, range?: string): Promise<Received> => receiveGet(s3, { Bucket: 'batches', Key: key, ...(range !== undefined ? { Range: range } : {}) });

describe('S3 GET of a large object: a tampered batch', () => {
  let t: TestServer;
  let s3: S3Client;
  const body = Buffer.alloc(SIZE);
  for (let i = 0; i < body.length; i++) body[i] = (i * 13 + (i >> 16)) & 0xff;
  let file = '';
  let original = Buffer.alloc(0);

  before(async () => {
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = viaTrustedProxy(t.s3());
    await s3.send(new CreateBucketCommand({ Bucket: 'batches' }));
    const key = await t.kms().send(new CreateKeyCommand({}));
    const data = join(t.dataDir, 'objects', 'data');
    const seen = new Set(filesUnder(data));
    await s3.send(new PutObjectCommand({ Bucket: 'batches', Key: 'three', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.KeyMetadata!.KeyId! }));
    file = filesUnder(data).find((f) => !seen.has(f))!;
    original = readFileSync(file);
    assert.equal(original.length, HEADER + 37 * UNIT - (SEGMENT - 777));
  });
  after(() => t.close());

  it('the untouched object reads whole (so the failures below are the tampering)', async () => {
    const r = await receive(s3, 'three');
    assert.equal(r.failed, false);
    assert.ok(r.bytes.equals(body));
  });

  it('concurrent GETs of different objects, read slowly, each receive exactly their bytes (pooled read buffers never carry the bytes of one GET into another)', async () => {
    // Read buffers are pooled across GETs, and each batch's read and open run on the thread
    // pool while the one before is sent: a buffer pooled again before its read or open settled
    // would carry another GET's bytes into this one (or fail its tags).
    const objects = [0, 1, 2].map((n) => {
      const b = Buffer.alloc(3 * 1024 * 1024 + 1000 * n);
      for (let i = 0; i < b.length; i++) b[i] = (i * (n + 3) + (i >> 12)) & 0xff;
      return b;
    });
    await Promise.all(objects.map((b, n) => s3.send(new PutObjectCommand({ Bucket: 'batches', Key: `slow-${n}`, Body: b }))));
    const slowRead = async (n: number): Promise<Buffer> => {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'batches', Key: `slow-${n}` }));
      const chunks: Buffer[] = [];
      for await (const c of got.Body as Readable) {
        chunks.push(c as Buffer);
        await new Promise((resolve) => setTimeout(resolve, chunks.length % 8 === 0 ? 5 : 0));
      }
      return Buffer.concat(chunks);
    };
    const reads = [0, 1, 2, 0, 1, 2].map(async (n) => ({ n, bytes: await slowRead(n) }));
    for (const { n, bytes } of await Promise.all(reads)) assert.ok(bytes.equals(objects[n]!), `slow-${n}`);
  });

  for (const [segment, where] of [
    [0, 'first segment of the first batch'],
    [15, 'last segment of the first batch'],
    [16, 'first segment of the second batch'],
    [27, 'middle of the second batch'],
    [32, 'first segment of the third batch'],
    [36, 'final segment'],
  ] as const) {
    it(`a flipped byte in the ${where}: no byte of its batch reaches the client`, async () => {
      const batchStart = Math.floor(segment / 16) * 16 * SEGMENT;
      for (const inSegment of [7, UNIT - 1 - (segment === 36 ? SEGMENT - 777 : 0)]) {
        const bad = Buffer.from(original);
        const at = HEADER + segment * UNIT + inSegment;
        bad[at] = bad[at]! ^ 0x04;
        writeFileSync(file, bad);
        try {
          const r = await receive(s3, 'three');
          assert.equal(r.failed, true, `segment ${segment} byte ${inSegment}: the GET must fail`);
          assert.ok(r.bytes.length <= batchStart, `segment ${segment}: ${r.bytes.length} bytes received, its batch starts at ${batchStart}`);
          assert.ok(r.bytes.equals(body.subarray(0, r.bytes.length)), 'what arrived is the verified prefix');
          if (batchStart === 0) assert.equal(r.status, '500 InternalError', 'a failure before anything was sent is an S3 error');
          // A ranged GET over the bad segment fails the same way, from its own first batch.
          const from = Math.max(0, segment * SEGMENT - 3 * SEGMENT - 5);
          const ranged = await receive(s3, 'three', `bytes=${from}-${SIZE - 1}`);
          assert.equal(ranged.failed, true, `segment ${segment}: ranged from ${from}`);
          assert.ok(ranged.bytes.equals(body.subarray(from, from + ranged.bytes.length)));
          assert.ok(from + ranged.bytes.length <= segment * SEGMENT, 'no byte of the bad segment');
        } finally {
          writeFileSync(file, original);
        }
      }
    });
  }
});
