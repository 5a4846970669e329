import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { loadConfig, type CipherlakeConfig } from '../../src/config/config.js';
import { startCipherlake, type RunningCipherlake } from '../../src/main.js';
import { FsObjectBackend } from '../../src/store/fs-objects/fs-object-backend.js';
import { bodyFile } from '../helpers/files.js';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { until } from '../helpers/until.js';

// A PUT that replaces an object, an UploadPart that replaces a part and a completion (its
// parts, and the object it replaces) remove the files no row names any more after they
// answer. When the removal fails, the request still succeeds, the failure is logged once at
// warn with the bucket and the storage id (never the object key or data), and the orphan
// sweep at the next start removes the file.

const B = 'removal-fails';
/** Object keys that must never reach the log. */
const KEY = 'replaced/key-name-3b9f';
const MP_KEY = 'multipart/key-name-c41e';
/** Above the inline limit: stored as a body file. */
const SIZE = 300_000;

interface Warning {
  readonly level: number;
  readonly bucket?: string;
  readonly storageId?: string;
  readonly msg: string;
}

describe('removing a replaced body file fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-removal-'));
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const warnings = (): Warning[] => lines.map((l) => JSON.parse(l) as Warning).filter((w) => w.storageId !== undefined);
  const remove = FsObjectBackend.prototype.delete;
  /** Storage ids whose removal was refused while `failing`. */
  const refused: string[] = [];
  let failing = false;
  let server: RunningCipherlake | undefined;
  let s3: S3Client;

  const start = async (): Promise<void> => {
    const base = loadConfig({ dataDir: dir, port: 0, logLevel: 'warn' }, {});
    const config: CipherlakeConfig = { ...base, https: { ...base.https, enabled: false, port: 0 }, rootCredentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY } };
    server = await startCipherlake(config, { logger: log });
    s3 = new S3Client({ endpoint: server.endpoint, region: TEST_REGION, credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }, forcePathStyle: true, maxAttempts: 1 });
  };
  const stop = async (): Promise<void> => {
    s3?.destroy();
    await server?.close();
    server = undefined;
  };
  const get = async (key: string): Promise<Buffer> => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body!.transformToByteArray());
  /** Waits until `n` removals were refused and logged; then one more round trip, so a second report of any would be in too. */
  const logged = async (n: number): Promise<void> => {
    await until(() => warnings().length >= n, `${n} removal failures logged`);
    await s3.send(new HeadObjectCommand({ Bucket: B, Key: KEY }));
  };

  before(async () => {
    FsObjectBackend.prototype.delete = function (this: FsObjectBackend, storageId: string) {
      if (!failing) return remove.call(this, storageId);
      refused.push(storageId);
      return Promise.reject(Object.assign(new Error('EIO: i/o error, unlink'), { code: 'EIO' }));
    };
    await start();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => {
    FsObjectBackend.prototype.delete = remove;
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a PUT replacing an object answers 200, logs the failure once (bucket and storage id only) and reads back the new object', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: KEY, Body: randomBytes(SIZE) }));
    failing = true;
    const replacement = randomBytes(SIZE);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: KEY, Body: replacement }));
    await logged(1);
    assert.equal(refused.length, 1);
    assert.deepEqual(
      warnings().map((w) => [w.level, w.bucket, w.storageId]),
      [[40, B, refused[0]]],
    );
    assert.ok(existsSync(bodyFile(dir, refused[0]!)), 'the replaced body is still there, for the sweep');
    assert.ok((await get(KEY)).equals(replacement));
    for (const line of lines) assert.equal(line.includes(KEY), false, `the object key is in the log: ${line}`);
  });

  it('an UploadPart replacing a part and the completion replacing the object answer 200 and log each failed removal once', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: MP_KEY }));
    await s3.send(new UploadPartCommand({ Bucket: B, Key: MP_KEY, UploadId, PartNumber: 1, Body: randomBytes(SIZE) }));
    const part = randomBytes(SIZE);
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: B, Key: MP_KEY, UploadId, PartNumber: 1, Body: part }));
    await logged(2);
    assert.equal(refused.length, 2, 'the first upload of part 1');
    // The completion replaces KEY's object: its part file and the replaced body are left.
    const { UploadId: second } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: KEY }));
    const p = await s3.send(new UploadPartCommand({ Bucket: B, Key: KEY, UploadId: second, PartNumber: 1, Body: part }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: KEY, UploadId: second, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag! }] } }));
    await logged(4);
    assert.equal(refused.length, 4, 'the part file and the replaced body');
    assert.deepEqual(
      warnings().map((w) => [w.level, w.bucket, w.storageId]),
      refused.map((id) => [40, B, id]),
    );
    assert.ok((await get(KEY)).equals(part));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: MP_KEY, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: ETag! }] } }));
    await logged(5);
    assert.ok((await get(MP_KEY)).equals(part));
    for (const id of refused) assert.ok(existsSync(bodyFile(dir, id)), `${id} is still there, for the sweep`);
    for (const line of lines) assert.equal(line.includes(KEY) || line.includes(MP_KEY), false, `an object key is in the log: ${line}`);
  });

  it('the orphan sweep at the next start removes every file whose removal failed; the objects still read back', async () => {
    await stop();
    failing = false;
    await start();
    for (const id of refused) assert.equal(existsSync(bodyFile(dir, id)), false, `${id} was swept`);
    assert.equal((await get(KEY)).length, SIZE);
    assert.equal((await get(MP_KEY)).length, SIZE);
  });
});
