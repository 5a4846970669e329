import type { VolumeContext } from '../volume-context.js';
import { AWS_MANAGED_EBS_KEY } from '../volume-keys.js';

/**
 * The account's EBS encryption settings: EnableEbsEncryptionByDefault,
 * DisableEbsEncryptionByDefault, GetEbsEncryptionByDefault, ModifyEbsDefaultKmsKeyId,
 * GetEbsDefaultKmsKeyId, ResetEbsDefaultKmsKeyId
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableEbsEncryptionByDefault.html and siblings).
 *
 * Cipherlake has no plaintext volumes, so the by-default flag is recorded and reported
 * (tools that set it read it back) but every volume is encrypted either way.
 */

/** Sets the flag; returns its new value. */
export async function setEncryptionByDefault(ctx: VolumeContext, enabled: boolean): Promise<boolean> {
  const s = await ctx.store.getEbsSettings();
  await ctx.store.putEbsSettings({ ...s, encryptionByDefault: enabled });
  return enabled;
}

/** The flag as last set (false until enabled, as in EC2). */
export async function getEncryptionByDefault(ctx: VolumeContext): Promise<boolean> {
  return (await ctx.store.getEbsSettings()).encryptionByDefault;
}

/**
 * Makes `kmsKeyId` the default key for new volumes and snapshot copies; stores and
 * returns its ARN. Raises InvalidKMSKey.NotFound for an unknown key.
 */
export async function modifyDefaultKmsKeyId(ctx: VolumeContext, kmsKeyId: string): Promise<string> {
  const arn = await ctx.keys.resolveKeyArn(kmsKeyId);
  const s = await ctx.store.getEbsSettings();
  await ctx.store.putEbsSettings({ encryptionByDefault: s.encryptionByDefault, defaultKmsKeyId: arn });
  return arn;
}

/** The default key's ARN, or `alias/aws/ebs` when none was set (as EC2 answers). */
export async function getDefaultKmsKeyId(ctx: VolumeContext): Promise<string> {
  return (await ctx.store.getEbsSettings()).defaultKmsKeyId ?? AWS_MANAGED_EBS_KEY;
}

/** Back to alias/aws/ebs; returns the AWS managed key's ARN (created if needed). */
export async function resetDefaultKmsKeyId(ctx: VolumeContext): Promise<string> {
  const s = await ctx.store.getEbsSettings();
  await ctx.store.putEbsSettings({ encryptionByDefault: s.encryptionByDefault });
  return ctx.keys.resolveKeyArn(undefined);
}
