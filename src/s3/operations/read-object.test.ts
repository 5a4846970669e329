import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SecretBytes } from '../../crypto/index.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { BodyReader, ObjectBackend } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';
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

const FILE_OBJECT = {
  bucket: 'b',
  key: 'k',
  objectId: 'o',
  storageId: '00000000-0000-0000-0000-000000000000',
  size: 100 * 1024,
  etag: '"e"',
  lastModified: new Date(0),
  segmentSize: 64 * 1024,
  content: {},
  userMetadata: {},
  sealedKey: { v: 1, mode: 'SSE-S3', kmsBlob: '', sealed: '' },
  checksums: {},
} as unknown as ObjectRecord;

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
