import { INLINE_STORAGE_ID, type BucketEncryption, type BucketRecord, type ObjectRecord, type ObjectScan, type S3MetadataStore } from '../../s3/metadata-store.js';
import { BucketAlreadyOwnedByYouError, BucketNotEmptyError, NoSuchBucketError, NoSuchKeyError, ObjectCorruptedError } from '../../s3/errors.js';
import type { SealedObjectKey } from '../../s3/sse/sealing.js';
import { checkWriteCondition, type WriteCondition } from '../../s3/write-condition.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { SqliteGroupCommit } from './group-commit.js';
import { BucketChanges } from './s3-bucket-changes.js';
import { SqliteS3MultipartStore } from './s3-multipart-store.js';
import { statementCache } from './statement-cache.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS s3_buckets (
  name TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  encryption TEXT
);
CREATE TABLE IF NOT EXISTS s3_objects (
  bucket TEXT NOT NULL REFERENCES s3_buckets(name),
  key TEXT NOT NULL,
  object_id TEXT NOT NULL,
  storage_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  segment_size INTEGER NOT NULL,
  content TEXT NOT NULL,
  user_metadata TEXT NOT NULL,
  sealed_key TEXT NOT NULL,
  checksums TEXT NOT NULL,
  PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
`;

interface ObjectRow {
  bucket: string;
  key: string;
  object_id: string;
  storage_id: string;
  size: number;
  etag: string;
  last_modified: number;
  segment_size: number;
  content: string;
  user_metadata: string;
  sealed_key: string;
  checksums: string;
  parts: string | null;
  tags: string | null;
  parts_tag: string | null;
  body?: Buffer | null;
}

interface BucketRow {
  name: string;
  region: string;
  created_at: number;
  encryption: string | null;
}

/**
 * S3MetadataStore on the shared SQLite database (tables s3_buckets, s3_objects). Each
 * write is one transaction, committed with synchronous=FULL (object puts: grouped, with the
 * same durability, see putObject). Stores sealed keys only, and the sealed (never plain)
 * bodies of small objects in the `body` column. Every multi-statement write transaction starts
 * IMMEDIATE (the group commit's too):
 * several processes (`server --workers N`) share the database, and a deferred
 * transaction that read first cannot upgrade to the write lock once another process wrote
 * since: SQLITE_BUSY at once, busy_timeout or not. Taking the lock up front waits instead.
 */
export class SqliteS3MetadataStore implements S3MetadataStore {
  readonly multipart: SqliteS3MultipartStore;
  readonly #group: SqliteGroupCommit;
  readonly #sql: (sql: string) => Statement;
  /** putObjectSync's transaction, built once (better-sqlite3 builds four wrappers per `transaction` call). */
  readonly #putTx: (o: ObjectRecord, condition: WriteCondition | undefined) => string | undefined;
  /**
   * The point reads of every GET, HEAD and PUT, in raw mode (values by position): a row
   * object would have better-sqlite3 look up each column name in V8's string table per
   * row (about 14k of 62k instructions of an object read, measured with cachegrind).
   * Statements of their own, not the shared cache's, since raw mode belongs to the statement.
   */
  readonly #readObject: Statement;
  readonly #readObjectHead: Statement;
  readonly #readBucket: Statement;
  /** The CORS column alone, read for every request with an Origin header. */
  readonly #readCors: Statement;
  /** A put's one read: its bucket and the row it replaces (see #putRows). */
  readonly #readReplaced: Statement;
  /**
   * Bucket records as getBucket read them (every PUT reads its bucket's), kept exact against
   * every process's writes of s3_buckets and s3_bucket_access (BucketChanges): one 8-byte read
   * per run of requests instead of a read transaction per request; every write of s3_buckets
   * goes through its `write`.
   */
  readonly #buckets: BucketChanges<BucketRecord>;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    // Deleted rows (an inline body, a sealed key) are zeroed in the pages they leave instead of
    // lingering in freed pages: s3/sse/README.md, "Deleted bodies and keys", has the measured cost.
    // Per connection, so for every table of this database; each process's store sets it.
    db.pragma('secure_delete = ON');
    // Multipart objects list their parts (added after the first schema: migrate in place).
    const columns = db.prepare('PRAGMA table_info(s3_objects)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'parts')) db.exec('ALTER TABLE s3_objects ADD COLUMN parts TEXT');
    if (!columns.some((c) => c.name === 'tags')) db.exec('ALTER TABLE s3_objects ADD COLUMN tags TEXT');
    // Small objects keep their sealed body in the row (last column: listings never read it).
    if (!columns.some((c) => c.name === 'body')) db.exec('ALTER TABLE s3_objects ADD COLUMN body BLOB');
    // A multipart object's part list tag (partListTag), added after the first schema.
    if (!columns.some((c) => c.name === 'parts_tag')) db.exec('ALTER TABLE s3_objects ADD COLUMN parts_tag TEXT');
    // Bucket tags (PutBucketTagging), added after the first schema; never read by getBucket.
    const bucketColumns = db.prepare('PRAGMA table_info(s3_buckets)').all() as Array<{ name: string }>;
    if (!bucketColumns.some((c) => c.name === 'tags')) db.exec('ALTER TABLE s3_buckets ADD COLUMN tags TEXT');
    // Bucket CORS configurations (PutBucketCors), added after the first schema; outside BUCKET_COLUMNS too.
    if (!bucketColumns.some((c) => c.name === 'cors')) db.exec('ALTER TABLE s3_buckets ADD COLUMN cors TEXT');
    this.multipart = new SqliteS3MultipartStore(db, (o, condition) => this.putObjectSync(o, condition));
    // Body files by storage id, for the orphan sweep at start (unreferencedStorageIds): point
    // lookups instead of a scan per file. Partial: inline rows (the small-PUT hot path) are
    // not indexed; a file-backed PUT or part pays one index entry beside its file's fsyncs.
    db.exec(`CREATE INDEX IF NOT EXISTS s3_objects_by_storage ON s3_objects (storage_id) WHERE storage_id <> '${INLINE_STORAGE_ID}';
             CREATE INDEX IF NOT EXISTS s3_upload_parts_by_storage ON s3_upload_parts (storage_id);`);
    this.#group = new SqliteGroupCommit(db);
    this.#sql = statementCache(db);
    this.#putTx = db.transaction((o: ObjectRecord, condition: WriteCondition | undefined) => this.#putRows(o, condition)).immediate;
    this.#readObject = db.prepare(`SELECT ${LIST_COLUMNS}, body FROM s3_objects WHERE bucket = ? AND key = ?`).raw(true);
    this.#readObjectHead = db.prepare(`SELECT ${LIST_COLUMNS} FROM s3_objects WHERE bucket = ? AND key = ?`).raw(true);
    this.#readBucket = db.prepare(`SELECT ${BUCKET_COLUMNS} FROM s3_buckets WHERE name = ?`).raw(true);
    this.#readCors = db.prepare('SELECT cors FROM s3_buckets WHERE name = ?').raw(true);
    this.#readReplaced = db.prepare('SELECT o.storage_id, o.etag FROM s3_buckets b LEFT JOIN s3_objects o ON o.bucket = b.name AND o.key = ? WHERE b.name = ?').raw(true);
    this.#buckets = new BucketChanges(db, 's3_buckets');
  }

  async createBucket(bucket: BucketRecord): Promise<void> {
    const r = this.#buckets.write(() =>
      this.db
        .prepare('INSERT OR IGNORE INTO s3_buckets (name, region, created_at, encryption) VALUES (?, ?, ?, ?)')
        .run(bucket.name, bucket.region, bucket.createdAt.getTime(), bucket.encryption ? JSON.stringify(bucket.encryption) : null),
    );
    if (r.changes === 0) throw new BucketAlreadyOwnedByYouError('');
  }

  /** The bucket's record (shared with other callers while cached: never modify it). Raises NoSuchBucketError. */
  async getBucket(name: string): Promise<BucketRecord> {
    const record = this.#buckets.get(name, () => {
      const values = this.#readBucket.get(name) as BucketValues | undefined;
      return values === undefined ? undefined : toBucket(bucketRow(values));
    });
    if (record === undefined) throw new NoSuchBucketError('');
    return record;
  }

  async listBuckets(): Promise<BucketRecord[]> {
    return (this.#sql(`SELECT ${BUCKET_COLUMNS} FROM s3_buckets ORDER BY name`).all() as BucketRow[]).map(toBucket);
  }

  async deleteBucket(name: string): Promise<void> {
    this.#buckets.write(() => {
      if (this.#sql('SELECT 1 FROM s3_objects WHERE bucket = ? LIMIT 1').get(name) !== undefined) throw new BucketNotEmptyError('');
      if (this.#sql('DELETE FROM s3_buckets WHERE name = ?').run(name).changes === 0) throw new NoSuchBucketError('');
    });
  }

  async setBucketEncryption(name: string, encryption: BucketEncryption | undefined): Promise<void> {
    const r = this.#buckets.write(() => this.#sql('UPDATE s3_buckets SET encryption = ? WHERE name = ?').run(encryption ? JSON.stringify(encryption) : null, name));
    if (r.changes === 0) throw new NoSuchBucketError('');
  }

  async getBucketTags(name: string): Promise<Readonly<Record<string, string>> | undefined> {
    const row = this.#sql('SELECT tags FROM s3_buckets WHERE name = ?').get(name) as { tags: string | null } | undefined;
    if (row === undefined) throw new NoSuchBucketError('');
    return row.tags === null ? undefined : (strictColumn(row.tags, undefined) as Record<string, string>);
  }

  async setBucketTags(name: string, tags: Readonly<Record<string, string>> | undefined): Promise<void> {
    const text = tags !== undefined && Object.keys(tags).length > 0 ? JSON.stringify(tags) : null;
    const r = this.#buckets.write(() => this.#sql('UPDATE s3_buckets SET tags = ? WHERE name = ?').run(text, name));
    if (r.changes === 0) throw new NoSuchBucketError('');
  }

  async getBucketCors(name: string): Promise<string | undefined> {
    const values = this.#readCors.get(name) as [string | null] | undefined;
    if (values === undefined) throw new NoSuchBucketError('');
    return values[0] ?? undefined;
  }

  async setBucketCors(name: string, cors: string | undefined): Promise<void> {
    const r = this.#buckets.write(() => this.#sql('UPDATE s3_buckets SET cors = ? WHERE name = ?').run(cors ?? null, name));
    if (r.changes === 0) throw new NoSuchBucketError('');
  }

  /**
   * Group commit (see SqliteGroupCommit): puts arriving while the previous group is being
   * made durable share one transaction and one WAL fsync, and the event loop never waits
   * for that fsync. Resolves only once the row is durable; a put that raises (its bucket is
   * gone) fails alone.
   */
  async putObject(o: ObjectRecord, condition?: WriteCondition): Promise<string | undefined> {
    // One statement changes the database (the INSERT): the bucket check and the condition
    // raise before it, so the group needs no savepoint for this write (see #putRows).
    return this.#group.run(() => this.#putRows(o, condition), true);
  }

  /** putObject as one synchronous transaction (a savepoint when nested, as in completing a multipart upload). */
  putObjectSync(o: ObjectRecord, condition?: WriteCondition): string | undefined {
    return this.#putTx(o, condition);
  }

  /**
   * putObject's statements, for a caller that runs them in a transaction or savepoint: the
   * condition is checked against the row this same transaction replaces. Raises
   * NoSuchBucketError, checkWriteCondition's errors and SQLite's errors. One read, then at
   * most one statement that writes, and nothing raises after it (putObject relies on that:
   * keep it so, or drop its `singleStatement`).
   */
  #putRows(o: ObjectRecord, condition: WriteCondition | undefined): string | undefined {
    // The bucket and the row this write replaces in one lookup: no row means no bucket; a
    // bucket without the object has NULLs.
    const found = this.#readReplaced.get(o.key, o.bucket) as [string | null, string | null] | undefined;
    if (found === undefined) throw new NoSuchBucketError('');
    const old = found[0] === null ? undefined : { storage_id: found[0], etag: found[1] ?? '' };
    if (condition !== undefined) checkWriteCondition(old?.etag, condition);
    this.#sql(
      `INSERT OR REPLACE INTO s3_objects (bucket, key, object_id, storage_id, size, etag, last_modified, segment_size, content, user_metadata, sealed_key, checksums, parts, tags, parts_tag, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      o.bucket, o.key, o.objectId, o.storageId, o.size, o.etag, o.lastModified.getTime(), o.segmentSize,
      JSON.stringify(o.content), JSON.stringify(o.userMetadata), JSON.stringify(o.sealedKey), JSON.stringify(o.checksums),
      o.parts !== undefined ? JSON.stringify(o.parts) : null,
      o.tags !== undefined && Object.keys(o.tags).length > 0 ? JSON.stringify(o.tags) : null,
      o.partsTag ?? null,
      o.inlineBody ?? null,
    );
    return fileId(old?.storage_id);
  }

  async getObject(bucket: string, key: string): Promise<ObjectRecord> {
    const values = this.#readObject.get(bucket, key) as ObjectValues | undefined;
    if (values === undefined) throw new NoSuchKeyError('');
    return toObject(objectRow(values));
  }

  async getObjectHead(bucket: string, key: string): Promise<ObjectRecord> {
    const values = this.#readObjectHead.get(bucket, key) as ObjectValues | undefined;
    if (values === undefined) throw new NoSuchKeyError('');
    return toObject(objectRow(values));
  }

  async setObjectTags(bucket: string, key: string, tags: Readonly<Record<string, string>>): Promise<void> {
    const r = this.#sql('UPDATE s3_objects SET tags = ? WHERE bucket = ? AND key = ?').run(Object.keys(tags).length > 0 ? JSON.stringify(tags) : null, bucket, key);
    if (r.changes === 0) throw new NoSuchKeyError('');
  }

  async deleteObject(bucket: string, key: string, condition?: WriteCondition): Promise<string | undefined> {
    const remove = (): string | undefined => {
      const row = this.#sql('DELETE FROM s3_objects WHERE bucket = ? AND key = ? RETURNING storage_id').get(bucket, key) as { storage_id: string } | undefined;
      return fileId(row?.storage_id);
    };
    if (condition === undefined) return remove();
    // Check and delete in one IMMEDIATE transaction: no write (another worker's either) between them.
    return this.db.transaction(() => {
      const current = this.#sql('SELECT etag FROM s3_objects WHERE bucket = ? AND key = ?').get(bucket, key) as { etag: string } | undefined;
      checkWriteCondition(current?.etag, condition);
      return remove();
    }).immediate();
  }

  /**
   * Of `storageIds`, those no object row and no multipart part row references (in order):
   * one indexed point lookup per id, so the orphan sweep costs O(files · log rows) and
   * never scans a table. Never returns INLINE_STORAGE_ID-like ids it was not given.
   */
  unreferencedStorageIds(storageIds: readonly string[]): string[] {
    const inObjects = this.#sql(`SELECT 1 FROM s3_objects WHERE storage_id = ? AND storage_id <> '${INLINE_STORAGE_ID}' LIMIT 1`);
    const inParts = this.#sql('SELECT 1 FROM s3_upload_parts WHERE storage_id = ? LIMIT 1');
    return storageIds.filter((id) => inObjects.get(id) === undefined && inParts.get(id) === undefined);
  }

  async listObjects(bucket: string, scan: ObjectScan): Promise<ObjectRecord[]> {
    // Range on the primary key: prefix ≤ key < prefix + U+10FFFF (greater than any UTF-8 continuation).
    const rows = this.#sql(`SELECT ${LIST_COLUMNS} FROM s3_objects WHERE bucket = ? AND key >= ? AND key > ? AND key < ? ORDER BY key LIMIT ?`)
      .all(bucket, scan.prefix, scan.after, scan.prefix + '\u{10FFFF}', scan.limit) as ObjectRow[];
    // One damaged row must not fail the whole bucket's listing: it lists from its plain columns,
    // and its own GET/HEAD/copy (getObject, strict) fail as ObjectCorruptedError.
    return rows.map((row) => toObject(row, lenientColumn));
  }
}

/** Every column but the inline body: a listing, HEAD or a conditional answer never needs it. */
const LIST_COLUMNS = 'bucket, key, object_id, storage_id, size, etag, last_modified, segment_size, content, user_metadata, sealed_key, checksums, parts, tags, parts_tag';

/** A raw row of `SELECT ${LIST_COLUMNS}[, body]`: the values in that column order. */
type ObjectValues = [string, string, string, string, number, string, number, number, string, string, string, string, string | null, string | null, string | null, (Buffer | null)?];

function objectRow(v: ObjectValues): ObjectRow {
  const row: ObjectRow = {
    bucket: v[0], key: v[1], object_id: v[2], storage_id: v[3], size: v[4], etag: v[5], last_modified: v[6], segment_size: v[7],
    content: v[8], user_metadata: v[9], sealed_key: v[10], checksums: v[11], parts: v[12], tags: v[13], parts_tag: v[14],
  };
  if (v.length > 15) row.body = v[15] ?? null;
  return row;
}

const BUCKET_COLUMNS = 'name, region, created_at, encryption';
/** A raw row of `SELECT ${BUCKET_COLUMNS}`. */
type BucketValues = [string, string, number, string | null];

function bucketRow(v: BucketValues): BucketRow {
  return { name: v[0], region: v[1], created_at: v[2], encryption: v[3] };
}

/** A stored body id that names a file to delete: undefined for none and for an inline body. */
function fileId(storageId: string | undefined): string | undefined {
  return storageId === INLINE_STORAGE_ID ? undefined : storageId;
}

function toBucket(row: BucketRow): BucketRecord {
  return {
    name: row.name,
    region: row.region,
    createdAt: new Date(row.created_at),
    ...(row.encryption !== null ? { encryption: JSON.parse(row.encryption) as BucketEncryption } : {}),
  };
}

/** Parses one JSON column of an object row; `ifDamaged` is what a lenient reader puts for text that is not JSON. */
type ColumnParser = (text: string, ifDamaged: unknown) => unknown;

/** A column that is not JSON (a damaged row) is ObjectCorruptedError (InternalError to the client), never a SyntaxError. */
const strictColumn: ColumnParser = (text) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ObjectCorruptedError('');
  }
};

/** For listings, which never use these columns' values: a damaged one reads as `ifDamaged`. */
const lenientColumn: ColumnParser = (text, ifDamaged) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return ifDamaged;
  }
};

/**
 * An object row as a record. The sealed key is not checked here (assertSealedKey does that
 * before any unseal), so a lenient read may leave it null: that fails there as corruption.
 */
function toObject(row: ObjectRow, parse: ColumnParser = strictColumn): ObjectRecord {
  // The optional fields are assigned after the literal, not spread into it (every GET, HEAD and listed row).
  const o: { -readonly [K in keyof ObjectRecord]: ObjectRecord[K] } = {
    bucket: row.bucket,
    key: row.key,
    objectId: row.object_id,
    storageId: row.storage_id,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.last_modified),
    segmentSize: row.segment_size,
    content: parse(row.content, {}) as ObjectRecord['content'],
    userMetadata: parse(row.user_metadata, {}) as Record<string, string>,
    sealedKey: parse(row.sealed_key, null) as SealedObjectKey,
    checksums: parse(row.checksums, {}) as Record<string, string>,
  };
  if (row.parts !== null && row.parts !== undefined) o.parts = parse(row.parts, []) as ObjectRecord['parts'] & object;
  if (row.tags !== null && row.tags !== undefined) o.tags = parse(row.tags, {}) as Record<string, string>;
  if (row.parts_tag !== null && row.parts_tag !== undefined) o.partsTag = row.parts_tag;
  if (row.body !== null && row.body !== undefined) o.inlineBody = row.body;
  return o;
}
