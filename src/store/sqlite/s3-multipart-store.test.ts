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
