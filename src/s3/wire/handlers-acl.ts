import { AccessControlListNotSupportedError, MissingSecurityHeaderError, NotImplementedError, UnexpectedContentError } from '../errors.js';
import type { S3Call } from './call.js';
import { aclHeadersOwnerOnly, hasAclHeaders } from './request-guards.js';
import { S3_NS } from './xml.js';
import { grantsOwnerOnly, ownerOnlyAclXml, ownershipControlsXml, parseOwnershipControls } from './xml-acl.js';

// ACLs are disabled on every bucket here, as S3's Bucket owner enforced (its default since
// April 2023) disables them: reads answer the owner's FULL_CONTROL, writes take only an ACL
// that leaves the owner alone in control (a no-op) and refuse any other, as S3 does
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html).

/**
 * Refuses a Put*Acl as S3 does: an ACL given both in headers and in a body is
 * UnexpectedContent, one given in neither MissingSecurityHeader; one that grants anyone but
 * the owner AccessControlListNotSupported.
 */
async function refuseUnlessOwnerOnly(c: S3Call): Promise<void> {
  const body = await c.readSmall(64 * 1024);
  const inHeaders = hasAclHeaders(c.req.headers);
  if (inHeaders && body.length > 0) throw new UnexpectedContentError('');
  if (!inHeaders && body.length === 0) throw new MissingSecurityHeaderError('');
  if (!aclHeadersOwnerOnly(c.req.headers, c.owner.id)) throw new AccessControlListNotSupportedError('');
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

/**
 * PutBucketOwnershipControls: BucketOwnerEnforced (what every bucket here already is) is taken
 * and changes nothing; BucketOwnerPreferred and ObjectWriter, which enable ACLs, are
 * NotImplemented rather than ignored, as CreateBucket's x-amz-object-ownership. Raises
 * NoSuchBucketError, MalformedXmlError. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html
 */
export async function putBucketOwnershipControlsRoute(c: S3Call): Promise<void> {
  const body = await c.readSmall(64 * 1024);
  await c.deps.store.getBucket(c.bucket);
  const ownership = parseOwnershipControls(body);
  if (ownership !== 'BucketOwnerEnforced') throw new NotImplementedError('Object Ownership other than BucketOwnerEnforced is not implemented.');
  // As CloudTrail records it (its XML read into JSON, as PutBucketTagging's Tagging); taken
  // only once accepted, so a refused document records none. One fixed value: bounded, no secret.
  c.note({ requestDocument: { OwnershipControls: { xmlns: S3_NS, Rule: { ObjectOwnership: ownership } } } });
  c.send(200);
}

/**
 * DeleteBucketOwnershipControls: NotImplemented. On S3 a bucket without ownership controls
 * behaves as ObjectWriter, with ACLs enabled (and GetBucketOwnershipControls then answers
 * OwnershipControlsNotFoundError); ACLs are not implemented here, so the delete is refused
 * rather than answered 204 for a bucket that stays owner-enforced. Raises NoSuchBucketError.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketOwnershipControls.html
 */
export async function deleteBucketOwnershipControlsRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  throw new NotImplementedError('Deleting ownership controls would enable ACLs, which are not implemented: every bucket stays BucketOwnerEnforced.');
}
