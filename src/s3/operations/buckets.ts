import { IllegalLocationConstraintError, InvalidArgumentError, InvalidBucketNameError, InvalidLocationConstraintError, EncryptionConfigurationNotFoundError } from '../errors.js';
import type { BucketEncryption, BucketRecord } from '../metadata-store.js';
import type { S3Deps } from '../s3-deps.js';

/**
 * Raises InvalidBucketNameError unless `name` follows S3's general-purpose bucket naming
 * rules: 3–63 characters of a-z, 0-9, '.', '-'; starts and ends with a letter or digit;
 * no '..'; not an IP address; none of the reserved prefixes and suffixes.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function checkBucketName(name: string): void {
  const ok =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(name) &&
    !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name);
  if (!ok) throw new InvalidBucketNameError('');
}

/**
 * CreateBucket. Raises InvalidBucketNameError, BucketAlreadyOwnedByYouError,
 * InvalidLocationConstraintError (a location that is no region, or an explicit `us-east-1`:
 * S3 names that region by the absence of a constraint and refuses it spelled out) and, when
 * this server's region is not us-east-1, IllegalLocationConstraintError for a constraint
 * other than its own region (or none): a regional S3 endpoint creates buckets only in its
 * region, while us-east-1 serves as the global endpoint that takes any.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
 */
export async function createBucket(deps: S3Deps, name: string, location: string | undefined): Promise<BucketRecord> {
  checkBucketName(name);
  if (location !== undefined && ((!/^[a-z]{2}(-[a-z]+)+-\d$/.test(location) && location !== 'EU') || location === 'us-east-1')) {
    throw new InvalidLocationConstraintError('');
  }
  if (deps.region !== 'us-east-1' && location !== deps.region && !(location === 'EU' && deps.region === 'eu-west-1')) {
    throw new IllegalLocationConstraintError(`The ${location ?? 'unspecified'} location constraint is incompatible for the region specific endpoint this request was sent to.`);
  }
  const bucket: BucketRecord = { name, region: location ?? deps.region, createdAt: deps.clock.now() };
  await deps.store.createBucket(bucket);
  return bucket;
}

/** DeleteBucket. Raises NoSuchBucketError, BucketNotEmptyError. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html */
export async function deleteBucket(deps: S3Deps, name: string): Promise<void> {
  await deps.store.deleteBucket(name);
}

/** PutBucketEncryption. Raises NoSuchBucketError, InvalidArgumentError. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html */
export async function putBucketEncryption(deps: S3Deps, name: string, rule: { algorithm: string; kmsKeyId?: string; bucketKeyEnabled: boolean }): Promise<void> {
  let enc: BucketEncryption;
  if (rule.algorithm === 'AES256') {
    if (rule.kmsKeyId !== undefined) throw new InvalidArgumentError('a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms');
    enc = { algorithm: 'AES256', bucketKeyEnabled: rule.bucketKeyEnabled };
  } else if (rule.algorithm === 'aws:kms') {
    enc = { algorithm: 'aws:kms', ...(rule.kmsKeyId !== undefined ? { kmsKeyId: rule.kmsKeyId } : {}), bucketKeyEnabled: rule.bucketKeyEnabled };
  } else {
    throw new InvalidArgumentError('The server side encryption algorithm is invalid; valid values are AES256 and aws:kms.');
  }
  await deps.store.setBucketEncryption(name, enc);
}

/**
 * GetBucketEncryption. Raises NoSuchBucketError, EncryptionConfigurationNotFoundError when
 * none was set (objects are still SSE-S3 encrypted).
 */
export async function getBucketEncryption(deps: S3Deps, name: string): Promise<BucketEncryption> {
  const b = await deps.store.getBucket(name);
  if (b.encryption === undefined) throw new EncryptionConfigurationNotFoundError('');
  return b.encryption;
}
