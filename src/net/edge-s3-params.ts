import { isTermParameterName } from '../audit/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeEvent, S3EdgeOutcome, S3EdgeRequest } from './edge-router.js';

/**
 * The S3 handler's outcome as an edge event, in CloudTrail's S3 shape: requestParameters
 * hold `Host`, `bucketName` and `key` (when addressed) and the query's parameters (the
 * sub-resource as an empty string, listing and multipart parameters), never the signature
 * ones nor a forged address or lookup term (see isRecordedQueryParameter), never any
 * request header (so never an SSE-C key or its MD5), never the body; responseElements hold
 * the SSE response headers of a successful write (see s3ResponseElements), for every other
 * request none (the record's null); additionalEventData holds the transfer facts (see
 * s3AdditionalEventData). Built by assignment: on
 * Node 20 an object literal that adds keys after a spread takes V8's slow path (about
 * 3 µs here against 0.2), once or twice per S3 request.
 */
export function s3Event(outcome: S3EdgeOutcome, request: S3EdgeRequest): EdgeEvent {
  const requestId = request.requestId;
  const time = request.time;
  const event: { -readonly [K in keyof EdgeEvent]?: EdgeEvent[K] } = { requestId, time, service: 's3', operation: outcome.operation, readOnly: outcome.readOnly, status: outcome.status };
  if (outcome.call !== undefined) event.call = outcome.call;
  if (outcome.keyIdentifier !== undefined) event.keyIdentifier = outcome.keyIdentifier;
  if (outcome.userAgent !== undefined) event.userAgent = outcome.userAgent;
  if (outcome.host !== undefined) event.host = outcome.host;
  if (outcome.errorCode !== undefined) event.errorCode = outcome.errorCode;
  if (outcome.errorMessage !== undefined) event.errorMessage = outcome.errorMessage;
  if (outcome.responseElements !== undefined) event.responseElements = outcome.responseElements;
  else if (outcome.sse !== undefined && outcome.errorCode === undefined) event.responseElements = cachedResponseElements(outcome.sse, outcome.keyIdentifier);
  if (outcome.resources !== undefined) event.resources = outcome.resources;
  if (outcome.bucket !== undefined) event.bucket = outcome.bucket;
  if (outcome.key !== undefined) event.objectKey = outcome.key;
  event.requestParameters = s3RequestParameters(outcome);
  event.additionalEventData = s3AdditionalEventData(request);
  return event as EdgeEvent;
}

/**
 * CloudTrail's S3 additionalEventData, with S3's field names: for a signed request
 * `SignatureVersion` SigV4 and `AuthenticationMethod` (AuthHeader, or QueryString for a
 * presigned URL); over TLS the negotiated `CipherSuite` (OpenSSL's name, as node reports
 * it); `bytesTransferredIn` and `bytesTransferredOut`, the request's and the response's body
 * bytes; `x-amz-id-2`, the header every S3 answer of ours carries (the request id). Never a
 * credential nor a body. Read from facts already at hand (the parsed signature, the channel,
 * the declared lengths): no parsing. Keys in canonical (sorted) order, for the encoder.
 */
function s3AdditionalEventData(request: S3EdgeRequest): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const sig = request.signature;
  if (sig !== undefined) data['AuthenticationMethod'] = sig.presigned ? 'QueryString' : 'AuthHeader';
  if (request.cipherSuite !== undefined) data['CipherSuite'] = request.cipherSuite;
  if (sig !== undefined) data['SignatureVersion'] = 'SigV4';
  data['bytesTransferredIn'] = requestBodyBytes(request.req);
  data['bytesTransferredOut'] = responseBodyBytes(request.res);
  data['x-amz-id-2'] = request.requestId;
  return data;
}

/**
 * The request body's length as the client sent it: its Content-Length (for aws-chunked
 * uploads the encoded length, what crossed the wire). Without one, a chunked transfer's
 * x-amz-decoded-content-length (what the SDKs send for a streamed PutObject or UploadPart:
 * Transfer-Encoding chunked, no Content-Length), the body's bytes as declared and checked
 * (openPayload refuses any other count); 0 when neither states a length (no body).
 */
function requestBodyBytes(req: IncomingMessage): number {
  const length = req.headers['content-length'] ?? req.headers['x-amz-decoded-content-length'];
  if (length === undefined) return 0;
  const n = Number(length);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/**
 * The response body's length as sent: 0 for a response without a body (HEAD, 204, 304, or
 * no status line yet), else its Content-Length. The record is committed as the status line
 * is written, before the body goes out, so the declared length is what is known. node:http
 * keeps the header it wrote as `_contentLength` (set while writing the head, whether the
 * headers came through setHeader or writeHead), which spares reparsing the header block;
 * getHeader is the fallback for a response whose head is not written yet.
 */
function responseBodyBytes(res: ServerResponse): number {
  const out = res as ServerResponse & { readonly _hasBody?: boolean; readonly _contentLength?: number | null };
  if (out._hasBody === false) return 0;
  const written = out._contentLength;
  if (typeof written === 'number' && Number.isSafeInteger(written) && written >= 0) return written;
  const declared = Number(res.getHeader('content-length'));
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : 0;
}

// responseElements per SSE mode, bucket-key flag and key ARN, frozen: writes repeat a few
// (the audit encoder writes a frozen part once, not once per record). Bounded: cleared when
// full; an ARN longer than a KMS key ARN can be is built but not kept.
const responseElementsCache = new Map<string, Readonly<Record<string, unknown>>>();
const MAX_CACHED_RESPONSE_ELEMENTS = 1024;
const MAX_CACHED_KEY_ARN_LENGTH = 256;

function cachedResponseElements(sse: NonNullable<S3EdgeOutcome['sse']>, keyArn: string | undefined): Readonly<Record<string, unknown>> {
  if (keyArn !== undefined && keyArn.length > MAX_CACHED_KEY_ARN_LENGTH) return s3ResponseElements(sse, keyArn);
  const id = `${sse.mode}|${sse.bucketKey ? 1 : 0}|${keyArn ?? ''}`;
  let elements = responseElementsCache.get(id);
  if (elements === undefined) {
    elements = Object.freeze(s3ResponseElements(sse, keyArn));
    if (responseElementsCache.size >= MAX_CACHED_RESPONSE_ELEMENTS) responseElementsCache.clear();
    responseElementsCache.set(id, elements);
  }
  return elements;
}

/**
 * CloudTrail's S3 responseElements for a write: the SSE headers its answer carried, as S3
 * names them (`x-amz-server-side-encryption` AES256, aws:kms or aws:kms:dsse, the KMS key's
 * ARN, the bucket-key flag; for SSE-C the customer algorithm). Never the SSE-C key nor its
 * MD5: the record states that SSE-C was used, not anything derived from the key. Keys are
 * assigned in canonical (sorted) order: the audit encoder then skips sorting them.
 */
function s3ResponseElements(sse: NonNullable<S3EdgeOutcome['sse']>, keyArn: string | undefined): Record<string, unknown> {
  const elements: Record<string, unknown> = {};
  switch (sse.mode) {
    case 'SSE-S3':
      elements['x-amz-server-side-encryption'] = 'AES256';
      return elements;
    case 'SSE-C':
      elements['x-amz-server-side-encryption-customer-algorithm'] = 'AES256';
      return elements;
    case 'SSE-KMS':
    case 'DSSE-KMS':
      elements['x-amz-server-side-encryption'] = sse.mode === 'SSE-KMS' ? 'aws:kms' : 'aws:kms:dsse';
      if (keyArn !== undefined) elements['x-amz-server-side-encryption-aws-kms-key-id'] = keyArn;
      if (sse.bucketKey) elements['x-amz-server-side-encryption-bucket-key-enabled'] = 'true';
      return elements;
    default: {
      const never: never = sse.mode;
      return never;
    }
  }
}

/**
 * CloudTrail's S3 requestParameters (see s3Event); the first three keys are assigned in
 * canonical order. A request document the handler noted (validated, so bounded and never
 * secret: PutBucketTagging's `Tagging`) goes beside the query's parameters, as S3 records it.
 */
function s3RequestParameters(outcome: S3EdgeOutcome): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  // S3 always records Host (the header as sent); a request without one records an empty one.
  params['Host'] = outcome.host ?? '';
  if (outcome.bucket !== undefined) params['bucketName'] = outcome.bucket;
  if (outcome.key !== undefined) params['key'] = outcome.key;
  const query = outcome.query;
  if (query !== undefined && query.size > 0) {
    for (const [name, value] of query) {
      if (isRecordedQueryParameter(name)) params[name] = value;
    }
  }
  const document = outcome.requestDocument;
  if (document !== undefined) {
    // The document's elements are capitalised (`Tagging`): they never replace the address or a query parameter.
    for (const [name, value] of Object.entries(document)) if (!(name in params)) params[name] = value;
  }
  return params;
}

/**
 * Whether a query parameter enters the record: not a signature one, not one of the
 * record's own fields (Host, bucketName, key: the address the handler resolved), and none
 * the audit index reads as a key or bucket (bucketName, KeyId and their spellings): S3
 * takes no such parameter, and with it any caller could file its record under a bucket or
 * key it never addressed.
 */
function isRecordedQueryParameter(name: string): boolean {
  return !isSignatureParameter(name) && name !== 'Host' && name !== 'key' && !isTermParameterName(name);
}

/**
 * Query parameters that authenticate a presigned request (SigV4's X-Amz-*, the session
 * token among them; SigV2's) or only name the SDK's operation (`x-id`): not request
 * parameters, and the token is a credential. Compared without a regex: this runs per parameter.
 */
function isSignatureParameter(name: string): boolean {
  switch (name.charCodeAt(0)) {
    case 0x58: // 'X'
    case 0x78: // 'x'
      return name.length === 4 ? name.toLowerCase() === 'x-id' : name.length > 6 && name.slice(0, 6).toLowerCase() === 'x-amz-';
    case 0x41: // 'A'
      return name === 'AWSAccessKeyId';
    case 0x53: // 'S'
      return name === 'Signature';
    case 0x45: // 'E'
      return name === 'Expires';
    default:
      return false;
  }
}
