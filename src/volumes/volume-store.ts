/** An EC2 tag. */
export interface Tag {
  readonly key: string;
  readonly value: string;
}

/**
 * A volume's or snapshot's data key as stored: the KMS ciphertext blob of the 64-byte
 * XTS key, the KMS key that wrapped it, and the id bound as its encryption context
 * (`aws:ebs:id`). Never holds plaintext key material.
 */
export interface WrappedDataKey {
  readonly kmsKeyArn: string;
  readonly blob: Buffer;
  readonly contextId: string;
}

/** A volume's metadata. Attachment is not persisted: it lives only while the key is in memory. */
export interface VolumeRecord {
  readonly volumeId: string;
  readonly sizeGiB: number;
  readonly availabilityZone: string;
  readonly volumeType: string;
  readonly createdAt: Date;
  readonly dataKey: WrappedDataKey;
  readonly snapshotId?: string;
  readonly tags: readonly Tag[];
  /**
   * The CreateVolume request's ClientToken and a digest of its parameters, when it had one:
   * a repeat of the request returns this volume instead of making another.
   */
  readonly clientToken?: { readonly token: string; readonly request: string };
}

/** A snapshot's metadata: its bytes stay under `dataKey` (the volume's, or a copy's own). */
export interface SnapshotRecord {
  readonly snapshotId: string;
  readonly volumeId: string;
  readonly volumeSizeGiB: number;
  readonly description: string;
  readonly startTime: Date;
  readonly dataKey: WrappedDataKey;
  readonly tags: readonly Tag[];
  readonly sourceSnapshotId?: string;
}

/** Account-wide EBS encryption settings. `defaultKmsKeyId` undefined means alias/aws/ebs. */
export interface EbsSettings {
  readonly encryptionByDefault: boolean;
  readonly defaultKmsKeyId?: string;
}

/**
 * Where volume and snapshot metadata live (SqliteVolumeStore implements it). Stores only
 * wrapped keys. Lists are in id order. Writes are single transactions.
 */
export interface VolumeStore {
  /** Inserts a volume; raises if the id exists (ids are random, so only a bug does that). */
  createVolume(volume: VolumeRecord): Promise<void>;
  getVolume(volumeId: string): Promise<VolumeRecord | undefined>;
  listVolumes(): Promise<VolumeRecord[]>;
  /** True if a record was deleted. */
  deleteVolume(volumeId: string): Promise<boolean>;
  createSnapshot(snapshot: SnapshotRecord): Promise<void>;
  getSnapshot(snapshotId: string): Promise<SnapshotRecord | undefined>;
  listSnapshots(): Promise<SnapshotRecord[]>;
  deleteSnapshot(snapshotId: string): Promise<boolean>;
  getEbsSettings(): Promise<EbsSettings>;
  putEbsSettings(settings: EbsSettings): Promise<void>;
}
