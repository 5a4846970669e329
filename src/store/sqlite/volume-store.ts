import type { EbsSettings, SnapshotRecord, Tag, VolumeRecord, VolumeStore, WrappedDataKey } from '../../volumes/volume-store.js';
import type { SqliteDatabase } from './database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ec2_volumes (
  volume_id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  record TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ec2_snapshots (
  snapshot_id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  record TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ec2_settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
`;

/** Stored JSON of a wrapped key: the blob in base64. */
interface StoredKey {
  kmsKeyArn: string;
  blob: string;
  contextId: string;
}

interface StoredVolume {
  v: 1;
  volumeId: string;
  sizeGiB: number;
  availabilityZone: string;
  volumeType: string;
  createdAt: number;
  dataKey: StoredKey;
  snapshotId?: string;
  tags: Tag[];
  /** Optional within v1: records written before it have none. */
  clientToken?: { token: string; request: string };
}

interface StoredSnapshot {
  v: 1;
  snapshotId: string;
  volumeId: string;
  volumeSizeGiB: number;
  description: string;
  startTime: number;
  dataKey: StoredKey;
  tags: Tag[];
  sourceSnapshotId?: string;
}

/**
 * VolumeStore on the shared SQLite database (tables ec2_volumes, ec2_snapshots,
 * ec2_settings). Each record is one JSON document with a version field; wrapped keys are
 * KMS ciphertext blobs, so nothing here can decrypt a volume.
 */
export class SqliteVolumeStore implements VolumeStore {
  constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
  }

  async createVolume(volume: VolumeRecord): Promise<void> {
    const stored: StoredVolume = {
      v: 1,
      volumeId: volume.volumeId,
      sizeGiB: volume.sizeGiB,
      availabilityZone: volume.availabilityZone,
      volumeType: volume.volumeType,
      createdAt: volume.createdAt.getTime(),
      dataKey: storeKey(volume.dataKey),
      ...(volume.snapshotId !== undefined ? { snapshotId: volume.snapshotId } : {}),
      tags: [...volume.tags],
      ...(volume.clientToken !== undefined ? { clientToken: { ...volume.clientToken } } : {}),
    };
    this.db.prepare('INSERT INTO ec2_volumes (volume_id, created_at, record) VALUES (?, ?, ?)').run(volume.volumeId, stored.createdAt, JSON.stringify(stored));
  }

  async getVolume(volumeId: string): Promise<VolumeRecord | undefined> {
    const row = this.db.prepare('SELECT record FROM ec2_volumes WHERE volume_id = ?').get(volumeId) as { record: string } | undefined;
    return row === undefined ? undefined : loadVolume(row.record);
  }

  async listVolumes(): Promise<VolumeRecord[]> {
    const rows = this.db.prepare('SELECT record FROM ec2_volumes ORDER BY volume_id').all() as Array<{ record: string }>;
    return rows.map((r) => loadVolume(r.record));
  }

  async deleteVolume(volumeId: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM ec2_volumes WHERE volume_id = ?').run(volumeId).changes > 0;
  }

  async createSnapshot(snapshot: SnapshotRecord): Promise<void> {
    const stored: StoredSnapshot = {
      v: 1,
      snapshotId: snapshot.snapshotId,
      volumeId: snapshot.volumeId,
      volumeSizeGiB: snapshot.volumeSizeGiB,
      description: snapshot.description,
      startTime: snapshot.startTime.getTime(),
      dataKey: storeKey(snapshot.dataKey),
      tags: [...snapshot.tags],
      ...(snapshot.sourceSnapshotId !== undefined ? { sourceSnapshotId: snapshot.sourceSnapshotId } : {}),
    };
    this.db.prepare('INSERT INTO ec2_snapshots (snapshot_id, created_at, record) VALUES (?, ?, ?)').run(snapshot.snapshotId, stored.startTime, JSON.stringify(stored));
  }

  async getSnapshot(snapshotId: string): Promise<SnapshotRecord | undefined> {
    const row = this.db.prepare('SELECT record FROM ec2_snapshots WHERE snapshot_id = ?').get(snapshotId) as { record: string } | undefined;
    return row === undefined ? undefined : loadSnapshot(row.record);
  }

  async listSnapshots(): Promise<SnapshotRecord[]> {
    const rows = this.db.prepare('SELECT record FROM ec2_snapshots ORDER BY snapshot_id').all() as Array<{ record: string }>;
    return rows.map((r) => loadSnapshot(r.record));
  }

  async deleteSnapshot(snapshotId: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM ec2_snapshots WHERE snapshot_id = ?').run(snapshotId).changes > 0;
  }

  async getEbsSettings(): Promise<EbsSettings> {
    const row = this.db.prepare("SELECT value FROM ec2_settings WHERE name = 'ebs'").get() as { value: string } | undefined;
    if (row === undefined) return { encryptionByDefault: false };
    const parsed = JSON.parse(row.value) as { encryptionByDefault: boolean; defaultKmsKeyId?: string };
    return { encryptionByDefault: parsed.encryptionByDefault, ...(parsed.defaultKmsKeyId !== undefined ? { defaultKmsKeyId: parsed.defaultKmsKeyId } : {}) };
  }

  async putEbsSettings(settings: EbsSettings): Promise<void> {
    this.db.prepare("INSERT INTO ec2_settings (name, value) VALUES ('ebs', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value").run(JSON.stringify(settings));
  }
}

function storeKey(k: WrappedDataKey): StoredKey {
  return { kmsKeyArn: k.kmsKeyArn, blob: k.blob.toString('base64'), contextId: k.contextId };
}

function loadKey(k: StoredKey): WrappedDataKey {
  return { kmsKeyArn: k.kmsKeyArn, blob: Buffer.from(k.blob, 'base64'), contextId: k.contextId };
}

function loadVolume(text: string): VolumeRecord {
  const s = JSON.parse(text) as StoredVolume;
  return {
    volumeId: s.volumeId,
    sizeGiB: s.sizeGiB,
    availabilityZone: s.availabilityZone,
    volumeType: s.volumeType,
    createdAt: new Date(s.createdAt),
    dataKey: loadKey(s.dataKey),
    ...(s.snapshotId !== undefined ? { snapshotId: s.snapshotId } : {}),
    tags: s.tags,
    ...(s.clientToken !== undefined ? { clientToken: s.clientToken } : {}),
  };
}

function loadSnapshot(text: string): SnapshotRecord {
  const s = JSON.parse(text) as StoredSnapshot;
  return {
    snapshotId: s.snapshotId,
    volumeId: s.volumeId,
    volumeSizeGiB: s.volumeSizeGiB,
    description: s.description,
    startTime: new Date(s.startTime),
    dataKey: loadKey(s.dataKey),
    tags: s.tags,
    ...(s.sourceSnapshotId !== undefined ? { sourceSnapshotId: s.sourceSnapshotId } : {}),
  };
}
