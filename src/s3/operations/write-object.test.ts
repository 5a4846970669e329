import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { FsObjectBackend } from '../../store/fs-objects/fs-object-backend.js';
import type { VerifiedRequest } from '../../iam/index.js';
import { IncompleteBodyError } from '../errors.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { S3Deps } from '../s3-deps.js';
import type { SealedObjectKey, SseMode } from '../sse/sealing.js';
import { openPayload } from '../wire/payload.js';
import { writeObject, type WriteRequest } from './write-object.js';

// The file path of writeObject (bodies above the inline limit) against a real FsObjectBackend
// and a stub metadata store: the plaintext is counted and (SSE-S3 only) hashed inside the
// encryptor, and a body that fails or is cut leaves no file behind.

const root = mkdtempSync(join(tmpdir(), 'cipherlake-write-object-'));
after(() => rmSync(root, { recursive: true, force: true }));
const backend = new FsObjectBackend(root);
const committed: ObjectRecord[] = [];
const store = { putObject: async (r: ObjectRecord): Promise<string | undefined> => (committed.push(r), undefined) };
const deps = { store, backend, clock: { now: () => new Date(0) } } as unknown as S3Deps;

function mode(label: 'SSE-S3' | 'SSE-KMS'): SseMode {
  const sealed = { v: 1, mode: label, kmsBlob: 'b', sealed: 's', keyArn: 'k', context: {} } as unknown as SealedObjectKey;
  return { label, seal: async () => sealed, unseal: async () => assert.fail('not used') } as unknown as SseMode;
}

function request(body: Readable, label: 'SSE-S3' | 'SSE-KMS', declaredSize?: number): WriteRequest {
  return { bucket: 'b', key: 'k', body, ...(declaredSize !== undefined ? { declaredSize } : {}), verify: () => undefined, mode: mode(label), content: {}, userMetadata: {}, checksums: () => ({}) };
}

/** 64 KiB pieces of `data`, one per tick, as a socket hands them over. */
function chunked(data: Buffer): Readable {
  let at = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        const n = Math.min(65536, data.length - at);
        this.push(n > 0 ? data.subarray(at, at + n) : null);
        at += n;
      });
    },
  });
}

describe('writeObject: bodies written to files', () => {
  it('counts the plaintext and gives SSE-S3 the MD5 ETag, other modes an opaque one', async () => {
    const data = randomBytes(300_000);
    const s3 = await writeObject(deps, request(chunked(data), 'SSE-S3', data.length));
    assert.equal(s3.size, data.length);
    assert.equal(s3.etag, `"${createHash('md5').update(data).digest('hex')}"`);
    const kms = await writeObject(deps, request(chunked(data), 'SSE-KMS', data.length));
    assert.equal(kms.size, data.length);
    assert.notEqual(kms.etag, s3.etag);
    assert.equal(backend.listStorageIds().length, 2);
  });

  it('a body that fails or closes before its end rejects and leaves no file', async () => {
    const before = backend.listStorageIds().length;
    const failing = chunked(randomBytes(300_000));
    setImmediate(() => failing.destroy(new Error('client went away')));
    await assert.rejects(writeObject(deps, request(failing, 'SSE-KMS')), /client went away/);
    const cut = chunked(randomBytes(300_000));
    setImmediate(() => cut.destroy());
    await assert.rejects(writeObject(deps, request(cut, 'SSE-KMS')), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    assert.equal(backend.listStorageIds().length, before);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  });

  it('a request body whose client goes away while the body file is being created rejects with IncompleteBody (no uncaught error) and leaves no file', async () => {
    const source = new PassThrough();
    const payload = openPayload({ headers: { 'content-length': '300000' } } as unknown as IncomingMessage, { payloadHash: 'UNSIGNED-PAYLOAD' } as VerifiedRequest, undefined, source);
    source.write(randomBytes(65536));
    const gone: S3Deps = {
      ...deps,
      backend: Object.assign(Object.create(backend) as FsObjectBackend, {
        create: async () => {
          source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
          await new Promise((resolve) => setImmediate(resolve));
          return backend.create();
        },
      }),
    } as S3Deps;
    const before = backend.listStorageIds().length;
    const req: WriteRequest = { ...request(Readable.from([]), 'SSE-KMS', 300_000), body: () => payload.stream, abort: payload.abort, verify: payload.verify };
    await assert.rejects(writeObject(gone, req), IncompleteBodyError);
    assert.equal(backend.listStorageIds().length, before);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  });

  it("a refused metadata commit deletes the body; one whose WAL sync failed after the row committed keeps it (the row is visible and may survive)", async () => {
    const data = randomBytes(300_000);
    const failing = (err: Error): S3Deps => ({ ...deps, store: { putObject: async () => Promise.reject(err) } }) as unknown as S3Deps;
    const before = backend.listStorageIds();
    await assert.rejects(writeObject(failing(new Error('refused')), request(chunked(data), 'SSE-KMS', data.length)), /refused/);
    assert.deepEqual(backend.listStorageIds(), before);
    const unsynced = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', committedUnsynced: true });
    await assert.rejects(writeObject(failing(unsynced), request(chunked(data), 'SSE-KMS', data.length)), { code: 'EIO' });
    const kept = backend.listStorageIds().filter((id) => !before.includes(id));
    assert.equal(kept.length, 1, 'the body of the committed row is still there');
    await backend.delete(kept[0]!);
  });
});

describe('writeObject: the body it replaces', () => {
  it("resolves once the new row is durable, with the replaced body's removal started but not awaited; a removal that fails fails nothing and is logged once", async () => {
    const data = randomBytes(300_000);
    const removals: string[] = [];
    const warnings: Array<{ fields: object; message: string }> = [];
    let finishRemoval: (err?: Error) => void = () => undefined;
    const replacing = (replaced: string): S3Deps =>
      ({
        ...deps,
        log: { warn: (fields: object, message: string) => warnings.push({ fields, message }) },
        store: { putObject: async (): Promise<string> => replaced },
        backend: {
          create: () => backend.create(),
          delete: (id: string) => {
            removals.push(id);
            return new Promise<void>((resolve, reject) => (finishRemoval = (err) => (err === undefined ? resolve() : reject(err))));
          },
        },
      }) as unknown as S3Deps;
    // The removal never settles on its own: writeObject would hang here if it awaited it (bounded, so the test fails instead).
    const bounded = <T>(p: Promise<T>): Promise<T> =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('writeObject waited for the removal of the body it replaced')), 10_000).unref())]);
    const first = await bounded(writeObject(replacing('old-body'), request(chunked(data), 'SSE-KMS', data.length)));
    assert.deepEqual(removals, ['old-body']);
    finishRemoval();
    const second = await writeObject(replacing('older-body'), request(chunked(data), 'SSE-KMS', data.length));
    assert.deepEqual(removals, ['old-body', 'older-body']);
    // Left to the orphan sweep at the next start: no rejection reaches anyone (the test runner
    // fails on an unhandled one); the failure is logged with the bucket and the storage id only.
    const failure = Object.assign(new Error('EIO: i/o error, unlink'), { code: 'EIO' });
    finishRemoval(failure);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, [{ fields: { err: failure, bucket: 'b', storageId: 'older-body' }, message: warnings[0]?.message }]);
    assert.match(warnings[0]!.message, /orphan sweep/);
    for (const o of [first, second]) await backend.delete(o.storageId);
  });
});

describe('writeObject: inline bodies read whole', () => {
  /** A request whose body is read only through readWhole: opening `body` fails the test. */
  function wholeRequest(data: Buffer, seal: SseMode['seal'], aborted: Error[]): WriteRequest {
    const base = request(Readable.from([]), 'SSE-KMS', data.length);
    return {
      ...base,
      body: () => assert.fail('body opened'),
      readWhole: async (limit) => (assert.equal(limit, data.length), data),
      abort: (err) => void aborted.push(err),
      mode: { ...base.mode, seal } as SseMode,
    };
  }

  it('a body stored inline is read with readWhole when given, never through `body`', async () => {
    const data = randomBytes(4096);
    const aborted: Error[] = [];
    const o = await writeObject(deps, wholeRequest(data, mode('SSE-KMS').seal, aborted));
    assert.equal(o.size, data.length);
    assert.ok(o.inlineBody !== undefined && o.inlineBody.length > data.length);
    assert.deepEqual(aborted, []);
  });

  it('a failed seal stops the body through abort (not body.destroy) and rejects with its error', async () => {
    const aborted: Error[] = [];
    const err = new Error('KMS refused');
    await assert.rejects(writeObject(deps, wholeRequest(randomBytes(100), async () => Promise.reject(err), aborted)), (e) => e === err);
    assert.deepEqual(aborted, [err]);
  });
});
