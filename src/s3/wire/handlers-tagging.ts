import type { S3Call } from './call.js';
import { parseTaggingXml, taggingXml } from './tagging.js';

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
