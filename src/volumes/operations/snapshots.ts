import { unlink } from 'node:fs/promises';
import type { CallContext } from '../../kms/index.js';
import { EncryptedVolume } from '../encrypted-volume.js';
import { Ec2InvalidParameterValueError, Ec2SnapshotNotFoundError } from '../errors.js';
import { newId, snapshotPath, volumePath, type VolumeContext } from '../volume-context.js';
import type { SnapshotRecord, Tag } from '../volume-store.js';
import { reencryptSnapshot } from './reencrypt-snapshot.js';
import { requireVolume } from './volumes.js';

/** A snapshot record, or InvalidSnapshot.NotFound. */
export async function requireSnapshot(ctx: VolumeContext, snapshotId: string): Promise<SnapshotRecord> {
  const s = await ctx.store.getSnapshot(snapshotId);
  if (s === undefined) throw new Ec2SnapshotNotFoundError(`The snapshot '${snapshotId}' does not exist.`);
  return s;
}

/**
 * CreateSnapshot (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSnapshot.html):
 * a point-in-time copy of the volume's encrypted blocks (EncryptedVolume.copyTo), still
 * under the volume's data key, whose wrapped form the snapshot record keeps. An attached
 * volume is copied through its open device (writes wait while the copy runs); a detached
 * one is opened read-only for the copy, which needs KMS Decrypt like an attach.
 * Raises InvalidVolume.NotFound, InvalidKMSKey.InvalidState.
 */
export async function createSnapshot(ctx: VolumeContext, call: CallContext, req: { volumeId: string; description: string; tags: readonly Tag[] }): Promise<SnapshotRecord> {
  const volume = await requireVolume(ctx, req.volumeId);
  const snapshotId = newId('snap');
  const path = snapshotPath(ctx, snapshotId);
  const attached = ctx.attachments.device(volume.volumeId);
  if (attached !== undefined) {
    await attached.copyTo(path);
  } else {
    const device = await EncryptedVolume.open(volumePath(ctx, volume.volumeId), await ctx.keys.unwrap(call, volume.dataKey), { readOnly: true });
    try {
      await device.copyTo(path);
    } finally {
      await device.close();
    }
  }
  const record: SnapshotRecord = {
    snapshotId,
    volumeId: volume.volumeId,
    volumeSizeGiB: volume.sizeGiB,
    description: req.description,
    startTime: ctx.clock.now(),
    dataKey: volume.dataKey,
    tags: req.tags,
  };
  await saveOrRemove(ctx, record, path);
  return record;
}

/**
 * CopySnapshot (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html)
 * within this region: the copy gets a new data key from GenerateDataKeyWithoutPlaintext
 * under KmsKeyId (default: the account's EBS default key), bound to the copy's id, and
 * every written block is re-encrypted under it (EncryptedVolume.reencryptTo). Raises
 * InvalidSnapshot.NotFound, InvalidParameterValue (another SourceRegion), InvalidKMSKey.*.
 */
export async function copySnapshot(
  ctx: VolumeContext, call: CallContext, req: { sourceSnapshotId: string; sourceRegion: string; description?: string; kmsKeyId?: string; tags: readonly Tag[] },
): Promise<SnapshotRecord> {
  if (req.sourceRegion !== ctx.region) {
    throw new Ec2InvalidParameterValueError(`Value (${req.sourceRegion}) for parameter sourceRegion is invalid. Only ${ctx.region} is served here.`);
  }
  const source = await requireSnapshot(ctx, req.sourceSnapshotId);
  const settings = await ctx.store.getEbsSettings();
  const kmsKeyArn = await ctx.keys.resolveKeyArn(req.kmsKeyId ?? settings.defaultKmsKeyId);
  const snapshotId = newId('snap');
  const dataKey = await ctx.keys.generate(call, kmsKeyArn, snapshotId);
  const newKey = await ctx.keys.unwrap(call, dataKey);
  const path = snapshotPath(ctx, snapshotId);
  try {
    await reencryptSnapshot(ctx, call, source, path, newKey);
  } finally {
    newKey.dispose();
  }
  const record: SnapshotRecord = {
    snapshotId,
    volumeId: source.volumeId,
    volumeSizeGiB: source.volumeSizeGiB,
    description: req.description ?? `Copied for DestinationAmi from ${source.snapshotId}`,
    startTime: ctx.clock.now(),
    dataKey,
    tags: req.tags,
    sourceSnapshotId: source.snapshotId,
  };
  await saveOrRemove(ctx, record, path);
  return record;
}

/** DeleteSnapshot (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSnapshot.html). */
export async function deleteSnapshot(ctx: VolumeContext, snapshotId: string): Promise<void> {
  await requireSnapshot(ctx, snapshotId);
  await ctx.store.deleteSnapshot(snapshotId);
  await unlink(snapshotPath(ctx, snapshotId)).catch(() => undefined);
}

async function saveOrRemove(ctx: VolumeContext, record: SnapshotRecord, path: string): Promise<void> {
  try {
    await ctx.store.createSnapshot(record);
  } catch (err) {
    await unlink(path).catch(() => undefined);
    throw err;
  }
}
