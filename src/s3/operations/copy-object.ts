import { InvalidRequestError } from '../errors.js';
import type { ContentHeaders, ObjectRecord } from '../metadata-store.js';
import type { S3Deps } from '../s3-deps.js';
import type { SseMode } from '../sse/sealing.js';
import type { WriteCondition } from '../write-condition.js';
import type { CustomerKey } from '../wire/headers/sse.js';
import { checkCopySourceConditions, readCurrent, readPlaintext, unsealObjectKey, type Conditions } from './read-object.js';
import { precheckWriteCondition, writeObject } from './write-object.js';

/** CopyObject in domain terms. */
export interface CopyRequest {
  readonly source: { readonly bucket: string; readonly key: string };
  readonly sourceCustomer?: CustomerKey;
  readonly conditions: Conditions;
  readonly bucket: string;
  readonly key: string;
  /** The destination's mode (request headers, else the bucket default, else SSE-S3). */
  readonly mode: SseMode;
  /** true when the request changed encryption explicitly (a self-copy then is allowed). */
  readonly encryptionGiven: boolean;
  /**
   * true when the request named a storage class (x-amz-storage-class): a self-copy then is
   * allowed, as S3 allows it (it is how a stored object's class is changed), though every
   * object here is kept alike.
   */
  readonly storageClassGiven?: boolean;
  /**
   * COPY: the request's x-amz-website-redirect-location, S3 never copying the source's (REPLACE
   * carries it in `replace.content`).
   */
  readonly websiteRedirectLocation?: string;
  /** REPLACE: the request's metadata; COPY (undefined): the source's. */
  readonly replace?: { readonly content: ContentHeaders; readonly userMetadata: Readonly<Record<string, string>> };
  /** x-amz-tagging-directive REPLACE: the request's tags; undefined (COPY): the source's. */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * COPY of the source's tags: called with the source row the copy will write from, when that
   * row has tags, before its body is opened; raises (AccessDeniedError) to refuse. So the
   * permissions S3 asks to copy tags (s3:GetObjectTagging on the source, s3:PutObjectTagging on
   * the target) are decided on the very tags copied, not on a row read earlier that tags added
   * since would not be in.
   */
  readonly authorizeCopiedTags?: () => Promise<void>;
  /** If-Match / If-None-Match on the destination (as writeObject checks them). */
  readonly condition?: WriteCondition;
}

/**
 * Copies an object through its plaintext: opens the source with its own mode (and its
 * SSE-C key), re-encrypts under a fresh object key with the destination's mode, so the
 * encryption can change on the way. Raises NoSuchBucketError, NoSuchKeyError,
 * PreconditionFailedError (copy-source or destination conditions, as 412), InvalidRequestError for a
 * self-copy that changes nothing, and the modes' errors.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
 */
export async function copyObject(deps: S3Deps, req: CopyRequest): Promise<{ source: ObjectRecord; target: ObjectRecord }> {
  await deps.store.getBucket(req.source.bucket);
  // A copy bound to fail its destination condition is refused before the source is opened.
  if (req.condition !== undefined) await precheckWriteCondition(deps, req.bucket, req.key, req.condition);
  // The source body is opened before anything is written; if an overwrite or delete of the
  // source removed it since its row was read, the source's current state is copied instead.
  const { source, body } = await readCurrent(
    () => copySource(deps, req),
    async (s) => ({ source: s, body: await readPlaintext(deps, s, await unsealObjectKey(deps, s, req.sourceCustomer)) }),
  );
  // The source already flows into its decryptor while writeObject waits (a KMS seal, the body
  // file) before reading it: a source failing then (a read error, a tampered segment) would
  // emit 'error' with no listener, an uncaught exception. This listener only keeps it from
  // being uncaught: the stream stays errored, and writeObject's read of it raises the error.
  body.on('error', keepForReader);
  let target: ObjectRecord;
  try {
    target = await writeObject(deps, {
      bucket: req.bucket,
      key: req.key,
      body,
      declaredSize: source.size,
      verify: () => {},
      mode: req.mode,
      content: req.replace?.content ?? copiedContent(source.content, req.websiteRedirectLocation),
      userMetadata: req.replace?.userMetadata ?? source.userMetadata,
      checksums: () => ({}),
      ...((req.tags ?? source.tags) !== undefined ? { tags: req.tags ?? source.tags } : {}),
      ...(req.condition !== undefined ? { condition: req.condition } : {}),
    });
  } catch (err) {
    body.destroy(); // closes the opened source body
    throw err;
  }
  return { source, target };
}

/** A COPY-directive copy's headers: the source's, its website redirect replaced by the request's (or dropped), as S3. */
function copiedContent(source: ContentHeaders, websiteRedirectLocation: string | undefined): ContentHeaders {
  const { websiteRedirectLocation: _notCopied, ...rest } = source;
  return websiteRedirectLocation !== undefined ? { ...rest, websiteRedirectLocation } : rest;
}

/** No-op 'error' listener: the error stays on the stream (`errored`) for its reader to raise. */
export function keepForReader(): void {}

/** The copy's source row, its copy-source conditions checked (as 412 naming the failed header), and no illegal self-copy. */
async function copySource(deps: S3Deps, req: CopyRequest): Promise<ObjectRecord> {
  const source = await deps.store.getObject(req.source.bucket, req.source.key);
  checkCopySourceConditions(source, req.conditions);
  const changes = req.replace !== undefined || req.encryptionGiven || req.storageClassGiven === true || req.websiteRedirectLocation !== undefined;
  if (req.source.bucket === req.bucket && req.source.key === req.key && !changes) {
    throw new InvalidRequestError(
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  if (req.tags === undefined && source.tags !== undefined && Object.keys(source.tags).length > 0) await req.authorizeCopiedTags?.();
  return source;
}
