import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoSuchBucketError } from '../../s3/errors.js';
import { closeSqlite, openSqlite } from './database.js';
import { SqliteS3MetadataStore } from './s3-metadata-store.js';

describe('SqliteS3MetadataStore: bucket CORS column', () => {
  it('a database made before the column gets it on open, its buckets keep their rows, and the configuration is set, read and removed', async () => {
    const db = openSqlite(':memory:');
    try {
      // The first schema of s3_buckets, with a bucket in it, as an older release left it.
      db.exec('CREATE TABLE s3_buckets (name TEXT PRIMARY KEY, region TEXT NOT NULL, created_at INTEGER NOT NULL, encryption TEXT)');
      db.prepare('INSERT INTO s3_buckets VALUES (?, ?, ?, NULL)').run('old', 'us-east-1', Date.now());
      const store = new SqliteS3MetadataStore(db);
      assert.ok((db.prepare('PRAGMA table_info(s3_buckets)').all() as Array<{ name: string }>).some((c) => c.name === 'cors'));
      assert.equal((await store.getBucket('old')).name, 'old');
      assert.equal(await store.getBucketCors('old'), undefined);
      await store.setBucketCors('old', '{"v":1,"rules":[]}');
      assert.equal(await store.getBucketCors('old'), '{"v":1,"rules":[]}');
      // The per-request bucket record never carries it.
      assert.equal('cors' in (await store.getBucket('old')), false);
      await store.setBucketCors('old', undefined);
      assert.equal(await store.getBucketCors('old'), undefined);
      await assert.rejects(store.getBucketCors('none'), NoSuchBucketError);
      await assert.rejects(store.setBucketCors('none', '{}'), NoSuchBucketError);
      // Opening again (the column there now) changes nothing.
      const reopened = new SqliteS3MetadataStore(db);
      assert.deepEqual((await reopened.listBuckets()).map((b) => b.name), ['old']);
      assert.equal((db.prepare('PRAGMA table_info(s3_buckets)').all() as Array<{ name: string }>).filter((c) => c.name === 'cors').length, 1);
      await reopened.setBucketCors('old', '{"v":1,"rules":[]}');
      assert.equal(await store.getBucketCors('old'), '{"v":1,"rules":[]}');
    } finally {
      await closeSqlite(db);
    }
  });
});
