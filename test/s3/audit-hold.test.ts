import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { gateAuditAppends, testServerFixture } from '../helpers/server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const B = 'held';
const SIZE = 64 * 1024 * 1024;

// The S3 handler holds every answer until its audit record is durable (S3Handler
// #holdUntilRecorded). A streamed GET must feel that hold as backpressure: without it the
// decryptor keeps reading into the held queue, the whole object if the commit is slow.
describe('a streamed GET held until its audit record commits', () => {
  const body = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4096) body.writeUInt32BE(i, i);
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'big', Body: body }));
  });

  it('buffers about one read, not the object, while the record waits; then sends it all', async () => {
    const gate = gateAuditAppends(fx.server, 'GetObject');
    try {
      gc();
      const before = process.memoryUsage().arrayBuffers;
      const got = fx.s3.send(new GetObjectCommand({ Bucket: B, Key: 'big' }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      gc();
      const grown = process.memoryUsage().arrayBuffers - before;
      assert.equal(gate.held(), 1, 'the GET record is waiting');
      assert.ok(grown < SIZE / 4, `held ${grown} bytes of a ${SIZE}-byte object`);
      gate.open();
      const out = await (await got).Body!.transformToByteArray();
      assert.equal(createHash('sha256').update(out).digest('hex'), createHash('sha256').update(body).digest('hex'));
    } finally {
      gate.restore();
    }
  });
});

// Every answer, not only a streamed one: nothing reaches the client before its record commits.
describe('an answer held until its audit record commits', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  const cases: ReadonlyArray<readonly [string, string, (c: S3Client) => Promise<string>, string]> = [
    ['a PUT', 'PutObject', (c) => c.send(new PutObjectCommand({ Bucket: B, Key: 'small', Body: 'hello' })).then((r) => (r.ETag === undefined ? 'no etag' : 'stored')), 'stored'],
    ['a small GET', 'GetObject', (c) => c.send(new GetObjectCommand({ Bucket: B, Key: 'small' })).then((r) => r.Body!.transformToString()), 'hello'],
    ['an error answer (NoSuchKey)', 'GetObject', (c) => c.send(new GetObjectCommand({ Bucket: B, Key: 'absent' })).then(() => 'found', (e: Error) => e.name), 'NoSuchKey'],
  ];
  for (const [name, eventName, send, expected] of cases) {
    it(`${name} is answered only once its record committed`, async () => {
      const gate = gateAuditAppends(fx.server, eventName);
      try {
        let answered = false;
        const got = send(fx.s3).finally(() => (answered = true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(gate.held(), 1, 'the record is waiting');
        assert.equal(answered, false, 'no answer before the record committed');
        gate.open();
        assert.equal(await got, expected);
      } finally {
        gate.restore();
      }
    });
  }
});
