import { NoSuchUploadError } from '../../s3/errors.js';
import type { ObjectRecord } from '../../s3/metadata-store.js';
import type { PartRecord, S3MultipartStore, UploadRecord, UploadScan } from '../../s3/multipart-store.js';
import type { WriteCondition } from '../../s3/write-condition.js';
import type { SqliteDatabase } from './database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS s3_uploads (
  upload_id TEXT PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS s3_uploads_by_key ON s3_uploads (bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS s3_upload_parts (
  upload_id TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  storage_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  checksums TEXT NOT NULL,
  key_salt TEXT,
  PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
`;

interface UploadRow {
  record: string;
}

interface PartRow {
  upload_id: string;
  part_number: number;
  storage_id: string;
  size: number;
  etag: string;
  last_modified: number;
  checksums: string;
  key_salt: string | null;
}

/** The JSON of an upload row: the record with its date as milliseconds. */
type StoredUpload = Omit<UploadRecord, 'initiated'> & { initiated: number };

/**
 * S3MultipartStore on the shared SQLite database (tables s3_uploads, s3_upload_parts),
 * built by SqliteS3MetadataStore, whose synchronous putObject it takes so that completing
 * an upload commits the object and removes the upload in one transaction. Stores sealed
 * keys only. Its write transactions read before they write, so they start IMMEDIATE:
 * several processes (`server --workers N`) share the database, and a deferred
 * transaction that read first cannot upgrade to the write lock once another process wrote
 * since: SQLITE_BUSY at once, busy_timeout or not. Taking the lock up front waits instead.
 */
export class SqliteS3MultipartStore implements S3MultipartStore {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly putObjectSync: (o: ObjectRecord, condition?: WriteCondition) => string | undefined,
  ) {
    db.exec(SCHEMA);
    // Part key salts (added after the first schema: migrate in place; older parts have none).
    const columns = db.prepare('PRAGMA table_info(s3_upload_parts)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'key_salt')) db.exec('ALTER TABLE s3_upload_parts ADD COLUMN key_salt TEXT');
  }

  async createUpload(u: UploadRecord): Promise<void> {
    const stored: StoredUpload = { ...u, initiated: u.initiated.getTime() };
    this.db.prepare('INSERT INTO s3_uploads (upload_id, bucket, key, record) VALUES (?, ?, ?, ?)').run(u.uploadId, u.bucket, u.key, JSON.stringify(stored));
  }

  async getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord> {
    return this.#get(bucket, key, uploadId);
  }

  async putPart(p: PartRecord): Promise<string | undefined> {
    return this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM s3_uploads WHERE upload_id = ?').get(p.uploadId) === undefined) throw new NoSuchUploadError('');
      const old = this.db.prepare('SELECT storage_id FROM s3_upload_parts WHERE upload_id = ? AND part_number = ?').get(p.uploadId, p.partNumber) as { storage_id: string } | undefined;
      this.db
        .prepare('INSERT OR REPLACE INTO s3_upload_parts (upload_id, part_number, storage_id, size, etag, last_modified, checksums, key_salt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(p.uploadId, p.partNumber, p.storageId, p.size, p.etag, p.lastModified.getTime(), JSON.stringify(p.checksums), p.keySalt ?? null);
      return old?.storage_id;
    }).immediate();
  }

  async listParts(uploadId: string, afterPart: number, limit: number): Promise<PartRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM s3_upload_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?')
      .all(uploadId, afterPart, limit) as PartRow[];
    return rows.map(toPart);
  }

  async listUploads(bucket: string, scan: UploadScan): Promise<UploadRecord[]> {
    // Same key as the marker: only uploads after uploadIdMarker; later keys: all of them.
    const rows = this.db
      .prepare(
        `SELECT record FROM s3_uploads WHERE bucket = ? AND key >= ? AND key < ?
           AND (key > ? OR (key = ? AND upload_id > ?))
         ORDER BY key, upload_id LIMIT ?`,
      )
      .all(bucket, scan.prefix, scan.prefix + '\u{10FFFF}', scan.keyMarker, scan.keyMarker, scan.uploadIdMarker ?? '\u{10FFFF}', scan.limit) as UploadRow[];
    return rows.map(toUpload);
  }

  async deleteUpload(bucket: string, key: string, uploadId: string): Promise<string[]> {
    return this.db.transaction(() => {
      this.#get(bucket, key, uploadId);
      return this.#removeUpload(uploadId);
    }).immediate();
  }

  async completeUpload(uploadId: string, object: ObjectRecord, condition?: WriteCondition): Promise<{ replaced: string | undefined; partStorageIds: string[] }> {
    // A failed condition raises inside this transaction: the upload and its parts stay.
    return this.db.transaction(() => {
      this.#get(object.bucket, object.key, uploadId);
      const partStorageIds = this.#removeUpload(uploadId);
      return { replaced: this.putObjectSync(object, condition), partStorageIds };
    }).immediate();
  }

  #get(bucket: string, key: string, uploadId: string): UploadRecord {
    const row = this.db.prepare('SELECT record FROM s3_uploads WHERE upload_id = ? AND bucket = ? AND key = ?').get(uploadId, bucket, key) as UploadRow | undefined;
    if (row === undefined) throw new NoSuchUploadError('');
    return toUpload(row);
  }

  #removeUpload(uploadId: string): string[] {
    const parts = this.db.prepare('DELETE FROM s3_upload_parts WHERE upload_id = ? RETURNING storage_id').all(uploadId) as Array<{ storage_id: string }>;
    this.db.prepare('DELETE FROM s3_uploads WHERE upload_id = ?').run(uploadId);
    return parts.map((p) => p.storage_id);
  }
}

function toUpload(row: UploadRow): UploadRecord {
  const stored = JSON.parse(row.record) as StoredUpload;
  return { ...stored, initiated: new Date(stored.initiated) };
}

function toPart(row: PartRow): PartRecord {
  return {
    uploadId: row.upload_id,
    partNumber: row.part_number,
    storageId: row.storage_id,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.last_modified),
    checksums: JSON.parse(row.checksums) as Record<string, string>,
    ...(row.key_salt !== null && row.key_salt !== undefined ? { keySalt: row.key_salt } : {}),
  };
}
