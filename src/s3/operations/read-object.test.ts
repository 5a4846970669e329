import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SecretBytes } from '../../crypto/index.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { ObjectBackend } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';
import { readSmallPlaintext } from './read-object.js';

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
