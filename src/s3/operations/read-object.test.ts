import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { sealBuffer, SecretBytes } from '../../crypto/index.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { BodyReader, ObjectBackend } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';
import { dataBinding } from '../sse/sealing.js';
import { readPlaintext, readSmallPlaintext } from './read-object.js';

/** A key whose dispose() is counted. */
function spiedKey(): { key: SecretBytes; disposed: () => number } {
  const key = SecretBytes.random(32);
  let n = 0;
  const dispose = key.dispose.bind(key);
  key.dispose = () => {
    n += 1;
    dispose();
  };
  return { key, disposed: () => n };
}

/** An SSE-S3 object of `size` bytes whose body is a file (the metadata the reads are given). */
function fileObject(size: number): ObjectRecord {
  return {
    bucket: 'b',
    key: 'k',
    objectId: 'o',
    storageId: '00000000-0000-0000-0000-000000000000',
    size,
    etag: '"e"',
    lastModified: new Date(0),
    segmentSize: 64 * 1024,
    content: {},
    userMetadata: {},
    sealedKey: { v: 1, mode: 'SSE-S3', kmsBlob: '', sealed: '' },
    checksums: {},
  } as unknown as ObjectRecord;
}

const FILE_OBJECT = fileObject(100 * 1024);

function depsWith(readHead: ObjectBackend['readHead']): S3Deps {
  return { backend: { readHead } as unknown as ObjectBackend } as unknown as S3Deps;
}

describe('readSmallPlaintext disposes the unsealed object key on every path', () => {
  const failures: Array<[string, ObjectBackend['readHead']]> = [
    [
      'the read raises at once (synchronously)',
      () => {
        throw new Error('malformed storage id');
      },
    ],
    ['the read rejects at once', () => Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' }))],
    ['the read rejects after the key is unsealed', () => new Promise((_, reject) => setTimeout(() => reject(new Error('EIO')), 5))],
    ['the read returns bytes that do not authenticate', async () => Buffer.alloc(100)],
  ];
  for (const [name, readHead] of failures) {
    it(name, async () => {
      const { key, disposed } = spiedKey();
      await assert.rejects(readSmallPlaintext(depsWith(readHead), FILE_OBJECT, Promise.resolve(key)));
      assert.equal(disposed(), 1, 'disposed once');
    });
  }

  it('the unsealing fails: its error wins, and there is no key to dispose', async () => {
    await assert.rejects(
      readSmallPlaintext(depsWith(() => Promise.reject(new Error('read'))), FILE_OBJECT, Promise.reject(new Error('unseal'))),
      /unseal/,
    );
  });
});

describe('readPlaintext of a file body', () => {
  it('opens the body before it resolves: a missing body raises there, and the key is disposed', async () => {
    const { key, disposed } = spiedKey();
    const missing = Object.assign(new Error('gone'), { code: 'ENOENT' });
    const deps = { backend: { openReader: () => Promise.reject(missing) } as unknown as ObjectBackend } as unknown as S3Deps;
    await assert.rejects(readPlaintext(deps, FILE_OBJECT, key), /gone/);
    assert.equal(disposed(), 1);
  });

  it('a stream destroyed while a read is in flight closes the body only once that read landed', async () => {
    const events: string[] = [];
    let land: ((n: number) => void) | undefined;
    const reader: BodyReader = {
      read: () => {
        events.push('read');
        return new Promise<number>((resolve) => (land = resolve));
      },
      close: async () => {
        events.push('close');
      },
    };
    const deps = { backend: { openReader: async () => reader } as unknown as ObjectBackend } as unknown as S3Deps;
    const { key, disposed } = spiedKey();
    const stream = await readPlaintext(deps, FILE_OBJECT, key);
    stream.on('error', () => undefined);
    stream.resume();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['read']);
    stream.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['read'], 'not closed under the read in flight');
    assert.equal(disposed(), 1, 'the key is disposed at once');
    land!(0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['read', 'close']);
  });
});

// A stream readPlaintext returns may fail while nobody reads it: a caller that has not begun
// (a copy waiting for its target's key and file) or one that stopped (a consumer that left
// the stream for later). Such a failure must leave the stream errored for whoever reads it
// next, never be an 'error' event without a listener: an uncaught exception that stops the
// whole server (node:test reports it as this test failing).

/** More than one 1 MiB read of the body (readPlaintext's reads of a file). */
const SIZE = 1536 * 1024;
const LARGE_OBJECT = fileObject(SIZE);

/** An object key and the object's body sealed under it. */
function sealed(): { key: SecretBytes; body: Buffer } {
  const key = SecretBytes.random(32);
  return { key, body: sealBuffer(key, Buffer.alloc(SIZE, 7), { aad: dataBinding(LARGE_OBJECT), segmentSize: LARGE_OBJECT.segmentSize }) };
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
      const stream = await readPlaintext(held.deps, LARGE_OBJECT, key, range);
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
    const stream = await readPlaintext(held.deps, LARGE_OBJECT, key);
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
    const stream = await readPlaintext({} as S3Deps, { ...LARGE_OBJECT, storageId: 'inline', inlineBody: body } as ObjectRecord, key);
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
    const stream = await readPlaintext(held.deps, { ...LARGE_OBJECT, parts: [{ partNumber: 1, size: SIZE }] } as ObjectRecord, key);
    stream.destroy();
    await settle();
    assert.ok(key.disposed, 'the key is disposed although the stream never started');
    assert.equal(held.closes(), 1);
  });

  for (const multipart of [false, true]) {
    it(`${multipart ? 'a multipart' : 'a single-part'} object whose body fails to close: no unhandled rejection`, async () => {
      const held = idleBody(true);
      const o = multipart ? ({ ...LARGE_OBJECT, parts: [{ partNumber: 1, size: SIZE }] } as ObjectRecord) : LARGE_OBJECT;
      const stream = await readPlaintext(held.deps, o, SecretBytes.random(32));
      stream.destroy();
      await settle();
      assert.equal(held.closes(), 1, 'the close was tried (and failed)');
    });
  }
});
