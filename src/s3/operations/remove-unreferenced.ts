import type { S3Deps } from '../s3-deps.js';

/**
 * Starts removing body files that no committed row names any more (the body a PUT or a
 * completion replaced, a re-uploaded part's earlier file, a completed upload's parts), one
 * after another, and returns at once: the caller answers without waiting. Safe because
 * nothing reads such a file once the row that replaced it is durable (a reader that had the
 * old row opens the file or fails on its own terms), and a removal that fails or is cut by a
 * crash leaves a file no object or part row references, which the orphan sweep at the next
 * start removes (sweepOrphanBodies). One at a time, so a 10 000-part completion does not
 * queue 10 000 unlinks ahead of other requests' file work.
 * Never throws or rejects: each failed removal is reported once through `deps.log` at warn,
 * with the bucket and the storage id only (never object keys, object data or key material);
 * without a log it is left to the sweep silently.
 */
export function removeUnreferencedBodies(deps: S3Deps, bucket: string, storageIds: readonly string[]): void {
  if (storageIds.length === 0) return;
  removeEach(deps, bucket, storageIds).catch(() => undefined);
}

async function removeEach(deps: S3Deps, bucket: string, storageIds: readonly string[]): Promise<void> {
  for (const storageId of storageIds) {
    try {
      await deps.backend.delete(storageId);
    } catch (err) {
      deps.log?.warn({ err, bucket, storageId }, 'removing a replaced body file failed; the orphan sweep at the next start removes it');
    }
  }
}
