import * as ops from '../operations/bucket-access.js';
import { MAX_BUCKET_POLICY_BYTES } from '../access/bucket-policy.js';
import { MalformedPolicyError } from '../errors.js';
import type { S3Call } from './call.js';
import { parsePublicAccessBlock, policyStatusXml, publicAccessBlockXml } from './xml-access.js';

/** PutBucketPolicy. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html */
export async function putBucketPolicyRoute(c: S3Call): Promise<void> {
  const body = await c.readSmall(MAX_BUCKET_POLICY_BYTES * 2);
  const text = body.toString('utf8');
  if (!text.trimStart().startsWith('{')) throw new MalformedPolicyError('');
  await ops.putBucketPolicy(c.deps, c.bucket, text);
  c.send(204);
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
  await ops.putPublicAccessBlock(c.deps, c.bucket, parsePublicAccessBlock(await c.readSmall()));
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
