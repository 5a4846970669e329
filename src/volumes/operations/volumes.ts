import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import type { CallContext } from '../../kms/index.js';
import { EncryptedVolume } from '../encrypted-volume.js';
import { Ec2IdempotentParameterMismatchError, Ec2InvalidParameterValueError, Ec2MissingParameterError, Ec2SnapshotNotFoundError, Ec2VolumeInUseError, Ec2VolumeNotFoundError } from '../errors.js';
import { GIB, newId, volumePath, type VolumeContext } from '../volume-context.js';
import type { Tag, VolumeRecord } from '../volume-store.js';
import { reencryptSnapshot } from './reencrypt-snapshot.js';
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
  /** ClientToken: repeating a request with the same token returns its volume (see createVolume). */
  readonly clientToken?: string;
}

/** ClientToken's limit ("Maximum 64 ASCII characters", CreateVolume's API reference). */
const MAX_CLIENT_TOKEN_CHARS = 64;

/** Per server: the CreateVolume running for each ClientToken, so a retry that arrives meanwhile waits for it. */
const tokensInFlight = new WeakMap<VolumeContext, Map<string, Promise<VolumeRecord>>>();

/**
 * CreateVolume (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html).
 * The volume gets its own data key: GenerateDataKeyWithoutPlaintext under the KMS key
 * (KmsKeyId, else the snapshot's key, else the account's EBS default key) with context
 * `aws:ebs:id = vol-…`, then Decrypt to format it. From a snapshot, the snapshot's blocks
 * are re-encrypted under the new data key (so every volume's key is its own and bound to
 * its id); a larger Size grows the volume with unwritten blocks.
 * With a ClientToken (boto3 and the CLI send one, and resend it when they retry), the request
 * is idempotent as EC2's is (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html):
 * a repeat returns the volume the token made, never a second volume; the same token with other
 * parameters is IdempotentParameterMismatch.
 * Raises MissingParameter, InvalidParameterValue, InvalidSnapshot.NotFound, InvalidKMSKey.*,
 * IdempotentParameterMismatch.
 */
export async function createVolume(ctx: VolumeContext, call: CallContext, req: CreateVolumeRequest): Promise<VolumeRecord> {
  const token = req.clientToken;
  if (token === undefined || token === '') return createNewVolume(ctx, call, req, undefined);
  if (token.length > MAX_CLIENT_TOKEN_CHARS || !/^[\x20-\x7e]+$/.test(token)) {
    throw new Ec2InvalidParameterValueError(`Value for parameter clientToken is invalid. It must be 1 to ${MAX_CLIENT_TOKEN_CHARS} ASCII characters.`);
  }
  const { clientToken: _token, ...params } = req;
  const clientToken = { token, request: createHash('sha256').update(JSON.stringify(params)).digest('hex') };
  let running = tokensInFlight.get(ctx);
  if (running === undefined) tokensInFlight.set(ctx, (running = new Map()));
  const inFlight = running;
  const before = inFlight.get(token) ?? Promise.resolve(undefined);
  const mine = before.catch(() => undefined).then(async () => {
    const made = (await ctx.store.listVolumes()).find((v) => v.clientToken?.token === token);
    if (made === undefined) return createNewVolume(ctx, call, req, clientToken);
    if (made.clientToken?.request !== clientToken.request) {
      throw new Ec2IdempotentParameterMismatchError('The client token you have provided is associated with a resource that is already created with different parameters.');
    }
    return made;
  });
  inFlight.set(token, mine);
  try {
    return await mine;
  } finally {
    if (inFlight.get(token) === mine) inFlight.delete(token);
  }
}

async function createNewVolume(ctx: VolumeContext, call: CallContext, req: CreateVolumeRequest, clientToken: VolumeRecord['clientToken']): Promise<VolumeRecord> {
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
      await reencryptSnapshot(ctx, call, snapshot, path, key);
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
    ...(clientToken !== undefined ? { clientToken } : {}),
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
