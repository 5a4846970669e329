import { NoSuchTagSetError } from '../errors.js';
import type { S3Call } from './call.js';
import { cloudTrailTagging, parseTaggingXml, taggingXml } from './tagging.js';

/** PutObjectTagging: replaces the object's tag set. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html */
export async function putObjectTaggingRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  const tags = parseTaggingXml(await c.readSmall(64 * 1024));
  await c.deps.store.setObjectTags(c.bucket, c.key, tags);
  c.send(200);
}

/** GetObjectTagging (an empty TagSet when untagged). https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html */
export async function getObjectTaggingRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  // The row without its inline body: tags never need it.
  const o = await c.deps.store.getObjectHead(c.bucket, c.key);
  c.send(200, {}, taggingXml(o.tags ?? {}));
}

/** DeleteObjectTagging: 204 whether or not there were tags. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjectTagging.html */
export async function deleteObjectTaggingRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  await c.deps.store.setObjectTags(c.bucket, c.key, {});
  c.send(204);
}

/**
 * PutBucketTagging: replaces the bucket's tag set (at most 50 tags, checked as object tags
 * are otherwise); an empty TagSet leaves the bucket untagged. Raises NoSuchBucketError,
 * MalformedXmlError, InvalidTagError. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html
 */
export async function putBucketTaggingRoute(c: S3Call): Promise<void> {
  const body = await c.readSmall(64 * 1024);
  // The bucket before the document, as S3: any document for a missing bucket is NoSuchBucket.
  await c.deps.store.getBucket(c.bucket);
  const tags = parseTaggingXml(body, 'bucket');
  await c.deps.store.setBucketTags(c.bucket, tags);
  // As CloudTrail records it, noted once stored (as the other bucket configurations), so a failed
  // write records none. Validated (at most 50 tags, keys of 128 and values of 256 characters,
  // from a body of at most 64 KiB), so bounded; tags hold no secrets.
  c.note({ requestDocument: { Tagging: cloudTrailTagging(tags) } });
  c.send(204);
}

/** GetBucketTagging: NoSuchTagSet when the bucket has none. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketTagging.html */
export async function getBucketTaggingRoute(c: S3Call): Promise<void> {
  const tags = await c.deps.store.getBucketTags(c.bucket);
  if (tags === undefined) throw new NoSuchTagSetError('');
  c.send(200, {}, taggingXml(tags));
}

/** DeleteBucketTagging: 204 whether or not there were tags. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketTagging.html */
export async function deleteBucketTaggingRoute(c: S3Call): Promise<void> {
  await c.deps.store.setBucketTags(c.bucket, undefined);
  c.send(204);
}
