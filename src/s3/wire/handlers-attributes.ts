import { parseCount } from '../operations/multipart/manage-uploads.js';
import { unsealObjectKey } from '../operations/read-object.js';
import type { S3Call } from './call.js';
import { getExisting } from './handlers-object.js';
import { httpDate } from './headers/http-date.js';
import { parseCustomerKey, refuseSseHeader, requireSecureForSseC } from './headers/sse.js';
import { objectAttributesXml, parseObjectAttributes } from './xml-attributes.js';
import { firstHeader } from './headers/first-header.js';

/**
 * GetObjectAttributes (`GET /key?attributes`): the attributes x-amz-object-attributes names,
 * from the object's record; the body is never read. Needs s3:GetObject besides the route's
 * s3:GetObjectAttributes (S3 requires both on an unversioned bucket); for a request naming a
 * version, s3:GetObjectVersion and s3:GetObjectVersionAttributes. An SSE-C object needs
 * its key headers, checked as HeadObject checks them (SseCustomerKeyMissingError,
 * SseCustomerKeyMismatchError); other modes open no key (no KMS call). ObjectParts pages
 * with x-amz-max-parts (1000 by default) and x-amz-part-number-marker. Raises
 * NoSuchBucketError, NoSuchKeyError, AccessDeniedError, InvalidRequestError and
 * InvalidArgumentError for the headers. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
 */
export async function getObjectAttributesRoute(c: S3Call): Promise<void> {
  // In its Version form for a request naming a version, as the route's own action (handler.ts VERSION_ACTIONS).
  await c.authorize(c.query.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', { bucket: c.bucket, key: c.key });
  const wanted = parseObjectAttributes(c.req.headers);
  const maxParts = Math.min(parseCount(firstHeader(c.req.headers, 'x-amz-max-parts'), 'max-parts', 1000), 1000);
  const marker = parseCount(firstHeader(c.req.headers, 'x-amz-part-number-marker'), 'part-number-marker', 0);
  refuseSseHeader(c.req.headers);
  const customer = parseCustomerKey(c.req.headers, 'x-amz-server-side-encryption-customer-');
  try {
    if (customer !== undefined) requireSecureForSseC(c.secure);
    // The record without its body; NoSuchBucketError before NoSuchKeyError, as a GET answers.
    const o = await getExisting(c, false);
    if (o.sealedKey.mode === 'SSE-C' || customer !== undefined) (await unsealObjectKey(c.deps, o, customer)).dispose();
    c.send(200, { 'last-modified': httpDate(o.lastModified) }, objectAttributesXml(o, wanted, { marker, maxParts }));
  } finally {
    customer?.key.dispose();
  }
}
