import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { sealBuffer, SecretBytes } from '../../crypto/index.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { BodyReader, ObjectBackend } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';
import { dataBinding } from '../sse/sealing.js';
import { readPlaintext } from './read-object.js';

// A stream readPlaintext returns may fail while nobody reads it: a caller that has not begun
// (a copy waiting for its target's key and file) or one that stopped (a consumer that left
// the stream for later). Such a failure must leave the stream errored for whoever reads it
// next, never be an 'error' event without a listener: an uncaught exception that stops the
// whole server (node:test reports it as this test failing).

/** More than one 1 MiB read of the body (readPlaintext's reads of a file). */
const SIZE = 1536 * 1024;
const OBJECT = {
  bucket: 'b',
  key: 'k',
  objectId: 'o',
  storageId: '00000000-0000-0000-0000-000000000000',
  size: SIZE,
  etag: '"e"',
  lastModified: new Date(0),
  segmentSize: 64 * 1024,
  content: {},
  userMetadata: {},
  sealedKey: { v: 1, mode: 'SSE-S3', kmsBlob: '', sealed: '' },
  checksums: {},
} as unknown as ObjectRecord;

/** An object key and the object's body sealed under it. */
function sealed(): { key: SecretBytes; body: Buffer } {
  const key = SecretBytes.random(32);
  return { key, body: sealBuffer(key, Buffer.alloc(SIZE, 7), { aad: dataBinding(OBJECT), segmentSize: OBJECT.segmentSize }) };
}

/**
 * A file body whose first `good` reads copy from `body` and whose later reads wait until
 * `fail()`, which rejects them with EIO.
 */
function failingBody(body: Buffer, good: number): { deps: S3Deps; fail(): void; reads(): number; closed(): boolean } {
  const held: Array<(e: Error) => void> = [];
  let reads = 0;
  let closed = false;
  const reader: BodyReader = {
    read: async (buffer, offset, length, position) => {
      reads += 1;
      if (reads > good) await new Promise<void>((_, reject) => held.push(reject));
      return body.copy(buffer, offset, position, Math.min(body.length, position + length));
    },
    close: async () => {
      closed = true;
    },
  };
  const deps = { backend: { openReader: async () => reader } as unknown as ObjectBackend } as unknown as S3Deps;
  return {
    deps,
    fail: () => {
      for (const reject of held.splice(0)) reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
    },
    reads: () => reads,
    closed: () => closed,
  };
}

/** Lets pending callbacks, ticks and promise jobs run (a bounded number of turns). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Reads `stream` to its end (or raises its error). */
async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const c of stream) n += (c as Buffer).length;
  return n;
}

describe('readPlaintext: a failure while nobody reads the stream leaves it errored, never an uncaught error', () => {
  const cases = [
    { what: 'a whole object', range: undefined, good: 0 },
    // The range's header is read (and must arrive) before readPlaintext resolves.
    { what: 'a range', range: { start: 70_000, endInclusive: 1_500_000 }, good: 1 },
  ];
  for (const { what, range, good } of cases) {
    it(`${what}: the body read fails before the caller began reading`, async () => {
      const { key, body } = sealed();
      const held = failingBody(body, good);
      const stream = await readPlaintext(held.deps, OBJECT, key, range);
      await settle();
      assert.equal(held.reads(), good + 1, 'the body is being read already');
      held.fail();
      await settle();
      assert.match(String(stream.errored), /EIO/);
      await assert.rejects(drain(stream), /EIO/, 'a reader that comes later gets the error');
      assert.ok(key.disposed, 'the key is disposed');
      await settle();
      assert.ok(held.closed(), 'the body is closed');
    });
  }

  it('a whole object: the caller read a chunk and stopped, keeping the stream; then the body read fails', async () => {
    const { key, body } = sealed();
    const held = failingBody(body, 1);
    const stream = await readPlaintext(held.deps, OBJECT, key);
    const reading = stream.iterator({ destroyOnReturn: false });
    assert.equal((await reading.next()).done, false);
    await reading.return?.(); // the consumer leaves: its listeners go, the stream stays
    await settle();
    assert.equal(held.reads(), 2, 'the second 1 MiB read is in flight');
    held.fail();
    await settle();
    assert.match(String(stream.errored), /EIO/);
    await assert.rejects(drain(stream), /EIO/);
  });

  it('an inline body that does not authenticate, while nobody reads', async () => {
    const { key, body } = sealed();
    body[200]! ^= 1; // in the first segment
    const stream = await readPlaintext({} as S3Deps, { ...OBJECT, storageId: 'inline', inlineBody: body } as ObjectRecord, key);
    await settle();
    assert.equal(stream.errored?.name, 'DecryptionError');
    await assert.rejects(drain(stream), { name: 'DecryptionError' });
  });
});

describe('readPlaintext: a stream the caller destroys without reading still releases what it holds', () => {
  /** A body whose reads are never needed and whose close is counted, or rejects. */
  function idleBody(closeFails: boolean): { deps: S3Deps; closes(): number } {
    let closes = 0;
    const reader: BodyReader = {
      read: () => Promise.reject(new Error('not read in this test')),
      close: async () => {
        closes += 1;
        if (closeFails) throw new Error('release failed');
      },
    };
    return { deps: { backend: { openReader: async () => reader } as unknown as ObjectBackend } as unknown as S3Deps, closes: () => closes };
  }

  it('a multipart object: the object key is disposed and the body closed', async () => {
    const held = idleBody(false);
    const key = SecretBytes.random(32);
    const stream = await readPlaintext(held.deps, { ...OBJECT, parts: [{ partNumber: 1, size: SIZE }] } as ObjectRecord, key);
    stream.destroy();
    await settle();
    assert.ok(key.disposed, 'the key is disposed although the stream never started');
    assert.equal(held.closes(), 1);
  });

  for (const multipart of [false, true]) {
    it(`${multipart ? 'a multipart' : 'a single-part'} object whose body fails to close: no unhandled rejection`, async () => {
      const held = idleBody(true);
      const o = multipart ? ({ ...OBJECT, parts: [{ partNumber: 1, size: SIZE }] } as ObjectRecord) : OBJECT;
      const stream = await readPlaintext(held.deps, o, SecretBytes.random(32));
      stream.destroy();
      await settle();
      assert.equal(held.closes(), 1, 'the close was tried (and failed)');
    });
  }
});
