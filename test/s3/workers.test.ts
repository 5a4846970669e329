import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { killServer, spawnServer, type ServerProcess } from '../helpers/server-process.js';

const CALLERS = 16;
const PUTS_EACH = 15;

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
});
