import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, InvalidRequestError, NoSuchKeyError } from '../errors.js';
import { copyObject } from '../operations/copy-object.js';
import { partRead } from '../operations/multipart/read-multipart.js';
import { checkConditions, isSmallObject, readCurrent, readPlaintext, readSmallPlaintext, resolveRange, unsealObjectKey, type Conditions, type RangeSpec } from '../operations/read-object.js';
import { plaintextBatches, readsInBatches } from '../operations/read-large.js';
import { modeForWrite } from '../operations/sse-select.js';
import { precheckWriteCondition, writeObject } from '../operations/write-object.js';
import { INLINE_STORAGE_ID, type ObjectRecord } from '../metadata-store.js';
import type { WriteCondition } from '../write-condition.js';
import { copySourceNamesVersion } from './authorize.js';
import type { S3Call, S3SseNote } from './call.js';
import type { SealedObjectKey } from '../sse/sealing.js';
import { checkResponseOverrides, kmsContextHeader, objectResponseHeaders, parseConditions, parseContentHeaders, parseRange, parseUserMetadata, sseResponseHeaders } from './headers/object-headers.js';
import { httpDateNow } from './headers/http-date.js';
import { parseCustomerKey, parseSseRequest, refuseSseHeader, requireSecureForSseC, type CustomerKey, type SseRequest } from './headers/sse.js';
import { parseTaggingDirective, parseTaggingHeader } from './tagging.js';
import { writeConditionOf } from './request-guards.js';
import { copyObjectXml } from './xml.js';

const SSE_C = 'x-amz-server-side-encryption-customer-';
const COPY_SSE_C = 'x-amz-copy-source-server-side-encryption-customer-';

/** The x-amz-checksum-* headers of an object's stored checksums (a write's answer; a GET's with x-amz-checksum-mode). */
export function checksumHeaders(o: ObjectRecord): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(o.checksums).map(([a, v]) => [`x-amz-checksum-${a}`, v]));
}

/** The request's If-Match / If-None-Match as a write's `condition` field (nothing when it has neither). */
export function withCondition(c: S3Call): { condition?: WriteCondition } {
  const condition = writeConditionOf(c.req.headers);
  return condition !== undefined ? { condition } : {};
}

function noteKms(c: S3Call, o: ObjectRecord): void {
  if (o.sealedKey.mode === 'SSE-KMS' || o.sealedKey.mode === 'DSSE-KMS') c.note({ keyIdentifier: o.sealedKey.keyArn });
}

// Shared, frozen: the notes without a key are the same for every write.
const SSE_S3_NOTE: S3SseNote = Object.freeze({ mode: 'SSE-S3', bucketKey: false });
const SSE_C_NOTE: S3SseNote = Object.freeze({ mode: 'SSE-C', bucketKey: false });

/**
 * Notes, for a write's audit record, the SSE its answer states (sseResponseHeaders of
 * `sealed`, plus the bucket-key header when `bucketKey`): the mode and, for SSE-KMS and
 * DSSE-KMS, the KMS key's ARN. Never notes an SSE-C key or its MD5. Reads do not call it
 * (CloudTrail records no responseElements for GET and HEAD).
 */
export function noteWriteSse(c: S3Call, sealed: SealedObjectKey, bucketKey: boolean): void {
  switch (sealed.mode) {
    case 'SSE-S3':
      c.note({ sse: SSE_S3_NOTE });
      return;
    case 'SSE-C':
      c.note({ sse: SSE_C_NOTE });
      return;
    case 'SSE-KMS':
      c.note({ keyIdentifier: sealed.keyArn, sse: { mode: 'SSE-KMS', bucketKey: bucketKey || sealed.bucketKey === true } });
      return;
    case 'DSSE-KMS':
      c.note({ keyIdentifier: sealed.keyArn, sse: { mode: 'DSSE-KMS', bucketKey } });
      return;
    default: {
      const never: never = sealed;
      return never;
    }
  }
}

/**
 * Runs `fn` for a write with `sse`: SSE-C only over TLS (InvalidRequest otherwise), and its
 * key disposed of afterwards whatever happens. Raises what `fn` raises.
 */
export async function withSse<T>(c: S3Call, sse: SseRequest, fn: () => Promise<T>): Promise<T> {
  try {
    if (sse.kind === 'SSE-C') requireSecureForSseC(c.secure);
    return await fn();
  } finally {
    if (sse.kind === 'SSE-C') sse.customer.key.dispose();
  }
}

/** PutObject. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html */
export async function putObjectRoute(c: S3Call): Promise<void> {
  const sse = parseSseRequest(c.req.headers);
  await withSse(c, sse, async () => {
    const bucket = await c.deps.store.getBucket(c.bucket);
    const content = parseContentHeaders(c.req.headers);
    const userMetadata = parseUserMetadata(c.req.headers);
    const tags = parseTaggingHeader(c.req.headers);
    const condition = withCondition(c);
    // Before the body is piped anywhere: a refused PUT leaves it to the handler to drain.
    if (condition.condition !== undefined) await precheckWriteCondition(c.deps, c.bucket, c.key, condition.condition);
    const payload = c.payload();
    const o = await writeObject(c.deps, {
      bucket: c.bucket,
      key: c.key,
      // Opened on demand: a body stored inline is read with readWhole and never builds the stream.
      body: () => payload.stream,
      readWhole: payload.readWhole,
      abort: payload.abort,
      ...(payload.declaredSize !== undefined ? { declaredSize: payload.declaredSize } : {}),
      verify: payload.verify,
      mode: modeForWrite(c.deps, sse, bucket),
      content,
      userMetadata,
      checksums: () => payload.checksums,
      ...(tags !== undefined ? { tags } : {}),
      ...condition,
    });
    noteWriteSse(c, o.sealedKey, false);
    const md5 = sse.kind === 'SSE-C' ? sse.customer.keyMd5 : undefined;
    c.send(200, { etag: o.etag, ...sseResponseHeaders(o.sealedKey, md5), ...kmsContextHeader(o.sealedKey), ...checksumHeaders(o) });
  });
}

/** GetObject and HeadObject. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html */
export async function getObjectRoute(c: S3Call): Promise<void> {
  checkResponseOverrides(c.query);
  refuseSseHeader(c.req.headers);
  const customer = parseCustomerKey(c.req.headers, SSE_C);
  try {
    if (customer !== undefined) requireSecureForSseC(c.secure);
    const conditions = parseConditions(c.req.headers);
    const spec = parseRange(c.req.headers);
    const partNumber = c.query.get('partNumber');
    const head = c.req.method === 'HEAD';
    // An overwrite or delete may remove the body file between the row and its opening: then
    // the current row answers (once), as long as nothing was sent.
    await readCurrent(
      () => findReadable(c, conditions, !head),
      (o) => answerRead(c, o, customer, head, partNumber, spec),
      () => !c.res.headersSent,
    );
  } finally {
    customer?.key.dispose();
  }
}

/**
 * The object to answer with, its conditions checked. Reads the inline body only when it is
 * sent: HEAD and a conditional request that answers 304/412 never read the body column.
 */
async function findReadable(c: S3Call, conditions: Conditions, withBody: boolean): Promise<ObjectRecord> {
  const conditional = Object.keys(conditions).length > 0;
  if (withBody && !conditional) return getExisting(c, true);
  const o = await getExisting(c, false);
  checkConditions(o, conditions);
  if (!withBody || o.storageId !== INLINE_STORAGE_ID) return o;
  // An inline object that passed: now its body (the row may have changed meanwhile: check again).
  const full = await getExisting(c, true);
  checkConditions(full, conditions);
  return full;
}

/**
 * One answer to GET/HEAD from `o`. Every body is opened (or read whole) before the status
 * line is written, so a body removed by a concurrent overwrite raises with nothing sent.
 */
async function answerRead(c: S3Call, o: ObjectRecord, customer: CustomerKey | undefined, head: boolean, partNumber: string | undefined, spec: RangeSpec | undefined): Promise<void> {
  if (partNumber !== undefined && spec !== undefined) throw new InvalidRequestError('Cannot specify both Range header and partNumber query parameter');
  const part = partNumber === undefined ? undefined : partRead(o, partNumber);
  const range = part !== undefined ? part.range : spec === undefined ? undefined : resolveRange(spec, o.size);
  // Added to the fresh object objectResponseHeaders returns, in this order (every GET and HEAD: no spread copies).
  const headers: OutgoingHttpHeaders = objectResponseHeaders(o, c.query);
  Object.assign(headers, sseResponseHeaders(o.sealedKey, customer?.keyMd5));
  if (range === undefined && c.req.headers['x-amz-checksum-mode'] === 'ENABLED') Object.assign(headers, checksumHeaders(o));
  if (range !== undefined) headers['content-range'] = `bytes ${range.start}-${range.endInclusive}/${o.size}`;
  if (part?.partsCount !== undefined) headers['x-amz-mp-parts-count'] = part.partsCount;
  headers['content-length'] = range === undefined ? o.size : range.endInclusive - range.start + 1;
  headers['x-amz-request-id'] = c.requestId;
  headers['x-amz-id-2'] = c.requestId;
  headers.date = httpDateNow(c.deps.clock.now());
  headers.server = 'Cipherlake';
  const status = range === undefined ? 200 : 206;
  const unsealing = unsealObjectKey(c.deps, o, customer);
  // Noted as soon as the key opened, even if reading the body fails afterwards.
  unsealing.then(() => noteKms(c, o), () => undefined);
  if (!head && range === undefined && isSmallObject(o)) {
    // Small objects: read while the key is unsealed, verified whole in memory, then
    // headers and body in one write.
    sendPieces(c.res, status, headers, await readSmallPlaintext(c.deps, o, unsealing));
    return;
  }
  const objectKey = await unsealing;
  if (head) {
    objectKey.dispose();
    c.res.writeHead(status, headers);
    c.res.end();
    return;
  }
  if (readsInBatches(o)) {
    await sendBatches(c.res, status, headers, plaintextBatches(c.deps, o, objectKey, range));
    return;
  }
  await streamOut(c.res, status, headers, await readPlaintext(c.deps, o, objectKey, range));
}

/**
 * The request's object, one lookup when it exists (its row implies its bucket), with its
 * inline body or without; raises NoSuchBucketError when the bucket is missing, else
 * NoSuchKeyError — as looking the bucket up first would.
 */
export async function getExisting(c: S3Call, withBody: boolean): Promise<ObjectRecord> {
  try {
    return await (withBody ? c.deps.store.getObject(c.bucket, c.key) : c.deps.store.getObjectHead(c.bucket, c.key));
  } catch (err) {
    if (err instanceof NoSuchKeyError) await c.deps.store.getBucket(c.bucket);
    throw err;
  }
}

/** Sends verified plaintext pieces as one response; corked, so they leave in one write. */
function sendPieces(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, pieces: readonly Buffer[]): void {
  res.writeHead(status, headers);
  if (pieces.length <= 1) {
    res.end(pieces[0]);
    return;
  }
  res.cork();
  for (const p of pieces) res.write(p);
  res.uncork();
  res.end();
}

/**
 * Sends verified plaintext batches (plaintextBatches). The status line goes out only with
 * the first batch (or at a clean end), so a failure before that becomes a proper S3 error;
 * a failure after it propagates and the connection is cut — the client never receives
 * unauthenticated bytes. Each batch is written in one tick (one vectored socket write);
 * backpressure is one wait per batch, and a client that goes away (while a drain is awaited
 * or between two batches) ends the iteration.
 */
async function sendBatches(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, batches: AsyncGenerator<Buffer[]>): Promise<void> {
  try {
    for await (const batch of batches) {
      if (!res.headersSent) res.writeHead(status, headers);
      for (const piece of batch) res.write(piece);
      // A client gone between two batches (no drain awaited: it had read all) ends the send
      // too: a destroyed response never needs a drain, and the rest would be read and opened
      // for nobody.
      if (res.destroyed || (res.writableNeedDrain && !(await drained(res)))) return;
    }
    if (!res.headersSent) res.writeHead(status, headers);
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      res.end(resolve);
    });
  } finally {
    await batches.return(undefined);
  }
}

/** Resolves true once `res` drained, false if it closed first. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * Sends a decrypting stream. The status line goes out only with the first verified bytes
 * (or at a clean end), so a failure before that becomes a proper S3 error; a failure after
 * it aborts the connection — the client never receives unauthenticated bytes either way.
 * A client that goes away ends it.
 */
function streamOut(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = (): void => {
      if (!res.headersSent) res.writeHead(status, headers);
    };
    // The decryptor emits every verified segment of a read in the same tick. All of them are
    // written in that tick (node:http corks the socket until the next one, so they leave in
    // one vectored write instead of one syscall each) and backpressure is checked once per
    // tick: at most one read's worth is buffered beyond the high-water mark.
    let checking = false;
    stream.on('data', (chunk: Buffer) => {
      start();
      res.write(chunk);
      if (checking) return;
      checking = true;
      process.nextTick(() => {
        checking = false;
        if (!res.writableNeedDrain) return;
        stream.pause();
        res.once('drain', () => stream.resume());
      });
    });
    stream.on('end', () => {
      start();
      res.end(() => resolve());
    });
    stream.on('error', reject);
    // A client gone mid-body ends the send, as in sendBatches: a destroyed stream emits no
    // 'end' or 'error', and waiting for one would leave the request (and its audit record, if
    // no status line went out yet) pending forever.
    res.on('close', () => {
      if (res.writableFinished) return;
      stream.destroy();
      resolve();
    });
  });
}

/**
 * DeleteObject (idempotent: 204 whether or not the key existed; with If-Match, 412 on another
 * ETag and 404 for no object). https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
 */
export async function deleteObjectRoute(c: S3Call): Promise<void> {
  await c.deps.store.getBucket(c.bucket);
  const storageId = await c.deps.store.deleteObject(c.bucket, c.key, writeConditionOf(c.req.headers));
  if (storageId !== undefined) await c.deps.backend.delete(storageId);
  c.send(204);
}

/** The bucket and key of an x-amz-copy-source header (CopyObject, UploadPartCopy). Raises InvalidArgumentError. */
export function parseCopySource(value: string): { bucket: string; key: string } {
  const noVersion = value.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(noVersion);
  } catch {
    throw new InvalidArgumentError('Invalid copy source encoding');
  }
  const path = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw new InvalidArgumentError('Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

/** CopyObject (PUT with x-amz-copy-source). https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html */
export async function copyObjectRoute(c: S3Call): Promise<void> {
  const h = c.req.headers;
  const source = parseCopySource(String(h['x-amz-copy-source']));
  const directive = (h['x-amz-metadata-directive'] as string | undefined) ?? 'COPY';
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new InvalidArgumentError('Unknown metadata directive.');
  const tags = parseTaggingDirective(h) === 'REPLACE' ? (parseTaggingHeader(h) ?? {}) : undefined;
  const content = parseContentHeaders(h);
  const sse = parseSseRequest(h);
  let sourceCustomer: CustomerKey | undefined;
  await withSse(c, sse, async () => {
    try {
      sourceCustomer = parseCustomerKey(h, COPY_SSE_C);
      if (sourceCustomer !== undefined) requireSecureForSseC(c.secure);
      const bucket = await c.deps.store.getBucket(c.bucket);
      const { target } = await copyObject(c.deps, {
        source,
        ...(sourceCustomer !== undefined ? { sourceCustomer } : {}),
        conditions: parseConditions(h, 'x-amz-copy-source-'),
        bucket: c.bucket,
        key: c.key,
        mode: modeForWrite(c.deps, sse, bucket),
        encryptionGiven: sse.kind !== 'none',
        storageClassGiven: h['x-amz-storage-class'] !== undefined,
        ...(tags !== undefined ? { tags } : {}),
        // What the handler's authorization point asks for a tagged source, asked again on the row copied.
        authorizeCopiedTags: async () => {
          await c.authorize(copySourceNamesVersion(c.req) ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging', source);
          await c.authorize('s3:PutObjectTagging', { bucket: c.bucket, key: c.key });
        },
        ...(directive === 'REPLACE' ? { replace: { content, userMetadata: parseUserMetadata(h) } } : {}),
        ...(directive === 'COPY' && content.websiteRedirectLocation !== undefined ? { websiteRedirectLocation: content.websiteRedirectLocation } : {}),
        ...withCondition(c),
      });
      noteWriteSse(c, target.sealedKey, false);
      const md5 = sse.kind === 'SSE-C' ? sse.customer.keyMd5 : undefined;
      c.send(200, { ...sseResponseHeaders(target.sealedKey, md5), ...kmsContextHeader(target.sealedKey) }, copyObjectXml(target.etag, target.lastModified));
    } finally {
      sourceCustomer?.key.dispose();
    }
  });
}
