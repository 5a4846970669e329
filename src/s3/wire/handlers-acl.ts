import { AccessControlListNotSupportedError } from '../errors.js';
import type { S3Call } from './call.js';
import { aclHeadersOwnerOnly } from './request-guards.js';
import { grantsOwnerOnly, ownerOnlyAclXml, ownershipControlsXml } from './xml-acl.js';

// ACLs are disabled on every bucket here, as S3's Bucket owner enforced (its default since
// April 2023) disables them: reads answer the owner's FULL_CONTROL, writes take only an ACL
// that leaves the owner alone in control (a no-op) and refuse any other, as S3 does
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html).

/** Refuses (AccessControlListNotSupported) a Put*Acl whose headers or body grant anyone but the owner. */
async function refuseUnlessOwnerOnly(c: S3Call): Promise<void> {
  if (!aclHeadersOwnerOnly(c.req.headers)) throw new AccessControlListNotSupportedError('');
  const body = await c.readSmall(64 * 1024);
  if (body.length > 0 && !grantsOwnerOnly(body, c.owner)) throw new AccessControlListNotSupportedError('');
}

/** GetBucketAcl: the owner's FULL_CONTROL. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html */
export async function getBucketAclRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  c.send(200, {}, ownerOnlyAclXml(c.owner));
}

/** PutBucketAcl: an owner-only ACL is taken (nothing changes), any other refused. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html */
export async function putBucketAclRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  await refuseUnlessOwnerOnly(c);
  c.send(200);
}

/** GetObjectAcl: the owner's FULL_CONTROL; NoSuchKey for a missing key. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html */
export async function getObjectAclRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  await c.deps.store.getObjectHead(c.bucket, c.key);
  c.send(200, {}, ownerOnlyAclXml(c.owner));
}

/** PutObjectAcl: as PutBucketAcl, on an existing object. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html */
export async function putObjectAclRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  await c.deps.store.getObjectHead(c.bucket, c.key);
  await refuseUnlessOwnerOnly(c);
  c.send(200);
}

/** GetBucketOwnershipControls: BucketOwnerEnforced. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketOwnershipControls.html */
export async function getBucketOwnershipControlsRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  c.send(200, {}, ownershipControlsXml());
}
