/** A bucket's public access block (PutPublicAccessBlock); every flag defaults to false. */
export interface PublicAccessBlock {
  readonly blockPublicAcls: boolean;
  readonly ignorePublicAcls: boolean;
  /** PutBucketPolicy refuses a public policy (AccessDenied). */
  readonly blockPublicPolicy: boolean;
  /** Public statements of the bucket policy do not apply to anonymous or cross-account callers. */
  readonly restrictPublicBuckets: boolean;
}

/**
 * Bucket policies and public access blocks, kept beside the bucket records: removing a
 * bucket removes both. Implementations: SqliteBucketAccessStore. The policy is stored as
 * the caller's JSON text (GetBucketPolicy returns it verbatim); it was validated on put.
 * Errors: NoSuchBucketError on put for a missing bucket.
 */
export interface BucketAccessStore {
  /** The policy text, or undefined if the bucket has none (or does not exist). */
  getPolicy(bucket: string): Promise<string | undefined>;
  /** Replaces the policy. Raises NoSuchBucketError. */
  putPolicy(bucket: string, policy: string): Promise<void>;
  /** Removes the policy; a no-op when there is none. */
  deletePolicy(bucket: string): Promise<void>;
  /** The public access block, or undefined if none is configured. */
  getPublicAccessBlock(bucket: string): Promise<PublicAccessBlock | undefined>;
  /** Replaces the public access block. Raises NoSuchBucketError. */
  putPublicAccessBlock(bucket: string, block: PublicAccessBlock): Promise<void>;
  /** Removes the public access block; a no-op when there is none. */
  deletePublicAccessBlock(bucket: string): Promise<void>;
}
