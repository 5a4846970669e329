import { corsFromJson, corsToJson } from '../cors/cors-config.js';
import { NoSuchCorsConfigurationError } from '../errors.js';
import type { S3Call } from './call.js';
import { corsConfigurationXml, parseCorsConfiguration } from './xml-cors.js';

/** S3's limit on a CORS configuration document (64 KB). */
const MAX_CORS_BYTES = 64 * 1024;

/**
 * PutBucketCors: replaces the bucket's CORS configuration. The request's Content-MD5 or
 * x-amz-checksum-* was required and checked before (refuseUnservable, the payload). Raises
 * NoSuchBucketError, MalformedXmlError, InvalidRequestError, EntityTooLargeError.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html
 */
export async function putBucketCorsRoute(c: S3Call): Promise<void> {
  const body = await c.readSmall(MAX_CORS_BYTES);
  // The bucket before the document, as S3: any document for a missing bucket is NoSuchBucket.
  await c.deps.store.getBucket(c.bucket);
  await c.deps.store.setBucketCors(c.bucket, corsToJson(parseCorsConfiguration(body)));
  c.send(200);
}

/**
 * GetBucketCors: the rules as put. Raises NoSuchBucketError, NoSuchCorsConfigurationError.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketCors.html
 */
export async function getBucketCorsRoute(c: S3Call): Promise<void> {
  const text = await c.deps.store.getBucketCors(c.bucket);
  if (text === undefined) throw new NoSuchCorsConfigurationError('');
  c.send(200, {}, corsConfigurationXml(corsFromJson(text)));
}

/**
 * DeleteBucketCors: 204, with or without a configuration to remove. Raises NoSuchBucketError.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketCors.html
 */
export async function deleteBucketCorsRoute(c: S3Call): Promise<void> {
  await c.deps.store.setBucketCors(c.bucket, undefined);
  c.send(204);
}
