import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ObjectRecord } from '../../src/s3/metadata-store.js';
import { closeSqlite, openSqlite } from '../../src/store/sqlite/database.js';
import { SqliteS3MetadataStore } from '../../src/store/sqlite/s3-metadata-store.js';

/** An inline object record with a random (stand-in for sealed) body of `size` bytes. */
function inlineRecord(key: string, size: number): ObjectRecord {
  return {
    bucket: 'b',
    key,
    objectId: randomUUID(),
    storageId: 'inline',
    size,
    etag: '"e"',
    lastModified: new Date(0),
    segmentSize: 65536,
    content: {},
    userMetadata: {},
    sealedKey: { v: 1, mode: 'SSE-S3', kmsBlob: randomBytes(64).toString('base64'), sealed: randomBytes(60).toString('base64') } as unknown as ObjectRecord['sealedKey'],
    checksums: {},
    inlineBody: randomBytes(size),
  };
}

/** Which 32-byte probes of `body` (start, middle, end) are still anywhere in the database file. */
function remnants(dbPath: string, body: Buffer): number[] {
  const file = readFileSync(dbPath);
  return [0, Math.floor(body.length / 2), body.length - 32].filter((at) => file.includes(body.subarray(at, at + 32)));
}

describe('metadata.db scrubs what a delete or replace of an object row frees (secure_delete)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-secure-delete-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a deleted or replaced inline body (its overflow pages too) is gone from the file after a checkpoint', async () => {
    const path = join(dir, 'metadata.db');
    const db = openSqlite(path);
    try {
      const store = new SqliteS3MetadataStore(db);
      await store.createBucket({ name: 'b', region: 'r', createdAt: new Date(0) });
      const deleted = inlineRecord('deleted', 20_000);
      const replaced = inlineRecord('replaced', 20_000);
      await store.putObject(deleted);
      await store.putObject(replaced);
      db.pragma('wal_checkpoint(TRUNCATE)');
      assert.deepEqual(remnants(path, deleted.inlineBody!).length, 3, 'the probes find a live body');
      await store.deleteObject('b', 'deleted');
      await store.putObject(inlineRecord('replaced', 1000));
      db.pragma('wal_checkpoint(TRUNCATE)');
      assert.deepEqual(remnants(path, deleted.inlineBody!), [], 'deleted body');
      assert.deepEqual(remnants(path, replaced.inlineBody!), [], 'replaced body');
    } finally {
      await closeSqlite(db);
    }
  });
});
