import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
  type CompleteMultipartUploadCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { StoredRange } from '../../src/s3/object-backend.js';
import { FsObjectBackend } from '../../src/store/fs-objects/fs-object-backend.js';
import { bodyFile } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';
import { errorCode } from './helpers.js';

// A CompleteMultipartUpload copies its parts' files into one body. While it does, another
// completion, an abort or a re-upload of a part may end the upload or replace a part and
// remove the file the completion is about to open. The completion must then answer as S3
// does (NoSuchUpload, or the completion of the parts the upload has now), never a 500, never
// an object mixing parts, and never lose the object another completion committed.
// The window is made certain by holding the completion's first part read (ReadHold).

const B = 'mp-races';
const MiB = 1024 * 1024;

/**
 * Patches FsObjectBackend.prototype.read (in this process, so for the in-process server): once
 * armed, the next read reports its storage id and opens the file only when released — a
 * completion stopped just before it opens its first part. Other reads run unchanged.
 */
class ReadHold {
  readonly #read = FsObjectBackend.prototype.read;
  #next: ((storageId: string) => Promise<void>) | undefined;

  install(): void {
    const hold = this;
    const read = this.#read;
    FsObjectBackend.prototype.read = function (this: FsObjectBackend, storageId: string, range?: StoredRange): Readable {
      const wait = hold.#next;
      hold.#next = undefined;
      if (wait === undefined) return read.call(this, storageId, range);
      const out = new PassThrough();
      void wait(storageId).then(() => {
        const source = read.call(this, storageId, range);
        source.once('error', (err) => out.destroy(err));
        source.pipe(out);
      });
      return out;
    };
  }

  uninstall(): void {
    FsObjectBackend.prototype.read = this.#read;
  }

  /** `entered` resolves with the held read's storage id; `release` lets it open the file. */
  arm(): { entered: Promise<string>; release(): void } {
    let entered!: (storageId: string) => void;
    let release!: () => void;
    const enteredP = new Promise<string>((resolve) => (entered = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#next = async (storageId) => {
      entered(storageId);
      await released;
    };
    return { entered: enteredP, release };
  }
}

interface Prepared {
  readonly key: string;
  readonly uploadId: string;
  readonly bodies: Buffer[];
  readonly parts: Array<{ PartNumber: number; ETag: string }>;
}

describe('S3 multipart completion racing a completion, an abort or a part re-upload', () => {
  let server: TestServer;
  let s3: S3Client;
  const hold = new ReadHold();

  before(async () => {
    server = await startTestServer();
    s3 = server.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    hold.install();
  });
  after(async () => {
    hold.uninstall();
    await server?.close();
  });

  const removed = (storageId: string, what: string): Promise<void> => until(() => !existsSync(bodyFile(server.dataDir, storageId)), what);
  const get = async (key: string): Promise<{ body: Buffer; etag: string | undefined }> => {
    const res = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
    return { body: Buffer.from(await res.Body!.transformToByteArray()), etag: res.ETag };
  };
  const uploadPart = async (p: Prepared, n: number, body: Buffer): Promise<string> =>
    (await s3.send(new UploadPartCommand({ Bucket: B, Key: p.key, UploadId: p.uploadId, PartNumber: n, Body: body }))).ETag!;
  const complete = (p: Prepared, parts = p.parts): Promise<CompleteMultipartUploadCommandOutput> =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: p.key, UploadId: p.uploadId, MultipartUpload: { Parts: parts } }));
  /** Bodies of writes that never committed: a refused completion leaves none. */
  const pendingBodies = (): string[] => readdirSync(join(server.dataDir, 'objects', 'tmp'));

  /** An upload of two parts: 5 MiB (the least a part but the last may be) and 100 KiB. */
  async function prepare(key: string): Promise<Prepared> {
    const uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }))).UploadId!;
    const p: Prepared = { key, uploadId, bodies: [randomBytes(5 * MiB), randomBytes(100 * 1024)], parts: [] };
    for (const [i, body] of p.bodies.entries()) p.parts.push({ PartNumber: i + 1, ETag: await uploadPart(p, i + 1, body) });
    return p;
  }

  /** Starts completing `p` and holds it before it opens part 1; resolves with part 1's storage id and the completion's outcome. */
  async function heldCompletion(p: Prepared, parts = p.parts): Promise<{ partFile: string; release(): void; outcome: Promise<CompleteMultipartUploadCommandOutput> }> {
    const held = hold.arm();
    const outcome = complete(p, parts);
    outcome.catch(() => undefined); // awaited by the test; not an unhandled rejection meanwhile
    return { partFile: await held.entered, release: held.release, outcome };
  }

  it('a second completion of an upload another completion ended meanwhile answers NoSuchUpload and keeps the winner', async () => {
    const p = await prepare('twice');
    const loser = await heldCompletion(p);
    const won = await complete(p);
    await removed(loser.partFile, 'the completed upload\'s part file is removed');
    loser.release();
    assert.equal(await errorCode(loser.outcome), '404 NoSuchUpload');
    const got = await get(p.key);
    assert.ok(got.body.equals(Buffer.concat(p.bodies)), 'the winner\'s object');
    assert.equal(got.etag, won.ETag);
    assert.deepEqual(pendingBodies(), [], 'the loser discarded what it had joined');
    // The upload ended: a part uploaded now is refused, as S3 does.
    assert.equal(await errorCode(uploadPart(p, 1, randomBytes(1000))), '404 NoSuchUpload');
  });

  it('a completion racing an abort answers NoSuchUpload and makes no object', async () => {
    const p = await prepare('aborted');
    const c = await heldCompletion(p);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: p.key, UploadId: p.uploadId }));
    await removed(c.partFile, 'the aborted upload\'s part file is removed');
    c.release();
    assert.equal(await errorCode(c.outcome), '404 NoSuchUpload');
    assert.equal(await errorCode(get(p.key)), '404 NoSuchKey');
    assert.deepEqual(pendingBodies(), []);
  });

  it('a completion whose part was re-uploaded with the same bytes while it joined completes with the current part', async () => {
    const p = await prepare('same-bytes');
    const c = await heldCompletion(p);
    assert.equal(await uploadPart(p, 1, p.bodies[0]!), p.parts[0]!.ETag);
    await removed(c.partFile, 'the replaced part file is removed');
    c.release();
    const done = await c.outcome;
    const got = await get(p.key);
    assert.ok(got.body.equals(Buffer.concat(p.bodies)));
    assert.equal(got.etag, done.ETag);
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: p.key }));
    assert.equal((open.Uploads ?? []).length, 0, 'the upload ended');
  });

  it('a completion whose part was re-uploaded with other bytes answers InvalidPart and leaves the upload to complete with the new part', async () => {
    const p = await prepare('other-bytes');
    const c = await heldCompletion(p);
    const fresh = randomBytes(5 * MiB);
    const freshEtag = await uploadPart(p, 1, fresh);
    await removed(c.partFile, 'the replaced part file is removed');
    c.release();
    // The list names part 1's old ETag, which the upload no longer has: S3's InvalidPart.
    assert.equal(await errorCode(c.outcome), '400 InvalidPart');
    assert.deepEqual(pendingBodies(), []);
    assert.equal(await errorCode(get(p.key)), '404 NoSuchKey', 'no object yet');
    await complete(p, [{ PartNumber: 1, ETag: freshEtag }, p.parts[1]!]);
    assert.ok((await get(p.key)).body.equals(Buffer.concat([fresh, p.bodies[1]!])), 'the new part 1, then part 2');
  });
});
