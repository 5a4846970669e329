import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { SegmentOpenPool } from '../../src/s3/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';

const B = 'offload';
const SIZE = 9 * 1024 * 1024 + 12_345;

// Large single-part GETs are decrypted on the server's open thread (read-large.ts, open-pool.ts):
// the same bytes as in-thread for whole, ranged and suffix reads; a tampered body never yields
// wrong bytes; a client that leaves mid-body leaves no open body file and no key on the thread.
describe('a large GET decrypted on an open thread', () => {
  let t: TestServer;
  let s3: S3Client;
  const plain = randomBytes(SIZE);
  const pools = new Set<SegmentOpenPool>();
  let opened = 0;
  const open = SegmentOpenPool.prototype.open;
  let file = '';

  before(async () => {
    SegmentOpenPool.prototype.open = function (this: SegmentOpenPool, ...args) {
      pools.add(this);
      opened += 1;
      return open.apply(this, args);
    };
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    const { KeyMetadata } = await t.kms().send(new CreateKeyCommand({}));
    const before = new Set(bodyFiles());
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'big', Body: plain, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KeyMetadata!.KeyId! }));
    file = bodyFiles().find((f) => !before.has(f))!;
    assert.ok(file !== undefined);
  });
  after(async () => {
    SegmentOpenPool.prototype.open = open;
    await t.close();
  });

  function bodyFiles(): string[] {
    const root = join(t.dataDir, 'objects', 'data');
    return readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  }

  /** Descriptors of this process (the server runs in it) open on the object's body file. */
  function openBodies(): number {
    return readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === file;
      } catch {
        return false;
      }
    }).length;
  }

  async function get(range?: string): Promise<Buffer> {
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'big', ...(range !== undefined ? { Range: range } : {}) }));
    return Buffer.from(await got.Body!.transformToByteArray());
  }

  it('returns the same bytes whole, for ranges (first and last segments, across the end) and suffixes', async () => {
    const before = opened;
    assert.ok((await get()).equals(plain));
    const cases: Array<[string, number, number]> = [
      ['bytes=0-2500000', 0, 2_500_001],
      ['bytes=65535-4000000', 65_535, 4_000_001],
      [`bytes=${SIZE - 3_000_000}-${SIZE - 1}`, SIZE - 3_000_000, SIZE],
      [`bytes=${SIZE - 2_600_000}-`, SIZE - 2_600_000, SIZE],
      ['bytes=-3000001', SIZE - 3_000_001, SIZE],
      ['bytes=-100', SIZE - 100, SIZE],
      [`bytes=1-${SIZE + 50}`, 1, SIZE],
    ];
    for (const [range, from, to] of cases) assert.ok((await get(range)).equals(plain.subarray(from, to)), range);
    // Every one of them but the 100-byte suffix went through the open thread.
    assert.equal(opened - before, cases.length);
    assert.equal(pools.size, 1);
  });

  it('a client that leaves mid-body: the body file is closed, the key dropped on the thread, the next GET whole', async () => {
    const abort = new AbortController();
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'big' }), { abortSignal: abort.signal });
    const body = got.Body as Readable;
    await new Promise((resolve) => body.once('data', resolve));
    abort.abort();
    body.destroy();
    for (let i = 0; i < 100 && openBodies() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(openBodies(), 0);
    const [pool] = pools;
    assert.deepEqual(await pool!.liveStreams(), [0]);
    assert.ok((await get()).equals(plain));
  });

  it('a tampered byte: before the first batch an InternalError, later a cut connection after verified bytes only', async () => {
    const original = readFileSync(file);
    try {
      const first = Buffer.from(original);
      first[100] = first[100]! ^ 1;
      writeFileSync(file, first);
      assert.equal(await errorCode(get()), '500 InternalError');
      const middle = Buffer.from(original);
      const at = original.length >> 1;
      middle[at] = middle[at]! ^ 1;
      writeFileSync(file, middle);
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'big' }));
      const received: Buffer[] = [];
      await assert.rejects(
        new Promise<void>((resolve, reject) => {
          const b = got.Body as Readable;
          b.on('data', (chunk: Buffer) => received.push(chunk));
          b.on('end', resolve);
          b.on('error', reject);
        }),
      );
      const prefix = Buffer.concat(received);
      assert.ok(prefix.length < at, `${prefix.length} bytes received`);
      assert.ok(prefix.equals(plain.subarray(0, prefix.length)), 'only verified bytes were sent');
      const [pool] = pools;
      assert.deepEqual(await pool!.liveStreams(), [0]);
    } finally {
      writeFileSync(file, original);
    }
    assert.ok((await get()).equals(plain));
  });
});
