import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UploadRecord } from '../../s3/multipart-store.js';
import { closeSqlite, openSqlite } from './database.js';
import { SqliteS3MetadataStore } from './s3-metadata-store.js';

const SALT = Buffer.alloc(32, 7).toString('base64');

describe('SqliteS3MultipartStore: part key salt column', () => {
  it('a database made before the column gets it on open; its parts read back without a salt, new parts keep theirs', async () => {
    const db = openSqlite(':memory:');
    try {
      // s3_upload_parts as an older release left it, with a part in it.
      db.exec(`CREATE TABLE s3_upload_parts (upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, storage_id TEXT NOT NULL, size INTEGER NOT NULL,
                 etag TEXT NOT NULL, last_modified INTEGER NOT NULL, checksums TEXT NOT NULL, PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID`);
      db.prepare('INSERT INTO s3_upload_parts VALUES (?, ?, ?, ?, ?, ?, ?)').run('u1', 1, 'old-part', 5, '"e1"', 1000, '{}');
      const store = new SqliteS3MetadataStore(db);
      assert.ok((db.prepare('PRAGMA table_info(s3_upload_parts)').all() as Array<{ name: string }>).some((c) => c.name === 'key_salt'));
      const upload: UploadRecord = {
        uploadId: 'u1', bucket: 'b', key: 'k', initiated: new Date(0), sealedKey: { v: 1, mode: 'SSE-S3', kmsBlob: 'x', sealed: 'y' },
        segmentSize: 65536, content: {}, userMetadata: {}, bucketKeyEnabled: false,
      };
      await store.multipart.createUpload(upload);
      await store.multipart.putPart({ uploadId: 'u1', partNumber: 2, storageId: 'new-part', size: 7, etag: '"e2"', lastModified: new Date(2000), checksums: {}, keySalt: SALT });
      const parts = await store.multipart.listParts('u1', 0, 10);
      assert.deepEqual(parts.map((p) => [p.partNumber, p.keySalt]), [[1, undefined], [2, SALT]]);
      assert.equal('keySalt' in parts[0]!, false, 'an old part has no salt member at all');
      // Opening again (the column there now) changes nothing.
      const reopened = new SqliteS3MetadataStore(db);
      assert.equal((db.prepare('PRAGMA table_info(s3_upload_parts)').all() as Array<{ name: string }>).filter((c) => c.name === 'key_salt').length, 1);
      assert.deepEqual((await reopened.multipart.listParts('u1', 0, 10)).map((p) => p.keySalt), [undefined, SALT]);
    } finally {
      await closeSqlite(db);
    }
  });
});

describe('SqliteS3MetadataStore: part list tag column', () => {
  it('a database made before the column gets it on open; its objects read back without a tag, new ones keep theirs', async () => {
    const db = openSqlite(':memory:');
    try {
      // s3_objects of the first schema, with an object in it, as an older release left it.
      db.exec(`CREATE TABLE s3_buckets (name TEXT PRIMARY KEY, region TEXT NOT NULL, created_at INTEGER NOT NULL, encryption TEXT);
               CREATE TABLE s3_objects (bucket TEXT NOT NULL REFERENCES s3_buckets(name), key TEXT NOT NULL, object_id TEXT NOT NULL, storage_id TEXT NOT NULL,
                 size INTEGER NOT NULL, etag TEXT NOT NULL, last_modified INTEGER NOT NULL, segment_size INTEGER NOT NULL, content TEXT NOT NULL,
                 user_metadata TEXT NOT NULL, sealed_key TEXT NOT NULL, checksums TEXT NOT NULL, PRIMARY KEY (bucket, key)) WITHOUT ROWID;`);
      db.prepare('INSERT INTO s3_buckets VALUES (?, ?, ?, NULL)').run('b', 'us-east-1', 0);
      db.prepare('INSERT INTO s3_objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run('b', 'old', 'o1', 'sid-1', 3, '"e"', 0, 65536, '{}', '{}', '{"v":1,"mode":"SSE-S3","kmsBlob":"x","sealed":"y"}', '{}');
      const store = new SqliteS3MetadataStore(db);
      assert.ok((db.prepare('PRAGMA table_info(s3_objects)').all() as Array<{ name: string }>).some((c) => c.name === 'parts_tag'));
      const old = await store.getObject('b', 'old');
      assert.equal('partsTag' in old, false);
      await store.putObject({ ...old, key: 'new', objectId: 'o2', storageId: 'sid-2', parts: [{ partNumber: 1, size: 3, keySalt: SALT }], partsTag: 'dGFn' });
      const got = await store.getObject('b', 'new');
      assert.equal(got.partsTag, 'dGFn');
      assert.deepEqual(got.parts, [{ partNumber: 1, size: 3, keySalt: SALT }]);
      assert.equal((await store.getObjectHead('b', 'new')).partsTag, 'dGFn');
      assert.deepEqual((await store.listObjects('b', { prefix: '', after: '', limit: 10 })).map((o) => [o.key, o.partsTag]), [['new', 'dGFn'], ['old', undefined]]);
    } finally {
      await closeSqlite(db);
    }
  });
});
