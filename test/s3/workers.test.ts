import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { killServer, spawnServer, type ServerProcess } from '../helpers/server-process.js';

const CALLERS = 16;
const PUTS_EACH = 15;
const MP_CALLERS = 8;
const MP_ROUNDS = 6;

describe('S3 under cipherlake server --workers 2', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  let client: S3Client | undefined;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-s3-workers-'));
  });
  after(async () => {
    client?.destroy();
    await killServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('concurrent small PUTs from both workers all commit (the metadata group commits of two processes wait for each other instead of failing busy)', async () => {
    server = await spawnServer({ dataDir, args: ['--workers', '2'], timeoutMs: 25_000 });
    client = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    const s3 = client;
    await s3.send(new CreateBucketCommand({ Bucket: 'workers' }));
    // Many connections at once: the primary deals them to both workers, whose inline PUTs
    // commit through each process's group commit into the one metadata database. Before
    // those commits took the write lock up front, one that had read first got SQLITE_BUSY
    // at once whenever the other process had committed meanwhile (an InternalError here).
    const failures: string[] = [];
    const caller = async (c: number): Promise<void> => {
      for (let i = 0; i < PUTS_EACH; i++) {
        try {
          await s3.send(new PutObjectCommand({ Bucket: 'workers', Key: `k-${c}-${i}`, Body: `body ${c} ${i}`, ServerSideEncryption: 'aws:kms' }));
        } catch (err) {
          failures.push(`${c}/${i}: ${(err as Error).name}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, (_, c) => caller(c)));
    assert.deepEqual(failures, []);
    for (const [c, i] of [[0, 0], [CALLERS - 1, PUTS_EACH - 1], [3, 7]] as const) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'workers', Key: `k-${c}-${i}` }));
      assert.equal(await got.Body?.transformToString(), `body ${c} ${i}`);
    }
  });
  it('concurrent part uploads, multipart completions and bucket policy / public access block writes from both workers all succeed (read-then-write transactions take the write lock up front)', async () => {
    assert.ok(client !== undefined, 'the server of the previous test runs');
    const s3 = client;
    await s3.send(new CreateBucketCommand({ Bucket: 'workers-mp' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'workers-cfg' }));
    // Each of these is a transaction that reads before it writes (the upload row, the bucket
    // row, the object it replaces). Started DEFERRED, one whose read snapshot another process
    // committed past gets SQLITE_BUSY at once (busy_timeout does not apply): an InternalError.
    const failures: string[] = [];
    const attempt = async (what: string, op: () => Promise<unknown>): Promise<void> => {
      try {
        await op();
      } catch (err) {
        failures.push(`${what}: ${(err as Error).name}`);
      }
    };
    const completer = async (c: number): Promise<void> => {
      for (let i = 0; i < MP_ROUNDS; i++) {
        const Key = `mp-${c}-${i}`;
        await attempt(`${Key} complete`, async () => {
          const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'workers-mp', Key }));
          const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'workers-mp', Key, UploadId, PartNumber: 1, Body: `part ${c} ${i}` }));
          await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'workers-mp', Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: ETag! }] } }));
        });
      }
    };
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::workers-cfg/never/*' }],
    });
    const block = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false };
    const configurer = async (c: number): Promise<void> => {
      for (let i = 0; i < MP_ROUNDS * 3; i++) {
        await attempt(`cfg ${c}/${i} policy`, () => s3.send(new PutBucketPolicyCommand({ Bucket: 'workers-cfg', Policy: policy })));
        await attempt(`cfg ${c}/${i} block`, () => s3.send(new PutPublicAccessBlockCommand({ Bucket: 'workers-cfg', PublicAccessBlockConfiguration: block })));
        await attempt(`cfg ${c}/${i} unpolicy`, () => s3.send(new DeleteBucketPolicyCommand({ Bucket: 'workers-cfg' })));
        await attempt(`cfg ${c}/${i} unblock`, () => s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'workers-cfg' })));
      }
    };
    // Small PUTs keep both processes' group commits moving the database on meanwhile.
    const putter = async (c: number): Promise<void> => {
      for (let i = 0; i < MP_ROUNDS * 3; i++) await attempt(`put ${c}/${i}`, () => s3.send(new PutObjectCommand({ Bucket: 'workers-mp', Key: `p-${c}-${i}`, Body: 'x' })));
    };
    await Promise.all([
      ...Array.from({ length: MP_CALLERS }, (_, c) => completer(c)),
      ...Array.from({ length: MP_CALLERS / 2 }, (_, c) => configurer(c)),
      ...Array.from({ length: MP_CALLERS / 2 }, (_, c) => putter(c)),
    ]);
    assert.deepEqual(failures, []);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'workers-mp', Key: `mp-${MP_CALLERS - 1}-${MP_ROUNDS - 1}` }));
    assert.equal(await got.Body?.transformToString(), `part ${MP_CALLERS - 1} ${MP_ROUNDS - 1}`);
  });
});
