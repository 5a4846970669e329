import type { OutgoingHttpHeaders } from 'node:http';
import { XMLBuilder } from 'fast-xml-parser';
import { EntityTooSmallError } from '../../errors.js';
import type { ObjectRecord } from '../../metadata-store.js';
import { modeForWrite } from '../../operations/sse-select.js';
import { writeObject } from '../../operations/write-object.js';
import type { S3Call } from '../call.js';
import { checksumHeaders, noteWriteSse, withSse } from '../handlers-object.js';
import { kmsContextHeader, parseContentHeaders, parseUserMetadata, sseResponseHeaders } from '../headers/object-headers.js';
import { parseSseRequest } from '../headers/sse.js';
import { MAX_PUT_BYTES, openPayloadOf } from '../payload.js';
import { parseTaggingXml } from '../tagging.js';
import { S3_XML_BUILDER_OPTIONS } from '../xml-entities.js';
import { postUploadOf, type PostUpload } from './post-upload.js';

const builder = new XMLBuilder(S3_XML_BUILDER_OPTIONS);

/**
 * POST Object: the PutObject of a browser upload whose form openPostUpload has read,
 * authenticated and checked, and whose s3:PutObject the handler has authorized. The file
 * streams through PutObject's write path (SSE from the form's fields or the bucket's
 * default, durable before the answer); the policy's content-length-range bounds it
 * (EntityTooLarge as it passes the maximum, EntityTooSmall at its end). Answers as S3: 204
 * by default, 200 or 201 (PostResponse XML) by success_action_status, 303 to an absolute
 * http(s) success_action_redirect with bucket, key and etag appended; each with ETag,
 * Location and the SSE headers. https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */
export async function postObjectRoute(c: S3Call): Promise<void> {
  const upload = postUploadOf(c.req);
  try {
    const sse = parseSseRequest(upload.headers);
    await withSse(c, sse, async () => {
      const bucket = await c.deps.store.getBucket(c.bucket);
      const content = parseContentHeaders(upload.headers);
      const userMetadata = parseUserMetadata(upload.headers);
      const tagging = upload.fields.get('tagging')?.value;
      const tags = tagging !== undefined ? parseTaggingXml(Buffer.from(tagging, 'utf8')) : undefined;
      const max = Math.min(upload.range?.max ?? MAX_PUT_BYTES, MAX_PUT_BYTES);
      const payload = openPayloadOf({ headers: upload.headers }, upload.verified, max, upload.file);
      const o = await writeObject(c.deps, {
        bucket: c.bucket,
        key: c.key,
        body: () => payload.stream,
        readWhole: payload.readWhole,
        abort: payload.abort,
        verify: () => {
          payload.verify();
          const min = upload.range?.min ?? 0;
          if (upload.file.bytes < min) throw new EntityTooSmallError('Your proposed upload is smaller than the minimum allowed size');
        },
        mode: modeForWrite(c.deps, sse, bucket),
        content,
        userMetadata,
        checksums: () => payload.checksums,
        ...(tags !== undefined ? { tags } : {}),
      });
      noteWriteSse(c, o.sealedKey, false);
      const md5 = sse.kind === 'SSE-C' ? sse.customer.keyMd5 : undefined;
      answer(c, upload, o, { ...sseResponseHeaders(o.sealedKey, md5), ...kmsContextHeader(o.sealedKey), ...checksumHeaders(o) });
    });
  } catch (err) {
    upload.abandon();
    throw err;
  }
}

/**
 * The answer S3 gives a stored upload (see postObjectRoute). A client still sending when the
 * object is stored (parts after the file, which S3 ignores) is read no further: the answer
 * closes the connection, so an endless tail cannot hold it and the server's reading.
 */
function answer(c: S3Call, upload: PostUpload, o: ObjectRecord, sseHeaders: OutgoingHttpHeaders): void {
  if (!c.req.complete) {
    upload.stopReading();
    c.res.shouldKeepAlive = false;
  }
  const location = objectUrl(c);
  const headers: OutgoingHttpHeaders = { etag: o.etag, location, ...sseHeaders };
  const redirect = redirectUrl(upload.fields.get('success_action_redirect')?.value ?? upload.fields.get('redirect')?.value);
  if (redirect !== undefined) {
    // S3 keeps the URL's own query and appends bucket, key and etag, form-encoded.
    // Before a #fragment, which is kept: appended after it they were no query at all.
    const added = new URLSearchParams({ bucket: c.bucket, key: c.key, etag: o.etag }).toString();
    const hash = redirect.indexOf('#');
    const [base, fragment] = hash < 0 ? [redirect, ''] : [redirect.slice(0, hash), redirect.slice(hash)];
    c.send(303, { ...headers, location: `${base}${base.includes('?') ? '&' : '?'}${added}${fragment}` });
    return;
  }
  const status = upload.fields.get('success_action_status')?.value;
  if (status === '201') {
    const xml = builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, PostResponse: { Location: location, Bucket: c.bucket, Key: c.key, ETag: o.etag } }) as string;
    c.send(201, headers, xml);
    return;
  }
  // Any other value (or none) is S3's default, 204 with no body.
  c.send(status === '200' ? 200 : 204, headers);
}

/** The object's URL as the request addressed its bucket (path or virtual host), the key percent-encoded (its `/` included, as S3). */
function objectUrl(c: S3Call): string {
  const host = c.req.headers.host ?? 'localhost';
  const path = (c.req.url ?? '/').split('?')[0] ?? '/';
  const bucketPart = path === '/' || path === '' ? '' : `/${encodeURIComponent(c.bucket)}`;
  return `${c.secure ? 'https' : 'http'}://${host}${bucketPart}/${encodeURIComponent(c.key)}`;
}

/**
 * success_action_redirect when S3 can use it (an absolute http or https URL), as the URL
 * parser serializes it (CR, LF and tab dropped, other characters percent-encoded: the raw
 * value may hold what no Location header can, and failed the answer after the object was
 * stored); else undefined, as if absent.
 */
function redirectUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
