import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NoSuchKeyError, PreconditionFailedError } from '../../src/s3/errors.js';
import type { ObjectRecord } from '../../src/s3/metadata-store.js';
import { closeSqlite, openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import { SqliteS3MetadataStore } from '../../src/store/sqlite/s3-metadata-store.js';

function record(key: string, etag: string, storageId = 'inline'): ObjectRecord {
  return {
    bucket: 'b',
    key,
    objectId: randomUUID(),
    storageId,
    size: 1,
    etag,
    lastModified: new Date(0),
    segmentSize: 65536,
    content: {},
    userMetadata: {},
    sealedKey: { v: 1, mode: 'SSE-S3', sealed: randomBytes(60).toString('base64') } as unknown as ObjectRecord['sealedKey'],
    checksums: {},
    ...(storageId === 'inline' ? { inlineBody: randomBytes(1) } : {}),
  };
}

/**
 * The store's own check of a conditional write (SqliteS3MetadataStore): without the wire's
 * early check, a condition that fails at commit raises and leaves the row, and for a
 * multipart completion the upload, exactly as they were.
 */
describe('SqliteS3MetadataStore: conditions checked inside the commit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-conditional-'));
  let db: SqliteDatabase;
  let store: SqliteS3MetadataStore;
  before(async () => {
    db = openSqlite(join(dir, 'metadata.db'));
    store = new SqliteS3MetadataStore(db);
    await store.createBucket({ name: 'b', region: 'r', createdAt: new Date(0) });
  });
  after(() => {
    closeSqlite(db);
    rmSync(dir, { recursive: true, force: true });
  });

  it('putObject: If-None-Match * and If-Match refuse without touching the row', async () => {
    await store.putObject(record('k', '"one"'), { ifNoneMatch: '*' });
    await assert.rejects(store.putObject(record('k', '"two"'), { ifNoneMatch: '*' }), PreconditionFailedError);
    await assert.rejects(store.putObject(record('k', '"two"'), { ifMatch: '"other"' }), PreconditionFailedError);
    await assert.rejects(store.putObject(record('missing', '"two"'), { ifMatch: '"one"' }), NoSuchKeyError);
    assert.equal((await store.getObjectHead('b', 'k')).etag, '"one"');
    await assert.rejects(store.getObjectHead('b', 'missing'), NoSuchKeyError);
    await store.putObject(record('k', '"two"'), { ifMatch: '"one"' });
    assert.equal((await store.getObjectHead('b', 'k')).etag, '"two"');
  });

  it('putObject: of concurrent If-None-Match * puts of one key (one commit group), exactly one commits', async () => {
    const results = await Promise.allSettled(['"a"', '"b"', '"c"', '"d"'].map((e) => store.putObject(record('race', e), { ifNoneMatch: '*' })));
    assert.deepEqual(results.map((r) => r.status).filter((s) => s === 'fulfilled').length, 1);
    const winner = ['"a"', '"b"', '"c"', '"d"'][results.findIndex((r) => r.status === 'fulfilled')];
    assert.equal((await store.getObjectHead('b', 'race')).etag, winner);
  });

  it('completeUpload: a failed condition rolls back, the upload and its parts stay', async () => {
    await store.putObject(record('mp', '"old"'));
    const uploadId = randomUUID();
    await store.multipart.createUpload({
      uploadId, bucket: 'b', key: 'mp', initiated: new Date(0), sealedKey: record('x', '').sealedKey, segmentSize: 65536, content: {}, userMetadata: {}, bucketKeyEnabled: false,
    });
    await store.multipart.putPart({ uploadId, partNumber: 1, storageId: 'part-1', size: 1, etag: '"p"', lastModified: new Date(0), checksums: {} });
    const object = { ...record('mp', '"new-1"', 'body-1'), objectId: uploadId };
    await assert.rejects(store.multipart.completeUpload(uploadId, object, { ifNoneMatch: '*' }), PreconditionFailedError);
    assert.equal((await store.multipart.listParts(uploadId, 0, 10)).length, 1, 'the parts are still there');
    assert.equal((await store.getObjectHead('b', 'mp')).etag, '"old"');
    const done = await store.multipart.completeUpload(uploadId, object, { ifMatch: '"old"' });
    assert.deepEqual(done.partStorageIds, ['part-1']);
    assert.equal((await store.getObjectHead('b', 'mp')).etag, '"new-1"');
  });

  it('deleteObject: If-Match deletes only the matching object', async () => {
    await store.putObject(record('d', '"d1"', 'file-d'));
    await assert.rejects(store.deleteObject('b', 'd', { ifMatch: '"other"' }), PreconditionFailedError);
    await assert.rejects(store.deleteObject('b', 'gone', { ifMatch: '"d1"' }), NoSuchKeyError);
    assert.equal((await store.getObjectHead('b', 'd')).etag, '"d1"');
    assert.equal(await store.deleteObject('b', 'd', { ifMatch: 'd1' }), 'file-d');
    await assert.rejects(store.getObjectHead('b', 'd'), NoSuchKeyError);
  });
});
