import type { Principal } from '../../iam/index.js';
import type { Policy } from '../../iam/policy/index.js';
import type { PublicAccessBlock } from '../access/bucket-access-store.js';
import { effectiveBucketPolicy, isPublicPolicy, parseBucketPolicy } from '../access/bucket-policy.js';
import { AccessDeniedError, NoSuchBucketPolicyError, NoSuchPublicAccessBlockConfigurationError } from '../errors.js';
import type { S3Deps } from '../s3-deps.js';

/** Parsed policies by bucket and text; bounded so many buckets cannot grow it without end. */
const MAX_CACHED = 1000;
const parsed = new Map<string, Policy>();

function cachedParse(bucket: string, text: string): Policy {
  const id = `${bucket}\n${text}`;
  let p = parsed.get(id);
  if (p === undefined) {
    p = parseBucketPolicy(text, bucket);
    if (parsed.size >= MAX_CACHED) parsed.clear();
    parsed.set(id, p);
  }
  return p;
}

/**
 * PutBucketPolicy: validates (MalformedPolicyError) and stores the policy text. With the
 * bucket's BlockPublicPolicy on, a public policy is refused with AccessDeniedError, as S3
 * does. Raises NoSuchBucketError.
 */
export async function putBucketPolicy(deps: S3Deps, bucket: string, text: string): Promise<void> {
  await deps.store.getBucket(bucket);
  const policy = parseBucketPolicy(text, bucket);
  const block = await deps.bucketAccess.getPublicAccessBlock(bucket);
  if (block?.blockPublicPolicy === true && isPublicPolicy(policy)) throw new AccessDeniedError('');
  await deps.bucketAccess.putPolicy(bucket, text);
}

/** GetBucketPolicy: the stored text. Raises NoSuchBucketError, NoSuchBucketPolicyError. */
export async function getBucketPolicy(deps: S3Deps, bucket: string): Promise<string> {
  await deps.store.getBucket(bucket);
  const text = await deps.bucketAccess.getPolicy(bucket);
  if (text === undefined) throw new NoSuchBucketPolicyError('');
  return text;
}

/** GetBucketPolicyStatus: whether the policy is public. Raises NoSuchBucketError, NoSuchBucketPolicyError. */
export async function getBucketPolicyStatus(deps: S3Deps, bucket: string): Promise<boolean> {
  return isPublicPolicy(cachedParse(bucket, await getBucketPolicy(deps, bucket)));
}

/** DeleteBucketPolicy (idempotent). Raises NoSuchBucketError. */
export async function deleteBucketPolicy(deps: S3Deps, bucket: string): Promise<void> {
  await deps.store.getBucket(bucket);
  await deps.bucketAccess.deletePolicy(bucket);
}

/** PutPublicAccessBlock. Raises NoSuchBucketError. */
export async function putPublicAccessBlock(deps: S3Deps, bucket: string, block: PublicAccessBlock): Promise<void> {
  await deps.store.getBucket(bucket);
  await deps.bucketAccess.putPublicAccessBlock(bucket, block);
}

/** GetPublicAccessBlock. Raises NoSuchBucketError, NoSuchPublicAccessBlockConfigurationError. */
export async function getPublicAccessBlock(deps: S3Deps, bucket: string): Promise<PublicAccessBlock> {
  await deps.store.getBucket(bucket);
  const block = await deps.bucketAccess.getPublicAccessBlock(bucket);
  if (block === undefined) throw new NoSuchPublicAccessBlockConfigurationError('');
  return block;
}

/** DeletePublicAccessBlock (idempotent). Raises NoSuchBucketError. */
export async function deletePublicAccessBlock(deps: S3Deps, bucket: string): Promise<void> {
  await deps.store.getBucket(bucket);
  await deps.bucketAccess.deletePublicAccessBlock(bucket);
}

/**
 * The bucket policy that applies to `caller` for a request on `bucket` (RestrictPublicBuckets
 * applied), or undefined when the bucket has none (or does not exist). A stored policy that
 * no longer parses raises a plain Error (InternalError on the wire): failing
 * closed, since dropping it would drop its denies.
 */
export async function bucketPolicyFor(deps: S3Deps, bucket: string, caller: Principal): Promise<Policy | undefined> {
  if (bucket === '') return undefined;
  const text = await deps.bucketAccess.getPolicy(bucket);
  if (text === undefined) return undefined;
  let policy: Policy;
  try {
    policy = cachedParse(bucket, text);
  } catch (err) {
    throw new Error(`the stored policy of bucket ${bucket} does not parse`, { cause: err });
  }
  return effectiveBucketPolicy(policy, await deps.bucketAccess.getPublicAccessBlock(bucket), caller, deps.accountId);
}
