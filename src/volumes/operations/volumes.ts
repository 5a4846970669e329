import { unlink } from 'node:fs/promises';
import type { CallContext } from '../../kms/index.js';
import { EncryptedVolume } from '../encrypted-volume.js';
import { Ec2InvalidParameterValueError, Ec2MissingParameterError, Ec2SnapshotNotFoundError, Ec2VolumeInUseError, Ec2VolumeNotFoundError } from '../errors.js';
import { GIB, newId, snapshotPath, volumePath, type VolumeContext } from '../volume-context.js';
import type { Tag, VolumeRecord } from '../volume-store.js';
import { enlargeVolumeFile } from './resize.js';

/** Largest volume EC2 allows (gp2/gp3): 16 TiB. */
const MAX_SIZE_GIB = 16384;
const VOLUME_TYPES = ['standard', 'io1', 'io2', 'gp2', 'gp3', 'sc1', 'st1'];

/** CreateVolume as typed input. `encrypted: false` means "use the default": every volume is encrypted. */
export interface CreateVolumeRequest {
  readonly sizeGiB?: number;
  readonly availabilityZone: string;
  readonly volumeType?: string;
  readonly kmsKeyId?: string;
  readonly snapshotId?: string;
  readonly tags: readonly Tag[];
}

/**
 * CreateVolume (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html).
 * The volume gets its own data key: GenerateDataKeyWithoutPlaintext under the KMS key
 * (KmsKeyId, else the snapshot's key, else the account's EBS default key) with context
 * `aws:ebs:id = vol-…`, then Decrypt to format it. From a snapshot, the snapshot's blocks
 * are re-encrypted under the new data key (so every volume's key is its own and bound to
 * its id); a larger Size grows the volume with unwritten blocks.
 * Raises MissingParameter, InvalidParameterValue, InvalidSnapshot.NotFound, InvalidKMSKey.*.
 */
export async function createVolume(ctx: VolumeContext, call: CallContext, req: CreateVolumeRequest): Promise<VolumeRecord> {
  if (req.sizeGiB === undefined && req.snapshotId === undefined) {
    throw new Ec2MissingParameterError('The request must contain the parameter size/snapshot');
  }
  const volumeType = req.volumeType ?? 'gp2';
  if (!VOLUME_TYPES.includes(volumeType)) throw new Ec2InvalidParameterValueError(`Value (${volumeType}) for parameter volumeType is invalid.`);
  const snapshot = req.snapshotId === undefined ? undefined : await ctx.store.getSnapshot(req.snapshotId);
  if (req.snapshotId !== undefined && snapshot === undefined) throw new Ec2SnapshotNotFoundError(`The snapshot '${req.snapshotId}' does not exist.`);
  const sizeGiB = req.sizeGiB ?? snapshot?.volumeSizeGiB ?? 0;
  if (!Number.isInteger(sizeGiB) || sizeGiB < 1 || sizeGiB > MAX_SIZE_GIB) {
    throw new Ec2InvalidParameterValueError(`Volume of size ${sizeGiB}GiB is too large or too small; valid sizes are 1-${MAX_SIZE_GIB} GiB.`);
  }
  if (snapshot !== undefined && sizeGiB < snapshot.volumeSizeGiB) {
    throw new Ec2InvalidParameterValueError(`Volume of ${sizeGiB}GiB is smaller than snapshot '${snapshot.snapshotId}', expect size >= ${snapshot.volumeSizeGiB}GiB`);
  }
  const settings = await ctx.store.getEbsSettings();
  const kmsKeyArn = await ctx.keys.resolveKeyArn(req.kmsKeyId ?? snapshot?.dataKey.kmsKeyArn ?? settings.defaultKmsKeyId);
  const volumeId = newId('vol');
  const dataKey = await ctx.keys.generate(call, kmsKeyArn, volumeId);
  const key = await ctx.keys.unwrap(call, dataKey);
  const path = volumePath(ctx, volumeId);
  if (snapshot === undefined) {
    await (await EncryptedVolume.create(path, sizeGiB * GIB, key)).close();
  } else {
    try {
      const source = await EncryptedVolume.open(snapshotPath(ctx, snapshot.snapshotId), await ctx.keys.unwrap(call, snapshot.dataKey), { readOnly: true });
      try {
        await source.reencryptTo(path, key);
      } finally {
        await source.close();
      }
      if (sizeGiB > snapshot.volumeSizeGiB) await enlargeVolumeFile(path, sizeGiB * GIB, key);
    } finally {
      key.dispose();
    }
  }
  const record: VolumeRecord = {
    volumeId,
    sizeGiB,
    availabilityZone: req.availabilityZone,
    volumeType,
    createdAt: ctx.clock.now(),
    dataKey,
    ...(snapshot !== undefined ? { snapshotId: snapshot.snapshotId } : {}),
    tags: req.tags,
  };
  try {
    await ctx.store.createVolume(record);
  } catch (err) {
    await unlink(path).catch(() => undefined);
    throw err;
  }
  return record;
}

/** A volume record, or InvalidVolume.NotFound. */
export async function requireVolume(ctx: VolumeContext, volumeId: string): Promise<VolumeRecord> {
  const v = await ctx.store.getVolume(volumeId);
  if (v === undefined) throw new Ec2VolumeNotFoundError(`The volume '${volumeId}' does not exist.`);
  return v;
}

/**
 * DeleteVolume (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVolume.html):
 * removes the record, then the file. Raises InvalidVolume.NotFound, VolumeInUse (attached).
 * Snapshots of the volume stay.
 */
export async function deleteVolume(ctx: VolumeContext, volumeId: string): Promise<void> {
  await requireVolume(ctx, volumeId);
  if (ctx.attachments.get(volumeId) !== undefined) throw new Ec2VolumeInUseError(`Volume ${volumeId} is currently attached to ${ctx.attachments.get(volumeId)?.instanceId ?? ''}`);
  await ctx.store.deleteVolume(volumeId);
  await unlink(volumePath(ctx, volumeId)).catch(() => undefined);
}
