import { IllegalLocationConstraintError, InvalidArgumentError, InvalidBucketNameError, InvalidLocationConstraintError } from '../errors.js';
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

/**
 * The configuration a bucket answers when none was set, or after DeleteBucketEncryption: since
 * January 2023 every S3 bucket has SSE-S3 as its default encryption, and GetBucketEncryption
 * answers it rather than ServerSideEncryptionConfigurationNotFoundError ("By default, all buckets
 * have a default encryption configuration that uses server-side encryption with Amazon S3 managed
 * keys (SSE-S3)"; DeleteBucketEncryption "resets the default encryption for the bucket as SSE-S3").
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketEncryption.html
 */
export const DEFAULT_BUCKET_ENCRYPTION: BucketEncryption = Object.freeze({ algorithm: 'AES256', bucketKeyEnabled: false });

/**
 * PutBucketEncryption. Accepts AES256, aws:kms and aws:kms:dsse (the last two with an optional
 * KMSMasterKeyID, which is not checked here: as on AWS, a wrong key fails the write that uses
 * it). BucketKeyEnabled is stored as given; it only ever applies to aws:kms. Raises
 * NoSuchBucketError, InvalidArgumentError (a key id with AES256, or another algorithm).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html
 */
export async function putBucketEncryption(deps: S3Deps, name: string, rule: { algorithm: string; kmsKeyId?: string; bucketKeyEnabled: boolean }): Promise<void> {
  let enc: BucketEncryption;
  if (rule.algorithm === 'AES256') {
    if (rule.kmsKeyId !== undefined) throw new InvalidArgumentError('a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse');
    enc = { algorithm: 'AES256', bucketKeyEnabled: rule.bucketKeyEnabled };
  } else if (rule.algorithm === 'aws:kms' || rule.algorithm === 'aws:kms:dsse') {
    enc = { algorithm: rule.algorithm, ...(rule.kmsKeyId !== undefined ? { kmsKeyId: rule.kmsKeyId } : {}), bucketKeyEnabled: rule.bucketKeyEnabled };
  } else {
    throw new InvalidArgumentError('The server side encryption algorithm is invalid; valid values are AES256, aws:kms and aws:kms:dsse.');
  }
  await deps.store.setBucketEncryption(name, enc);
}

/**
 * GetBucketEncryption: the configuration set, else DEFAULT_BUCKET_ENCRYPTION (SSE-S3, as
 * S3 answers for every bucket since 2023). Raises NoSuchBucketError; never
 * ServerSideEncryptionConfigurationNotFoundError.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html
 */
export async function getBucketEncryption(deps: S3Deps, name: string): Promise<BucketEncryption> {
  const b = await deps.store.getBucket(name);
  return b.encryption ?? DEFAULT_BUCKET_ENCRYPTION;
}
