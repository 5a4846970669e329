import { corsFromJson, corsToJson, type CorsConfiguration } from '../cors/cors-config.js';
import { NoSuchCorsConfigurationError } from '../errors.js';
import type { S3Call } from './call.js';
import { S3_NS } from './xml.js';
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
  const config = parseCorsConfiguration(body);
  await c.deps.store.setBucketCors(c.bucket, corsToJson(config));
  // Noted once stored, so a refused or denied configuration records none; bounded by the
  // 64 KiB body it came from; origins, methods and headers are no secret.
  c.note({ requestDocument: { CORSConfiguration: cloudTrailCors(config) } });
  c.send(200);
}

/**
 * A validated CORS configuration as CloudTrail records PutBucketCors's `CORSConfiguration`
 * (its XML read into JSON, as PutBucketTagging's `Tagging`): the S3 namespace as `xmlns`;
 * a repeated element (CORSRule, AllowedMethod, ...) is one value when it occurs once and a list
 * when several times, in the request's order; an absent one is left out; a rule's elements in
 * GetBucketCors's order; MaxAgeSeconds is a
 * number. Never throws.
 */
function cloudTrailCors(config: CorsConfiguration): Record<string, unknown> {
  const rules = config.rules.map((r) => ({
    ...repeated('AllowedHeader', r.allowedHeaders),
    ...repeated('AllowedMethod', r.allowedMethods),
    ...repeated('AllowedOrigin', r.allowedOrigins),
    ...repeated('ExposeHeader', r.exposeHeaders),
    ...(r.id !== undefined ? { ID: r.id } : {}),
    ...(r.maxAgeSeconds !== undefined ? { MaxAgeSeconds: r.maxAgeSeconds } : {}),
  }));
  return { xmlns: S3_NS, ...repeated('CORSRule', rules) };
}

/** A repeated XML element as CloudTrail reads it: nothing, one value, or a list. */
function repeated<T>(name: string, values: readonly T[]): Record<string, T | readonly T[]> {
  if (values.length === 0) return {};
  return { [name]: values.length === 1 ? (values[0] as T) : values };
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
