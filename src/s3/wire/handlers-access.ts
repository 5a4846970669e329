import * as ops from '../operations/bucket-access.js';
import { MAX_BUCKET_POLICY_BYTES } from '../access/bucket-policy.js';
import { MalformedPolicyError } from '../errors.js';
import type { S3Call } from './call.js';
import { S3_NS } from './xml.js';
import { parsePublicAccessBlock, policyStatusXml, publicAccessBlockXml } from './xml-access.js';

/** PutBucketPolicy. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html */
export async function putBucketPolicyRoute(c: S3Call): Promise<void> {
  const body = await c.readSmall(MAX_BUCKET_POLICY_BYTES * 2);
  const text = body.toString('utf8');
  if (!text.trimStart().startsWith('{')) throw new MalformedPolicyError('');
  await ops.putBucketPolicy(c.deps, c.bucket, text);
  // Noted once stored, so a refused or denied policy records none. A policy is no secret, and
  // it is bounded by MAX_BUCKET_POLICY_BYTES (20 KiB) as validated.
  const bucketPolicy = recordedPolicy(text);
  if (bucketPolicy !== undefined) c.note({ requestDocument: { bucketPolicy } });
  c.send(204);
}

/**
 * The stored policy as CloudTrail records PutBucketPolicy's `bucketPolicy`: the document as a
 * JSON object, not its text. undefined for text JSON.parse does not read as an object (the
 * policy parser took it, so this is a guard); never throws.
 */
function recordedPolicy(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** GetBucketPolicy: the policy text as stored. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html */
export async function getBucketPolicyRoute(c: S3Call): Promise<void> {
  const text = await ops.getBucketPolicy(c.deps, c.bucket);
  c.send(200, { 'content-type': 'application/json' }, text);
}

/** DeleteBucketPolicy. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketPolicy.html */
export async function deleteBucketPolicyRoute(c: S3Call): Promise<void> {
  await ops.deleteBucketPolicy(c.deps, c.bucket);
  c.send(204);
}

/** GetBucketPolicyStatus. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicyStatus.html */
export async function getBucketPolicyStatusRoute(c: S3Call): Promise<void> {
  c.send(200, {}, policyStatusXml(await ops.getBucketPolicyStatus(c.deps, c.bucket)));
}

/** PutPublicAccessBlock. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html */
export async function putPublicAccessBlockRoute(c: S3Call): Promise<void> {
  const block = parsePublicAccessBlock(await c.readSmall());
  await ops.putPublicAccessBlock(c.deps, c.bucket, block);
  // As CloudTrail records it (its XML read into JSON, the flags as booleans); four flags, no secret.
  const PublicAccessBlockConfiguration = {
    xmlns: S3_NS,
    BlockPublicAcls: block.blockPublicAcls,
    IgnorePublicAcls: block.ignorePublicAcls,
    BlockPublicPolicy: block.blockPublicPolicy,
    RestrictPublicBuckets: block.restrictPublicBuckets,
  };
  c.note({ requestDocument: { PublicAccessBlockConfiguration } });
  c.send(200);
}

/** GetPublicAccessBlock. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetPublicAccessBlock.html */
export async function getPublicAccessBlockRoute(c: S3Call): Promise<void> {
  c.send(200, {}, publicAccessBlockXml(await ops.getPublicAccessBlock(c.deps, c.bucket)));
}

/** DeletePublicAccessBlock. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeletePublicAccessBlock.html */
export async function deletePublicAccessBlockRoute(c: S3Call): Promise<void> {
  await ops.deletePublicAccessBlock(c.deps, c.bucket);
  c.send(204);
}
