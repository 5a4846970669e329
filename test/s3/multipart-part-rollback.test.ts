import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { filesUnder } from '../helpers/files.js';
import { errorCode } from './helpers.js';

// Re-uploading a part number replaces the part. Each upload of a part is sealed under its own
// key (derivePartKey with a fresh salt kept in the part row, s3/MULTIPART.md), so the sealed
// stream of the part it replaced, kept by someone who can change the body files but not
// metadata.db, and put back where the new part stands in the completed body, fails to open:
// the GET fails and never delivers the replaced content. (With one key per part number, the
// old stream opened as that part. A writer of metadata.db can still restore the old salt:
// s3/MULTIPART.md, "What the part list does not protect".)

const B = 'rollback';
const MiB = 1024 * 1024;
const PART = 5 * MiB;

/** What a GET delivers: the bytes received before it ended, and how it ended. */
async function receive(s3: S3Client, key: string, extra: { Range?: string; PartNumber?: number } = {}): Promise<{ bytes: Buffer; failed: boolean; status?: string }> {
  let got;
  try {
    got = await s3.send(new GetObjectCommand({ Bucket: B, Key: key, ...extra }));
  } catch (err) {
    return { bytes: Buffer.alloc(0), failed: true, status: await errorCode(Promise.reject(err)) };
  }
  const chunks: Buffer[] = [];
  try {
    for await (const c of got.Body as Readable) chunks.push(c as Buffer);
    return { bytes: Buffer.concat(chunks), failed: false };
  } catch {
    return { bytes: Buffer.concat(chunks), failed: true };
  }
}

describe('S3 multipart: a replaced part put back into the completed body', () => {
  let t: TestServer;
  let s3: S3Client;
  let data = '';

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    data = join(t.dataDir, 'objects', 'data');
  });
  after(() => t.close());

  /** A file under the data directory that appeared during `action`. */
  async function newFile(action: () => Promise<unknown>): Promise<string> {
    const seen = new Set(filesUnder(data));
    await action();
    const added = filesUnder(data).filter((f) => !seen.has(f));
    assert.equal(added.length, 1, 'one new body file');
    return added[0]!;
  }

  /**
   * Uploads parts 1–3 of `key`, part `replaced` twice (the first time with `old`), completes,
   * and returns the completed body file, the replaced part's first sealed stream and its
   * offset in the body (parts 1 and 2 have the same size, so their sealed streams too).
   */
  async function completeWithReplacedPart(key: string, replaced: 1 | 2, plains: Buffer[], old: Buffer): Promise<{ body: string; oldSealed: Buffer; offset: number }> {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
    const upload = (n: number, Body: Buffer): Promise<string> => s3.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: n, Body })).then((r) => r.ETag!);
    const oldFile = await newFile(() => upload(replaced, old));
    const oldSealed = readFileSync(oldFile);
    const etags = [];
    for (let n = 1; n <= plains.length; n++) etags.push(await upload(n, plains[n - 1]!));
    const parts = etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 }));
    const body = await newFile(() => s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: key, UploadId, MultipartUpload: { Parts: parts } })));
    return { body, oldSealed, offset: (replaced - 1) * oldSealed.length };
  }

  for (const replaced of [1, 2] as const) {
    it(`part ${replaced}: the untampered object reads back; with the replaced stream spliced in, whole, ranged and partNumber GETs fail without its bytes`, async () => {
      const key = `replaced-${replaced}`;
      const plains = [Buffer.alloc(PART, 0x11), Buffer.alloc(PART, 0x22), Buffer.alloc(1000, 0x33)];
      const old = Buffer.alloc(PART, 0xee);
      const { body, oldSealed, offset } = await completeWithReplacedPart(key, replaced, plains, old);
      const whole = Buffer.concat(plains);
      const clean = await receive(s3, key);
      assert.equal(clean.failed, false);
      assert.ok(clean.bytes.equals(whole), 'the completed object holds the new part');

      const sealed = readFileSync(body);
      // The same size in, the same offsets after: only the replaced part's bytes differ.
      writeFileSync(body, Buffer.concat([sealed.subarray(0, offset), oldSealed, sealed.subarray(offset + oldSealed.length)]));
      const start = (replaced - 1) * PART;
      for (const extra of [{}, { Range: `bytes=${start}-${start + 99}` }, { PartNumber: replaced }]) {
        const r = await receive(s3, key, extra);
        assert.equal(r.failed, true, JSON.stringify(extra));
        assert.equal(r.bytes.includes(0xee), false, `no byte of the replaced part (${JSON.stringify(extra)})`);
        // What arrived is the object's verified prefix, nothing past the spliced part's start.
        assert.ok(r.bytes.length <= start && r.bytes.equals(whole.subarray(0, r.bytes.length)), JSON.stringify(extra));
        if (r.bytes.length === 0 && r.status !== undefined) assert.equal(r.status, '500 InternalError', JSON.stringify(extra));
      }
      // The parts it did not touch still read.
      const other = replaced === 1 ? 2 : 1;
      const untouched = await receive(s3, key, { PartNumber: other });
      assert.equal(untouched.failed, false);
      assert.ok(untouched.bytes.equals(plains[other - 1]!));
    });
  }
});
