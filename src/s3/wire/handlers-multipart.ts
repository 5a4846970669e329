import type { OutgoingHttpHeaders } from 'node:http';
import type { UploadRecord } from '../multipart-store.js';
import { completeUpload } from '../operations/multipart/complete-upload.js';
import { createUpload } from '../operations/multipart/create-upload.js';
import { MAX_LIST_ENTRIES, MAX_PART_BYTES } from '../operations/multipart/limits.js';
import { abortUpload, listParts, listUploads, parseCount } from '../operations/multipart/manage-uploads.js';
import { parsePartNumber, uploadPart, uploadPartCopy } from '../operations/multipart/upload-part.js';
import { modeForWrite, usesBucketKey } from '../operations/sse-select.js';
import { InvalidArgumentError, NoSuchUploadError } from '../errors.js';
import type { S3Call } from './call.js';
import { noteWriteSse, parseCopySource, withCondition } from './handlers-object.js';
import { kmsContextHeader, parseConditions, parseContentHeaders, parseUserMetadata, sseResponseHeaders } from './headers/object-headers.js';
import { parseCustomerKey, parseSseRequest, refuseSseHeader, requireSecureForSseC, type CustomerKey } from './headers/sse.js';
import { parseTaggingHeader } from './tagging.js';
import { completeUploadXml, copyPartXml, initiateUploadXml, listPartsXml, listUploadsXml, parseCompleteUpload } from './xml-multipart.js';
import { firstHeader } from './headers/first-header.js';

const SSE_C = 'x-amz-server-side-encryption-customer-';
const COPY_SSE_C = 'x-amz-copy-source-server-side-encryption-customer-';

/** The upload id of the query; an empty one names no upload. */
function uploadIdOf(c: S3Call): string {
  const id = c.query.get('uploadId') ?? '';
  if (id === '') throw new NoSuchUploadError('');
  return id;
}

/** The SSE headers S3 answers for requests on an upload. */
function uploadSseHeaders(u: UploadRecord): OutgoingHttpHeaders {
  return {
    ...sseResponseHeaders(u.sealedKey, u.customerKeyMd5),
    ...(u.bucketKeyEnabled ? { 'x-amz-server-side-encryption-bucket-key-enabled': 'true' } : {}),
  };
}

/** Notes the upload's KMS key and the SSE uploadSseHeaders answers, for the request's audit record (noteWriteSse). */
function noteSse(c: S3Call, u: UploadRecord): void {
  noteWriteSse(c, u.sealedKey, u.bucketKeyEnabled);
}

/** Runs `fn` with the request's SSE-C key (refused over plain HTTP), disposing it after. */
async function withCustomerKeys<T>(c: S3Call, prefixes: readonly string[], fn: (keys: Array<CustomerKey | undefined>) => Promise<T>): Promise<T> {
  const keys: Array<CustomerKey | undefined> = [];
  try {
    for (const p of prefixes) keys.push(parseCustomerKey(c.req.headers, p));
    if (keys.some((k) => k !== undefined)) requireSecureForSseC(c.secure);
    return await fn(keys);
  } finally {
    for (const k of keys) k?.key.dispose();
  }
}

/** CreateMultipartUpload. https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html */
export async function createUploadRoute(c: S3Call): Promise<void> {
  const sse = parseSseRequest(c.req.headers);
  try {
    if (sse.kind === 'SSE-C') requireSecureForSseC(c.secure);
    const bucket = await c.deps.store.getBucket(c.bucket);
    const tagging = firstHeader(c.req.headers, 'x-amz-tagging');
    parseTaggingHeader(c.req.headers); // InvalidTag now, as S3, not at the completion that applies them
    const checksumAlgorithm = firstHeader(c.req.headers, 'x-amz-checksum-algorithm')?.toLowerCase();
    const bucketKeyEnabled = usesBucketKey(sse, bucket);
    const upload = await createUpload(c.deps, {
      bucket: c.bucket,
      key: c.key,
      mode: modeForWrite(c.deps, sse, bucket),
      content: parseContentHeaders(c.req.headers),
      userMetadata: parseUserMetadata(c.req.headers),
      bucketKeyEnabled,
      ...(tagging !== undefined ? { tagging } : {}),
      ...(sse.kind === 'SSE-C' ? { customerKeyMd5: sse.customer.keyMd5 } : {}),
      ...(checksumAlgorithm !== undefined ? { checksumAlgorithm } : {}),
    });
    noteSse(c, upload);
    const headers = { ...uploadSseHeaders(upload), ...kmsContextHeader(upload.sealedKey), ...(checksumAlgorithm !== undefined ? { 'x-amz-checksum-algorithm': checksumAlgorithm.toUpperCase() } : {}) };
    c.send(200, headers, initiateUploadXml(c.bucket, c.key, upload.uploadId));
  } finally {
    if (sse.kind === 'SSE-C') sse.customer.key.dispose();
  }
}

/** UploadPart. https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html */
export async function uploadPartRoute(c: S3Call): Promise<void> {
  const uploadId = uploadIdOf(c);
  const partNumber = parsePartNumber(c.query.get('partNumber'));
  refuseSseHeader(c.req.headers);
  await withCustomerKeys(c, [SSE_C], async ([customer]) => {
    const payload = c.payload(MAX_PART_BYTES);
    const { upload, part } = await uploadPart(c.deps, {
      bucket: c.bucket,
      key: c.key,
      uploadId,
      partNumber,
      // Opened by uploadPart once it reads it: not before the waits for the upload, its key
      // and the part file, during which a client that leaves would fail it with no listener.
      body: () => payload.stream,
      verify: payload.verify,
      checksums: () => payload.checksums,
      ...(customer !== undefined ? { customer } : {}),
    });
    noteSse(c, upload);
    const checksums = Object.fromEntries(Object.entries(part.checksums).map(([a, v]) => [`x-amz-checksum-${a}`, v]));
    c.send(200, { etag: part.etag, ...uploadSseHeaders(upload), ...checksums });
  });
}

/** UploadPartCopy (UploadPart with x-amz-copy-source). https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html */
export async function uploadPartCopyRoute(c: S3Call): Promise<void> {
  const uploadId = uploadIdOf(c);
  const partNumber = parsePartNumber(c.query.get('partNumber'));
  const source = parseCopySource(String(c.req.headers['x-amz-copy-source']));
  const range = firstHeader(c.req.headers, 'x-amz-copy-source-range');
  await withCustomerKeys(c, [SSE_C, COPY_SSE_C], async ([customer, sourceCustomer]) => {
    const r = await uploadPartCopy(c.deps, {
      bucket: c.bucket,
      key: c.key,
      uploadId,
      partNumber,
      source,
      conditions: parseConditions(c.req.headers, 'x-amz-copy-source-'),
      ...(customer !== undefined ? { customer } : {}),
      ...(sourceCustomer !== undefined ? { sourceCustomer } : {}),
      ...(range !== undefined ? { range } : {}),
    });
    noteSse(c, r.upload);
    c.send(200, uploadSseHeaders(r.upload), copyPartXml(r.part.etag, r.part.lastModified));
  });
}

/** CompleteMultipartUpload. https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html */
export async function completeUploadRoute(c: S3Call): Promise<void> {
  const uploadId = uploadIdOf(c);
  const parts = parseCompleteUpload(await c.readSmall(4 * 1024 * 1024));
  await withCustomerKeys(c, [SSE_C], async ([customer]) => {
    const { upload, object } = await completeUpload(c.deps, { bucket: c.bucket, key: c.key, uploadId, parts, ...(customer !== undefined ? { customer } : {}), ...withCondition(c) });
    noteSse(c, upload);
    const scheme = c.secure ? 'https' : 'http';
    const location = `${scheme}://${c.req.headers.host ?? 'localhost'}/${c.bucket}/${encodeURIComponent(c.key).replace(/%2F/g, '/')}`;
    // S3's Complete answers SSE, KMS key and bucket key only: no SSE-C algorithm or key MD5
    // (CompleteMultipartUploadOutput has no SSECustomer* members), unlike the part calls.
    const headers = upload.sealedKey.mode === 'SSE-C' ? {} : uploadSseHeaders(upload);
    c.send(200, headers, completeUploadXml(location, c.bucket, c.key, object.etag));
  });
}

/** AbortMultipartUpload. https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html */
export async function abortUploadRoute(c: S3Call): Promise<void> {
  await abortUpload(c.deps, c.bucket, c.key, uploadIdOf(c));
  c.send(204);
}

/** ListParts. https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html */
export async function listPartsRoute(c: S3Call): Promise<void> {
  const maxParts = Math.min(parseCount(c.query.get('max-parts'), 'max-parts', MAX_LIST_ENTRIES), MAX_LIST_ENTRIES);
  const marker = parseCount(c.query.get('part-number-marker'), 'part-number-marker', 0);
  const page = await listParts(c.deps, c.bucket, c.key, uploadIdOf(c), marker, maxParts);
  c.send(200, {}, listPartsXml(page, marker, maxParts, c.owner));
}

/** ListMultipartUploads. https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html */
export async function listUploadsRoute(c: S3Call): Promise<void> {
  const prefix = c.query.get('prefix') ?? '';
  const delimiter = c.query.get('delimiter');
  const keyMarker = c.query.get('key-marker') ?? '';
  const uploadIdMarker = c.query.get('upload-id-marker') ?? '';
  const maxUploads = Math.min(parseCount(c.query.get('max-uploads'), 'max-uploads', MAX_LIST_ENTRIES), MAX_LIST_ENTRIES);
  const encoding = c.query.get('encoding-type');
  if (encoding !== undefined && encoding !== 'url') throw new InvalidArgumentError('Invalid Encoding Method specified in Request');
  const hasDelimiter = delimiter !== undefined && delimiter !== '';
  const page = await listUploads(c.deps, {
    bucket: c.bucket,
    prefix,
    keyMarker,
    maxUploads,
    ...(hasDelimiter ? { delimiter } : {}),
    ...(uploadIdMarker !== '' ? { uploadIdMarker } : {}),
  });
  c.send(
    200,
    {},
    listUploadsXml(page, {
      bucket: c.bucket,
      prefix,
      keyMarker,
      uploadIdMarker,
      maxUploads,
      owner: c.owner,
      ...(hasDelimiter ? { delimiter } : {}),
      ...(encoding === 'url' ? { encodingType: 'url' as const } : {}),
    }),
  );
}
