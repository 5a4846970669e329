import { echoed } from '../../common/bounded-echo.js';
import type { CallContext } from '../../kms/index.js';
import { EncryptedVolume } from '../encrypted-volume.js';
import { Ec2IncorrectStateError, Ec2InvalidParameterValueError, Ec2VolumeInUseError } from '../errors.js';
import { EC2_ID_FORMS, volumePath, type VolumeContext } from '../volume-context.js';
import type { Attachment } from '../attachments.js';
import { requireVolume } from './volumes.js';

/** How a client reaches an attached volume: the NBD URI and its TLS-PSK credentials. */
export interface NbdAccess {
  /** `nbds://<identity>@<host>:<port>/<volume id>` (add `?tls-psk-file=…` for libnbd). */
  readonly uri: string;
  readonly pskIdentity: string;
  /** The PSK in hex, as qemu's and libnbd's keys.psk files hold it. Returned once, to the caller. */
  readonly pskHex: string;
}

/** An attachment and (only in AttachVolume's answer) the NBD access for it. */
export interface AttachResult {
  readonly attachment: Attachment;
  readonly nbd?: NbdAccess;
}

/**
 * AttachVolume (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachVolume.html).
 * There are no instances: any `i-` id is accepted and only recorded. The volume's data key
 * is unwrapped through KMS Decrypt (a disabled or deleted key refuses the attach) and held
 * by the open volume until DetachVolume; the volume is then exported over NBD to clients
 * holding this attachment's fresh random PSK. Raises InvalidVolume.NotFound,
 * InvalidParameterValue, VolumeInUse, InvalidKMSKey.InvalidState.
 */
export async function attachVolume(ctx: VolumeContext, call: CallContext, req: { volumeId: string; instanceId: string; device: string }): Promise<AttachResult> {
  if (!EC2_ID_FORMS.i.test(req.instanceId)) throw new Ec2InvalidParameterValueError(`Invalid id: "${echoed(req.instanceId)}"`);
  const volume = await requireVolume(ctx, req.volumeId);
  if (ctx.attachments.get(volume.volumeId) !== undefined) {
    throw new Ec2VolumeInUseError(`${volume.volumeId} is already attached to an instance`);
  }
  const device = await EncryptedVolume.open(volumePath(ctx, volume.volumeId), await ctx.keys.unwrap(call, volume.dataKey));
  // A concurrent attach of the same volume may have won while KMS answered.
  if (ctx.attachments.get(volume.volumeId) !== undefined) {
    await device.close();
    throw new Ec2VolumeInUseError(`${volume.volumeId} is already attached to an instance`);
  }
  const { pskIdentity, pskHex } = ctx.attachments.add({ volumeId: volume.volumeId, instanceId: req.instanceId, device: req.device, attachedAt: ctx.clock.now() }, device);
  const attachment = ctx.attachments.get(volume.volumeId)!;
  const address = ctx.nbdAddress();
  if (address === undefined) return { attachment };
  return { attachment, nbd: { uri: `nbds://${pskIdentity}@${address.host}:${address.port}/${volume.volumeId}`, pskIdentity, pskHex } };
}

/**
 * DetachVolume (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DetachVolume.html):
 * stops the export, waits for requests in flight, zeroes the volume key and the PSK.
 * Raises InvalidVolume.NotFound, IncorrectState (not attached, or to another instance).
 */
export async function detachVolume(ctx: VolumeContext, req: { volumeId: string; instanceId?: string }): Promise<Attachment> {
  const volume = await requireVolume(ctx, req.volumeId);
  const attachment = ctx.attachments.get(volume.volumeId);
  if (attachment === undefined || (req.instanceId !== undefined && req.instanceId !== attachment.instanceId)) {
    throw new Ec2IncorrectStateError(`Volume '${volume.volumeId}' is in the 'available' state.`);
  }
  await ctx.attachments.remove(volume.volumeId);
  return attachment;
}
