import type { CallContext } from '../../kms/index.js';
import type { SecretBytes } from '../../crypto/secret-bytes.js';
import { EncryptedVolume } from '../encrypted-volume.js';
import { snapshotPath, type VolumeContext } from '../volume-context.js';
import type { SnapshotRecord } from '../volume-store.js';

/**
 * Writes the blocks of `snapshot` to a new file at `path`, re-encrypted under `key`
 * (EncryptedVolume.reencryptTo): what CopySnapshot and CreateVolume from a snapshot both do.
 * The snapshot's own data key is unwrapped for `call` (KMS Decrypt, audited as on the
 * caller's behalf) and its file opened read-only, closed again whatever happens. `key` stays
 * the caller's to dispose. Raises InvalidKMSKey.* and the file errors; never writes to the
 * snapshot's file.
 */
export async function reencryptSnapshot(ctx: VolumeContext, call: CallContext, snapshot: SnapshotRecord, path: string, key: SecretBytes): Promise<void> {
  const source = await EncryptedVolume.open(snapshotPath(ctx, snapshot.snapshotId), await ctx.keys.unwrap(call, snapshot.dataKey), { readOnly: true });
  try {
    await source.reencryptTo(path, key);
  } finally {
    await source.close();
  }
}
