import type { BucketAccessStore, PublicAccessBlock } from '../../s3/access/bucket-access-store.js';
import { NoSuchBucketError } from '../../s3/errors.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { BucketChanges } from './s3-bucket-changes.js';

// One row per bucket that has a policy or a public access block; removed with its bucket.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS s3_bucket_access (
  bucket TEXT PRIMARY KEY REFERENCES s3_buckets(name) ON DELETE CASCADE,
  policy TEXT,
  public_access_block TEXT
) WITHOUT ROWID;
`;

type Column = 'policy' | 'public_access_block';

/** A bucket's row of s3_bucket_access as cached: both columns, null where unset (no row: both null). */
interface AccessRow {
  readonly policy: string | null;
  readonly public_access_block: string | null;
}

const NO_ROW: AccessRow = Object.freeze({ policy: null, public_access_block: null });

/**
 * BucketAccessStore on the shared SQLite database (table s3_bucket_access, cascading from
 * s3_buckets). Each write is one transaction, started IMMEDIATE (it reads the bucket first):
 * several processes (`server --workers N`) share the database, and a deferred
 * transaction that read first cannot upgrade to the write lock once another process wrote
 * since: SQLITE_BUSY at once, busy_timeout or not. Taking the lock up front waits instead.
 */
export class SqliteBucketAccessStore implements BucketAccessStore {
  /** The per-request read (every authorized S3 request reads its bucket's policy): both columns, prepared once. */
  readonly #read: Statement;
  /**
   * Each bucket's row (or its absence) as read, kept exact against every process's writes of
   * s3_buckets and s3_bucket_access (BucketChanges): one 8-byte read per run of requests
   * instead of a read transaction per request. Every write of the table goes through its `write`.
   */
  readonly #rows: BucketChanges<AccessRow>;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    this.#read = db.prepare('SELECT policy, public_access_block FROM s3_bucket_access WHERE bucket = ?');
    this.#rows = new BucketChanges(db, 's3_bucket_access');
  }

  async getPolicy(bucket: string): Promise<string | undefined> {
    return this.#get(bucket, 'policy');
  }

  async putPolicy(bucket: string, policy: string): Promise<void> {
    this.#set(bucket, 'policy', policy);
  }

  async deletePolicy(bucket: string): Promise<void> {
    this.#clear(bucket, 'policy');
  }

  async getPublicAccessBlock(bucket: string): Promise<PublicAccessBlock | undefined> {
    const text = this.#get(bucket, 'public_access_block');
    return text === undefined ? undefined : (JSON.parse(text) as PublicAccessBlock);
  }

  async putPublicAccessBlock(bucket: string, block: PublicAccessBlock): Promise<void> {
    const { blockPublicAcls, ignorePublicAcls, blockPublicPolicy, restrictPublicBuckets } = block;
    this.#set(bucket, 'public_access_block', JSON.stringify({ blockPublicAcls, ignorePublicAcls, blockPublicPolicy, restrictPublicBuckets }));
  }

  async deletePublicAccessBlock(bucket: string): Promise<void> {
    this.#clear(bucket, 'public_access_block');
  }

  #get(bucket: string, column: Column): string | undefined {
    const row = this.#rows.get(bucket, () => (this.#read.get(bucket) as AccessRow | undefined) ?? NO_ROW);
    return row?.[column] ?? undefined;
  }

  #set(bucket: string, column: Column, value: string): void {
    this.#rows.write(() => {
      if (this.db.prepare('SELECT 1 FROM s3_buckets WHERE name = ?').get(bucket) === undefined) throw new NoSuchBucketError('');
      this.db.prepare(`INSERT INTO s3_bucket_access (bucket, ${column}) VALUES (?, ?) ON CONFLICT(bucket) DO UPDATE SET ${column} = excluded.${column}`).run(bucket, value);
    });
  }

  #clear(bucket: string, column: Column): void {
    this.#rows.write(() => {
      this.db.prepare(`UPDATE s3_bucket_access SET ${column} = NULL WHERE bucket = ?`).run(bucket);
      this.db.prepare('DELETE FROM s3_bucket_access WHERE bucket = ? AND policy IS NULL AND public_access_block IS NULL').run(bucket);
    });
  }
}
