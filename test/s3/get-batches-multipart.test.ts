import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
  type GetObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { encryptedSize, SegmentOpener } from '../../src/crypto/index.js';
import { FsObjectBackend } from '../../src/store/fs-objects/fs-object-backend.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { filesUnder } from '../helpers/files.js';
import { watchHandlerCalls } from './handler-calls.js';
import { receiveGet, viaTrustedProxy, type Received } from './helpers.js';

// A multipart GET is read in batches like a single-part one (src/s3/operations/read-large.ts):
// part by part, only the parts the range touches, each part's segment stream (MULTIPART.md:
// its own part key and binding, back to back in one body file) in ~1 MiB batches opened on the
// thread pool when the addon is loaded. A tampered, cut, extended or misplaced part must fail
// the GET before any byte of its bad batch reaches the client: an S3 error when nothing was
// sent yet, a cut connection after the verified bytes otherwise.

const B = 'mp-batches';
const MiB = 1024 * 1024;
const SEGMENT = 64 * 1024;
const UNIT = SEGMENT + 16;
const HEADER = 45;
/** Parts of odd sizes (no segment multiples), the last short. */
const SIZES = [5 * MiB + 12_345, 5 * MiB + 777, 100_001];
const SIZE = SIZES.reduce((a, b) => a + b, 0);
/** Where each part's plaintext starts in the object, and its sealed stream in the body. */
const PLAIN_AT = [0, SIZES[0]!, SIZES[0]! + SIZES[1]!];
const SEALED_AT = [0, encryptedSize(SIZES[0]!), encryptedSize(SIZES[0]!) + encryptedSize(SIZES[1]!)];

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * seed + (i >> 14)) & 0xff;
  return b;
}

/** What a GET of this suite's bucket delivers (receiveGet). */
const receive = (s3: S3Client, input: Omit<GetObjectCommandInput, 'Bucket'>): Promise<Received> => receiveGet(s3, { Bucket: B, ...input });

describe('S3 GET of a multipart object, in batches', () => {
  let t: TestServer;
  let s3: S3Client;
  const body = pattern(SIZE, 13);
  /** The body file of each object by key, and its bytes as stored. */
  const files = new Map<string, { file: string; original: Buffer }>();

  /** Uploads `parts` as a multipart object (SSE-KMS when `kmsKeyId`) and notes its body file. */
  async function putMultipart(key: string, parts: readonly Buffer[], kmsKeyId?: string): Promise<void> {
    const sse = kmsKeyId !== undefined ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyId } : {};
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key, ...sse }));
    const etags: string[] = [];
    for (const [i, p] of parts.entries()) etags.push((await s3.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: i + 1, Body: p }))).ETag!);
    const data = join(t.dataDir, 'objects', 'data');
    const seen = new Set(filesUnder(data));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    const added = filesUnder(data).filter((f) => !seen.has(f));
    assert.equal(added.length, 1, 'one body for the completed object');
    files.set(key, { file: added[0]!, original: readFileSync(added[0]!) });
  }

  /** Runs `fn` with the body file of `key` replaced by `bytes`, then puts the original back. */
  async function withBody(key: string, bytes: Buffer, fn: () => Promise<void>): Promise<void> {
    const { file, original } = files.get(key)!;
    writeFileSync(file, bytes);
    try {
      await fn();
    } finally {
      writeFileSync(file, original);
    }
  }

  before(async () => {
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = viaTrustedProxy(t.s3());
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    const key = await t.kms().send(new CreateKeyCommand({}));
    await putMultipart('odd', SIZES.map((n, i) => body.subarray(PLAIN_AT[i]!, PLAIN_AT[i]! + n)), key.KeyMetadata!.KeyId!);
    assert.equal(files.get('odd')!.original.length, SEALED_AT[2]! + encryptedSize(SIZES[2]!));
  });
  after(() => t.close());

  it('reads whole, by ranges within a part, across part boundaries and to the end, by suffix and by part number', async () => {
    const whole = await receive(s3, { Key: 'odd' });
    assert.equal(whole.failed, false);
    assert.ok(whole.bytes.equals(body));
    const [, p2, p3] = PLAIN_AT as [number, number, number];
    const ranges: Array<[string, number, number]> = [
      ['within part 1', 1000, 70_000],
      ['within part 2, over batch boundaries', p2 + 5, p2 + 3 * MiB],
      ['the last byte of part 1 and the first of part 2', p2 - 1, p2],
      ['the end of part 1 into part 2', p2 - 100_000, p2 + 200_000],
      ['across all three parts', 12, SIZE - 2],
      ['part 2 whole to the end', p2, SIZE - 1],
      ['the first byte of part 3', p3, p3],
    ];
    for (const [name, a, b] of ranges) {
      const r = await receive(s3, { Key: 'odd', Range: `bytes=${a}-${b}` });
      assert.equal(r.failed, false, name);
      assert.equal(r.contentRange, `bytes ${a}-${b}/${SIZE}`, name);
      assert.ok(r.bytes.equals(body.subarray(a, b + 1)), name);
    }
    for (const suffix of [1, 1000, SIZES[2]! + 10, SIZE + 5]) {
      const r = await receive(s3, { Key: 'odd', Range: `bytes=-${suffix}` });
      assert.equal(r.failed, false, `suffix ${suffix}`);
      assert.ok(r.bytes.equals(body.subarray(Math.max(0, SIZE - suffix))), `suffix ${suffix}`);
    }
    for (const [i, n] of SIZES.entries()) {
      const r = await receive(s3, { Key: 'odd', PartNumber: i + 1 });
      assert.equal(r.failed, false, `part ${i + 1}`);
      assert.equal(r.partsCount, 3);
      assert.equal(r.contentRange, `bytes ${PLAIN_AT[i]!}-${PLAIN_AT[i]! + n - 1}/${SIZE}`);
      assert.ok(r.bytes.equals(body.subarray(PLAIN_AT[i]!, PLAIN_AT[i]! + n)), `part ${i + 1}`);
    }
  });

  it('concurrent GETs of multipart objects, read slowly, each receive exactly their bytes', async () => {
    // Each part's read buffers go back to the pool when the part ends and the next part takes
    // some again, while other GETs take and return theirs: a buffer pooled before its read
    // landed would carry one GET's bytes into another (or fail its tags).
    const other = pattern(5 * MiB + 4321 + 2 * MiB + 99, 7);
    await putMultipart('other', [other.subarray(0, 5 * MiB + 4321), other.subarray(5 * MiB + 4321)]);
    const expected = new Map([
      ['odd', body],
      ['other', other],
    ]);
    const slowRead = async (key: string): Promise<Buffer> => {
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
      const chunks: Buffer[] = [];
      for await (const c of got.Body as Readable) {
        chunks.push(c as Buffer);
        await new Promise((resolve) => setTimeout(resolve, chunks.length % 8 === 0 ? 5 : 0));
      }
      return Buffer.concat(chunks);
    };
    const reads = ['odd', 'other', 'odd', 'other', 'odd', 'other'].map(async (key) => ({ key, bytes: await slowRead(key) }));
    for (const { key, bytes } of await Promise.all(reads)) assert.ok(bytes.equals(expected.get(key)!), key);
  });

  for (const [where, at, segment] of [
    ['the header of part 2', SEALED_AT[1]! + 20, 0],
    ['the first segment of part 2', SEALED_AT[1]! + HEADER + 7, 0],
    ['a segment of the third batch of part 2', SEALED_AT[1]! + HEADER + 37 * UNIT + 100, 37],
    ['the final tag of part 2', SEALED_AT[2]! - 1, 80],
  ] as const) {
    it(`a flipped byte in ${where}: the GETs that touch part 2 fail, no byte of its bad batch reaches the client`, async () => {
      const bad = Buffer.from(files.get('odd')!.original);
      bad[at] = bad[at]! ^ 0x04;
      await withBody('odd', bad, async () => {
        const batchStart = PLAIN_AT[1]! + Math.floor(segment / 16) * 16 * SEGMENT;
        const r = await receive(s3, { Key: 'odd' });
        assert.equal(r.failed, true, 'the whole GET fails');
        assert.ok(r.bytes.length <= batchStart, `${r.bytes.length} bytes received, the bad batch starts at ${batchStart}`);
        assert.ok(r.bytes.equals(body.subarray(0, r.bytes.length)), 'what arrived is the verified prefix');
        const part = await receive(s3, { Key: 'odd', PartNumber: 2 });
        assert.equal(part.failed, true, 'part 2 fails');
        assert.ok(part.bytes.equals(body.subarray(PLAIN_AT[1]!, PLAIN_AT[1]! + part.bytes.length)));
        assert.ok(PLAIN_AT[1]! + part.bytes.length <= batchStart);
        if (segment < 16) assert.equal(part.status, '500 InternalError', 'a failure before anything was sent is an S3 error');
        const across = await receive(s3, { Key: 'odd', Range: `bytes=${PLAIN_AT[1]! - 10}-${PLAIN_AT[2]! + 10}` });
        assert.equal(across.failed, true, 'a range over the part boundary fails');
        assert.ok(across.bytes.equals(body.subarray(PLAIN_AT[1]! - 10, PLAIN_AT[1]! - 10 + across.bytes.length)));
        for (const [a, b] of [
          [0, 999],
          [PLAIN_AT[2]!, SIZE - 1],
        ] as const) {
          const ok = await receive(s3, { Key: 'odd', Range: `bytes=${a}-${b}` });
          assert.equal(ok.failed, false, `bytes ${a}-${b} (another part) still read`);
          assert.ok(ok.bytes.equals(body.subarray(a, b + 1)));
        }
      });
    });
  }

  it('a body cut short anywhere or one byte too long fails the GET after the verified prefix', async () => {
    const { original } = files.get('odd')!;
    for (const length of [SEALED_AT[1]! - 1, SEALED_AT[1]!, SEALED_AT[1]! + HEADER, SEALED_AT[2]! - 1, SEALED_AT[2]!, original.length - 1]) {
      await withBody('odd', original.subarray(0, length), async () => {
        const r = await receive(s3, { Key: 'odd' });
        assert.equal(r.failed, true, `cut at ${length}`);
        assert.ok(r.bytes.equals(body.subarray(0, r.bytes.length)), `cut at ${length}: a verified prefix`);
        const last = await receive(s3, { Key: 'odd', PartNumber: 3 });
        assert.equal(last.failed, true, `cut at ${length}: part 3`);
        assert.equal(last.status, '500 InternalError');
      });
    }
    await withBody('odd', Buffer.concat([original, Buffer.from([0])]), async () => {
      const r = await receive(s3, { Key: 'odd' });
      assert.equal(r.failed, true, 'one byte too long');
      assert.ok(r.bytes.length <= PLAIN_AT[2]!, 'nothing of the last part');
      assert.ok(r.bytes.equals(body.subarray(0, r.bytes.length)));
    });
  });

  it('an upload completed with an empty last part: a body extended past it, or with its stream cut, fails before anything is sent', async () => {
    const first = pattern(5 * MiB + 3, 11);
    await putMultipart('empty-last', [first, Buffer.alloc(0)]);
    const { original } = files.get('empty-last')!;
    assert.equal(original.length, encryptedSize(first.length) + encryptedSize(0));
    assert.ok((await receive(s3, { Key: 'empty-last' })).bytes.equals(first));
    for (const [name, bytes] of [
      ['one byte too long', Buffer.concat([original, Buffer.from([0])])],
      ['the empty part cut', original.subarray(0, encryptedSize(first.length))],
    ] as const) {
      await withBody('empty-last', bytes, async () => {
        for (const input of [{}, { Range: 'bytes=-10' }, { PartNumber: 1 }]) {
          const r = await receive(s3, { Key: 'empty-last', ...input });
          assert.equal(r.status, '500 InternalError', `${name}, ${JSON.stringify(input)}`);
        }
        const short = await receive(s3, { Key: 'empty-last', Range: `bytes=0-${first.length - 2}` });
        assert.ok(short.bytes.equals(first.subarray(0, first.length - 1)), `${name}: a range short of the end reads as before`);
      });
    }
  });

  it('two parts of one size swapped: neither opens in the place of the other, the third still reads', async () => {
    const n = 5 * MiB + 333;
    const swapped = pattern(2 * n + 1000, 5);
    await putMultipart('swap', [swapped.subarray(0, n), swapped.subarray(n, 2 * n), swapped.subarray(2 * n)]);
    const { original } = files.get('swap')!;
    const e = encryptedSize(n);
    await withBody('swap', Buffer.concat([original.subarray(e, 2 * e), original.subarray(0, e), original.subarray(2 * e)]), async () => {
      const r = await receive(s3, { Key: 'swap' });
      assert.equal(r.failed, true);
      assert.equal(r.bytes.length, 0);
      assert.equal(r.status, '500 InternalError');
      assert.equal((await receive(s3, { Key: 'swap', PartNumber: 2 })).status, '500 InternalError');
      const third = await receive(s3, { Key: 'swap', PartNumber: 3 });
      assert.equal(third.failed, false);
      assert.ok(third.bytes.equals(swapped.subarray(2 * n)));
    });
  });

  it('a client that leaves in the middle of part 2 ends the GET: the rest is neither read nor opened', async () => {
    const big = pattern(16 * MiB, 3);
    await putMultipart('leave', [big.subarray(0, 8 * MiB), big.subarray(8 * MiB)]);
    const calls = watchHandlerCalls();
    const updateAsync = SegmentOpener.prototype.updateAsync;
    const openReader = FsObjectBackend.prototype.openReader;
    let opened = 0;
    let reads = 0;
    let closes = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // 8 batches per part: the 10th (part 2's second) is held until the client has gone, with
    // 9 MiB sent and read by the client.
    SegmentOpener.prototype.updateAsync = async function (this: SegmentOpener, ...args: Parameters<typeof updateAsync>) {
      opened += 1;
      if (opened === 10) await gate;
      return updateAsync.apply(this, args);
    };
    // The body's reads and closes (one reader: this GET's).
    FsObjectBackend.prototype.openReader = async function (this: FsObjectBackend, storageId: string) {
      const reader = await openReader.call(this, storageId);
      return {
        read: (...args: Parameters<typeof reader.read>) => {
          reads += 1;
          return reader.read(...args);
        },
        close: () => {
          closes += 1;
          return reader.close();
        },
      };
    };
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'leave' }));
      const stream = got.Body as Readable;
      const chunks: Buffer[] = [];
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (c: Buffer) => {
          chunks.push(c);
          received += c.length;
          if (received >= 9 * MiB) resolve();
        });
        stream.on('error', reject);
      });
      assert.equal(received, 9 * MiB, 'part 1 and the first batch of part 2, nothing of the held one');
      assert.ok(Buffer.concat(chunks).equals(big.subarray(0, 9 * MiB)));
      stream.destroy();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(calls.inFlight, 1, 'the GET is still waiting for its held batch');
      release();
      for (let i = 0; i < 100 && calls.inFlight > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(calls.inFlight, 0, 'the handler returned');
      assert.ok(opened <= 12, `${opened} of 16 batches opened for a client that left after 9`);
      // The held batch and two read ahead of it at most.
      assert.ok(reads <= 12, `${reads} of 16 batches read for a client that left after 9`);
      assert.equal(closes, 1, 'the body closed once');
    } finally {
      release();
      SegmentOpener.prototype.updateAsync = updateAsync;
      FsObjectBackend.prototype.openReader = openReader;
      calls.restore();
    }
  });
});
