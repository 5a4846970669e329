import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { BodyIncompleteError, BodyTooLargeError, readBody } from '../../net/http-body.js';
import { AuthenticationError, queryPairs, type CredentialLookup, type ParsedSignature, type SignedRequestView, type VerifiedRequest } from '../../iam/index.js';
import { AccessDeniedError, EntityTooLargeError, IncompleteBodyError, InvalidRequestError, MethodNotAllowedError, NoSuchBucketError, NoSuchKeyError, NotImplementedError, NotModifiedError } from '../errors.js';
import type { CallContext } from '../../kms/index.js';
import type { S3Deps } from '../s3-deps.js';
import type { DataKeyProvider } from '../sse/data-key-provider.js';
import { anonymousRequest, anonymousVerified, copySourceNamesVersion, copySourceOf, s3RequestFacts, type S3Authorizer } from './authorize.js';
import { resolveAddress } from './address.js';
import { hoistPresignedHeaders } from './hoisted-headers.js';
import { httpDateNow } from './headers/http-date.js';
import { makeCall, type S3Call, type S3SseNote } from './call.js';
import { addActualCorsHeaders, answerPreflight, CorsConfigCache, PREFLIGHT_OPERATION } from './cors.js';
import { toS3WireError } from './error-codes.js';
import { bufferSource } from './payload.js';
import { refuseUnservable } from './request-guards.js';
import { openPostUpload, type PostUpload } from './post-object/post-upload.js';
import { findRoute, subResourceOf, type Level, type S3Route } from './routes.js';
import { HEADERS_NOT_SIGNED, unsignedAmzHeaders, withHeadersNotSigned } from './unsigned-headers.js';
import { errorXml } from './xml.js';

/**
 * A request as the edge hands it over (structurally the edge's S3EdgeRequest). Its connection
 * facts (source address, TLS, private endpoint and its policy) are declared by CallContext:
 * the handler passes them on to the caller's context, where secureTransport also counts a
 * trusted proxy's HTTPS header.
 */
export interface S3HttpRequest extends Pick<CallContext, 'sourceIp' | 'secureTransport' | 'tlsVersion' | 'cipherSuite' | 'vpcEndpointId' | 'endpointPolicy'> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly view: SignedRequestView;
  readonly signature: ParsedSignature | undefined;
  readonly requestId: string;
  readonly time: Date;
  authenticate(bodySha256?: string): VerifiedRequest;
  /**
   * Commits the request's audit record; rejects when it could not be committed. When given,
   * the handler calls it once, as the response's status line is decided, and holds every
   * byte of the response until it resolves: no S3 answer reaches the client before its
   * record is durable. When it rejects, the connection is cut instead of answering.
   */
  record?(outcome: S3Outcome): Promise<void>;
}

/** What the handler needs to decide access: IAM's decision and KMS acting as the caller. */
export interface S3AccessDeps {
  readonly authorizer: S3Authorizer;
  /** The DataKeyProvider SSE-KMS uses for this caller: authorized as the caller with kms:ViaService, audited. */
  kmsForCaller(call: CallContext): DataKeyProvider;
  /** The access keys a POST Object form may be signed with (the edge's); without it every signed form is InvalidAccessKeyId. */
  readonly credentials?: CredentialLookup;
}

/** What the handler reports for the audit trail. */
export interface S3Outcome {
  readonly operation: string;
  readonly readOnly: boolean;
  readonly status: number;
  readonly keyIdentifier?: string;
  /** The authenticated caller (anonymous included), when authentication succeeded. */
  readonly call?: CallContext;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly userAgent?: string;
  readonly host?: string;
  /** The bucket and object key the request addressed (path or virtual host), for its record's resources. */
  readonly bucket?: string;
  readonly key?: string;
  /** The request's query parameters as parsed (sub-resource, listing and multipart ones), for its record's requestParameters. */
  readonly query?: ReadonlyMap<string, string>;
  /** A write's SSE as its answer's headers state it (with keyIdentifier for the KMS key), for its record's responseElements; reads never set it. */
  readonly sse?: S3SseNote;
  /** The validated request document CloudTrail records among requestParameters (PutBucketTagging's Tagging), when the route noted one. */
  readonly requestDocument?: Readonly<Record<string, unknown>>;
}

export interface S3HandlerSettings {
  /** Host suffixes that make a request virtual-hosted style (`bucket.<domain>`). */
  readonly baseDomains: readonly string[];
  /** A header a trusted TLS-terminating proxy sets to `https` for HTTPS clients; undefined trusts none. */
  readonly trustedProxyHttpsHeader?: string;
}

/** Writes and deletes whose If-Match S3 authorizes as a read too (s3:GetObject on the target). */
const IF_MATCH_READS = new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload', 'DeleteObject']);

/** Bodies without x-amz-content-sha256 are read whole to hash them; S3 clients always send it for large ones. */
const MAX_UNDECLARED_BODY = 16 * 1024 * 1024;

const NONE: readonly string[] = [];

/**
 * The S3 REST endpoint: resolves bucket and key, picks the route (method × sub-resource),
 * authenticates (SigV4 header or presigned; unsigned requests run as the anonymous
 * principal), authorizes (identity ∧ bucket ∧ endpoint policy; denials answer AccessDenied
 * and the reason goes to the log), runs it and answers every failure in S3's XML error shape. Never throws; never leaks internal detail
 * to the client (the log keeps it).
 */
export class S3Handler {
  /** The parsed CORS configurations of the buckets that requests with an Origin header named. */
  readonly #cors: CorsConfigCache;

  constructor(
    private readonly deps: S3Deps,
    private readonly settings: S3HandlerSettings,
    private readonly log: Logger,
    private readonly access: S3AccessDeps,
  ) {
    this.#cors = new CorsConfigCache(deps.store);
  }

  async handle(r: S3HttpRequest): Promise<S3Outcome> {
    const query = new Map(queryPairs(r.view.rawQuery));
    // A presigned request's x-amz-* query parameters stand for the headers the presigner hoisted
    // into the (signed) query: every reader of req.headers below (routing, guards, condition
    // facts, the routes) sees them. The signature itself is checked on view, not on req.headers.
    // Every signed request (header or presigned) must sign each x-amz-* header it carries, as
    // S3 requires; read before hoisting adds the query's copies, refused once the signature is
    // verified. Anonymous requests sign nothing, so nothing is unsigned (S3 takes x-amz-acl and
    // the like from them); SigV2 is refused before this matters.
    const unsigned = r.signature !== undefined ? unsignedAmzHeaders(r.req.headers, r.signature.signedHeaders) : NONE;
    if (r.signature?.presigned === true) hoistPresignedHeaders(r.req.headers, query);
    const address = resolveAddress(r.view.rawPath, r.req.headers.host, this.settings.baseDomains);
    const level: Level = address.bucket === undefined ? 'service' : address.key === undefined ? 'bucket' : 'object';
    const method = r.req.method ?? 'GET';
    const found = findRoute(level, method, subResourceOf(query), r.req.headers['x-amz-copy-source'] !== undefined);
    const route: S3Route | undefined = typeof found === 'object' ? found : undefined;
    const notes: OutcomeNotes = {};
    const preflight = method === 'OPTIONS';
    const base: OutcomeBase = preflight
      ? { operation: PREFLIGHT_OPERATION, readOnly: true }
      : { operation: route?.operation ?? `${method} ${level}`, readOnly: route?.readOnly ?? method === 'GET' };
    if (r.req.headers['user-agent'] !== undefined) base.userAgent = r.req.headers['user-agent'];
    if (r.req.headers.host !== undefined) base.host = r.req.headers.host;
    if (address.bucket !== undefined) base.bucket = address.bucket;
    if (address.key !== undefined) base.key = address.key;
    base.query = query;
    const recorded = this.#holdUntilRecorded(r, () => outcomeOf(base, notes, r.res.statusCode));
    // The refusal of unsigned headers, once raised: its answer names them (<HeadersNotSigned>).
    let refusal: AccessDeniedError | undefined;
    try {
      if (preflight) return await this.#preflight(r, { bucket: address.bucket, objectLevel: level === 'object' }, base, notes, recorded);
      // The one CORS cost of a request without an Origin header: this header lookup.
      const origin = r.req.headers.origin;
      if (origin !== undefined && address.bucket !== undefined) await this.#corsHeaders(r.res, origin, method, address.bucket, r.requestId);
      const { verified, source } = await this.#authenticate(r, query);
      // Known before any refusal below: the signature verified, so each denied record names the caller.
      let caller = this.#caller(r, verified);
      notes.call = caller;
      if (unsigned.length > 0) {
        refusal = new AccessDeniedError(HEADERS_NOT_SIGNED);
        throw refusal;
      }
      if (found === 'NotImplemented') throw new NotImplementedError('');
      if (route === undefined) throw new MethodNotAllowedError('');
      // POST Object: its form authenticates it (the signed policy), names the key and carries the body.
      const post = route.operation === 'PostObject' ? await this.#postForm(r, address.bucket ?? '', verified, base) : undefined;
      if (post !== undefined) {
        notes.call = caller = this.#caller(r, post.verified);
      }
      refuseUnservable(post !== undefined ? { operation: 'PutObject', objectLevel: true, key: post.key, query, headers: post.headers, accountId: this.deps.accountId } : { operation: route.operation, objectLevel: level === 'object', key: address.key ?? '', query, headers: r.req.headers, accountId: this.deps.accountId });
      const target = { bucket: address.bucket ?? '', key: post?.key ?? address.key ?? '' };
      // Object.assign, not `{ ...this.deps, callerKms }`: V8 (Node 20) takes a slow path for a
      // literal that adds properties after a leading spread (≈ 0.8 µs here, 0.15 µs this way).
      const deps: S3Deps = Object.assign({}, this.deps, { callerKms: this.access.kmsForCaller(caller) });
      const call = makeCall(
        { deps, req: r.req, res: r.res, requestId: r.requestId, bucket: target.bucket, key: target.key, query, secure: this.#secure(r), owner: this.#owner(), caller },
        { authorizer: this.access.authorizer, facts: post?.facts ?? s3RequestFacts(r.req, query, r.signature) },
        post?.verified ?? verified,
        post?.file ?? source,
        notes,
      );
      await this.#authorize(route, r, target, call, post, query);
      await route.handle(call);
      await recorded.done;
      return outcomeOf(base, notes, r.res.statusCode);
    } catch (err) {
      // A body refused mid-stream (bad chunk signature, too large) is left unread and paused;
      // drain it so the client gets the error instead of a stalled upload.
      if (!r.req.complete) r.req.resume();
      const wire = toS3WireError(err);
      // Known before the error's status line is written, so its held record names the error.
      notes.errorCode = wire.code;
      notes.errorMessage = wire.message;
      this.#fail(r, err, wire, address.bucket, address.key, err === refusal ? unsigned : NONE);
      await recorded.done;
      return outcomeOf(base, notes, wire.status);
    }
  }

  /**
   * A CORS preflight, answered without authentication (see answerPreflight); its record names
   * the anonymous caller and where it came from, even when the request carries an Authorization
   * header or a presigned query (never verified here, so never a principal, and never a way to
   * leave the record without its source). Raises what answerPreflight raises.
   */
  async #preflight(r: S3HttpRequest, target: { readonly bucket: string | undefined; readonly objectLevel: boolean }, base: OutcomeBase, notes: OutcomeNotes, recorded: { readonly done: Promise<void> }): Promise<S3Outcome> {
    notes.call = this.#caller(r, anonymousVerified());
    const common = { 'x-amz-request-id': r.requestId, 'x-amz-id-2': r.requestId, date: httpDateNow(this.deps.clock.now()), server: 'Cipherlake' };
    await answerPreflight(r.req, r.res, target, this.#cors, common);
    await recorded.done;
    return outcomeOf(base, notes, r.res.statusCode);
  }

  /** The CORS headers of an actual request with an Origin (see addActualCorsHeaders); a store failure is logged, not answered. */
  #corsHeaders(res: ServerResponse, origin: string, method: string, bucket: string, requestId: string): Promise<void> {
    return addActualCorsHeaders(res, origin, method, bucket, this.#cors, (err) => this.log.warn({ err, requestId }, 'CORS configuration lookup failed'));
  }

  /**
   * Without `r.record`, nothing. With it: the moment the response's status line is decided
   * (its writeHead, explicit or implied by a first write/end), the record built by `outcome`
   * starts committing, and every write and end after that is queued until the commit is
   * durable, then replayed in order. Nothing of the answer reaches the socket before its
   * record is durable (corking the socket is not enough: node:http fully uncorks on end()).
   * The hold lasts one group commit; while writes are queued they report backpressure (write
   * returns false, writableNeedDrain is true) and 'drain' follows their replay, so a streamed
   * GET buffers about one read during the hold, not what it could decrypt until the commit
   * (which may wait up to the busy timeout under --workers). A failed commit (already logged
   * by the auditor) drops the queue, fails its callbacks and destroys the connection: the
   * client never receives an answer for an unrecorded request. `done` resolves once the
   * record settled (at once when no status line was written); it never rejects.
   */
  #holdUntilRecorded(r: S3HttpRequest, outcome: () => S3Outcome): { readonly done: Promise<void> } {
    const record = r.record;
    if (record === undefined) return NOT_HELD;
    return new AnswerHold(r.res, () => record(outcome()));
  }

  /**
   * The authorization point: the route's IAM action on the request's resource, in its Version
   * form when the request names a version (`versionId`, "null" the only one served here: S3
   * asks s3:GetObjectVersion, s3:DeleteObjectVersion... then). DeleteObjects is decided per key
   * by its route (s3:DeleteObject on each); a copy also needs s3:GetObject (or
   * s3:GetObjectVersion) on its source; an If-Match write or delete also needs s3:GetObject on
   * its target, as in S3 (its answer tells the current ETag); a write that sets tags
   * (x-amz-tagging, a POST form's `tagging`, a copy's REPLACE tags) also needs
   * s3:PutObjectTagging; a COPY-directive copy of a tagged source also needs
   * s3:GetObjectTagging (or its Version form) on the source and s3:PutObjectTagging on the
   * target. Raises AccessDeniedError.
   */
  async #authorize(route: S3Route, r: S3HttpRequest, target: { bucket: string; key: string }, call: S3Call, post: PostUpload | undefined, query: ReadonlyMap<string, string>): Promise<void> {
    if (route.operation === 'DeleteObjects') return;
    await call.authorize(query.has('versionId') ? (VERSION_ACTIONS.get(route.action) ?? route.action) : route.action, target);
    if (r.req.headers['if-match'] !== undefined && IF_MATCH_READS.has(route.operation)) await call.authorize('s3:GetObject', target);
    if (route.operation === 'CopyObject' || route.operation === 'UploadPartCopy') {
      const source = copySourceOf(r.req);
      const versioned = copySourceNamesVersion(r.req);
      if (source !== undefined) await call.authorize(versioned ? 's3:GetObjectVersion' : 's3:GetObject', source);
      // A COPY-directive copy carries the source's tags: S3 then asks s3:GetObjectTagging on the
      // source and s3:PutObjectTagging on the destination (the CopyObject permissions; looked up
      // only once the source may be read, so its tags tell nothing to a caller who may not).
      // Asked here to refuse early, and again by the copy on the row it copies
      // (copyObjectRoute's authorizeCopiedTags): tags added in between are decided too.
      if (source !== undefined && route.operation === 'CopyObject' && copiesSourceTags(r.req.headers) && (await hasTags(call, source))) {
        await call.authorize(versioned ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging', source);
        await call.authorize('s3:PutObjectTagging', target);
      }
    }
    if (setsTags(route.operation, r.req.headers, post)) await call.authorize('s3:PutObjectTagging', target);
  }

  /**
   * The form of a POST Object, read and authenticated (see openPostUpload), its key noted in
   * `base` for the record. Its form is its only authentication: one that also carries an
   * Authorization header or presigned query (which would sign the body as a whole, not the
   * file) is InvalidRequest, refused before the form is read. Raises what openPostUpload raises.
   */
  #postForm(r: S3HttpRequest, bucket: string, anonymous: VerifiedRequest, base: OutcomeBase): Promise<PostUpload> {
    if (r.signature !== undefined) throw new InvalidRequestError('POST Object requests are authenticated by their form fields (a signed POST policy), not by an Authorization header or query string.');
    const credentials = this.access.credentials;
    // An unsigned form's file is an unsigned payload: a hash the request declares (x-amz-content-sha256) is of the whole body, never of the file.
    const unsigned = anonymous.payloadHash === 'UNSIGNED-PAYLOAD' ? anonymous : anonymousVerified();
    return openPostUpload(r.req, { bucket, region: this.deps.region, now: r.time, credentials, anonymous: unsigned, noteKey: (key) => (base.key = key) });
  }

  #caller(r: S3HttpRequest, verified: VerifiedRequest): CallContext {
    const secure = this.#secure(r);
    return {
      principal: verified.credential.principal,
      ...(verified.credential.accessKeyId !== '' ? { accessKeyId: verified.credential.accessKeyId } : {}),
      sourceIp: r.sourceIp,
      secureTransport: secure,
      ...(secure && r.tlsVersion !== undefined ? { tlsVersion: r.tlsVersion } : {}),
      ...(secure && r.cipherSuite !== undefined ? { cipherSuite: r.cipherSuite } : {}),
      ...(r.vpcEndpointId !== undefined ? { vpcEndpointId: r.vpcEndpointId } : {}),
      ...(r.endpointPolicy !== undefined ? { endpointPolicy: r.endpointPolicy } : {}),
    };
  }

  async #authenticate(r: S3HttpRequest, query: ReadonlyMap<string, string>): Promise<{ verified: VerifiedRequest; source: Readable }> {
    const sig = r.signature;
    // SigV2 (boto3's default for presigned URLs on custom endpoints): say so, as S3 does in SigV4-only regions.
    if (sig === undefined && (query.has('Signature') || r.req.headers.authorization?.startsWith('AWS ') === true)) {
      throw new InvalidRequestError('The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    }
    const anonymous = sig === undefined ? anonymousRequest(r.req, query) : undefined;
    if (anonymous !== undefined) return { verified: anonymous, source: r.req };
    const declared = r.req.headers['x-amz-content-sha256'];
    if (sig !== undefined && !sig.presigned && declared === undefined && hasBody(r.req)) {
      const body = await readLimited(r.req, MAX_UNDECLARED_BODY);
      return { verified: r.authenticate(createHash('sha256').update(body).digest('hex')), source: bufferSource(body) };
    }
    return { verified: r.authenticate(), source: r.req };
  }

  #secure(r: S3HttpRequest): boolean {
    const name = this.settings.trustedProxyHttpsHeader;
    return r.secureTransport || (name !== undefined && r.req.headers[name.toLowerCase()] === 'https');
  }

  #owner(): { id: string; displayName: string } {
    return { id: this.deps.accountId, displayName: 'cipherlake' };
  }

  /**
   * Answers `err` as `wire` (S3's XML error; headers only for HEAD), or cuts the connection once
   * part of a body is out. `headersNotSigned` (for the refusal of unsigned x-amz-* headers) go
   * into the body as S3 names them; header names are not secret, values never appear.
   */
  #fail(r: S3HttpRequest, err: unknown, wire: ReturnType<typeof toS3WireError>, bucket: string | undefined, key: string | undefined, headersNotSigned: readonly string[]): void {
    if (wire.status >= 500) this.log.error({ err, requestId: r.requestId }, 'S3 request failed');
    else if (err instanceof AuthenticationError) this.log.info({ kind: err.kind, requestId: r.requestId }, 'authentication failed');
    else if (headersNotSigned.length > 0) this.log.info({ headersNotSigned, requestId: r.requestId }, 'headers not signed');
    if (r.res.headersSent) {
      // Part of a body is out: the only honest signal left is to cut the connection.
      r.res.destroy();
      return;
    }
    const headers: Record<string, string> = { 'x-amz-request-id': r.requestId, 'x-amz-id-2': r.requestId, date: httpDateNow(this.deps.clock.now()), server: 'Cipherlake' };
    // As S3 does: a HEAD's answer has no body, so the header is where clients find the region.
    if (wire.region !== undefined) headers['x-amz-bucket-region'] = wire.region;
    if (err instanceof NotModifiedError || r.req.method === 'HEAD') {
      r.res.writeHead(wire.status, { ...headers, 'x-amz-error-code': wire.code });
      r.res.end();
      return;
    }
    const resource = bucket === undefined ? '/' : key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
    const xml = errorXml(wire.code, wire.message, r.requestId, resource, wire.condition, wire.region, wire.details);
    const body = headersNotSigned.length > 0 ? withHeadersNotSigned(xml, headersNotSigned) : xml;
    r.res.writeHead(wire.status, { ...headers, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    r.res.end(body);
  }
}

/** What the handler knows of a request's outcome before it runs: its operation and client. */
interface OutcomeBase {
  operation: string;
  readOnly: boolean;
  userAgent?: string;
  host?: string;
  bucket?: string;
  key?: string;
  query?: ReadonlyMap<string, string>;
}

/** What the request learns while it runs, for its audit record. */
interface OutcomeNotes {
  keyIdentifier?: string;
  sse?: S3SseNote;
  requestDocument?: Readonly<Record<string, unknown>>;
  call?: CallContext;
  errorCode?: string;
  errorMessage?: string;
}

/**
 * The outcome of a request: base, then notes, then the status (the key order the audit
 * record has always had). Assigned, not spread: `{ ...base, ...notes }` takes V8's slow
 * path for the second spread (≈ 2.6 µs against 0.1 µs, measured), twice per request.
 */
function outcomeOf(base: OutcomeBase, notes: OutcomeNotes, status: number): S3Outcome {
  // Built loosely so that `status` is added last; every field S3Outcome requires is set.
  const o: Record<string, unknown> = { operation: base.operation, readOnly: base.readOnly };
  if (base.userAgent !== undefined) o['userAgent'] = base.userAgent;
  if (base.host !== undefined) o['host'] = base.host;
  if (base.bucket !== undefined) o['bucket'] = base.bucket;
  if (base.key !== undefined) o['key'] = base.key;
  if (base.query !== undefined) o['query'] = base.query;
  Object.assign(o, notes);
  o['status'] = status;
  return o as unknown as S3Outcome;
}

type ResponseMethod = (...args: unknown[]) => unknown;

/** A response with nothing to hold (no `record`): its record has nothing to wait for. */
const NOT_HELD: { readonly done: Promise<void> } = { done: Promise.resolve() };

/**
 * The hold of #holdUntilRecorded over one response: its writeHead, write and end are
 * overridden on the response itself, and stay so once released (passing straight through):
 * deleting them would turn every S3 response into a dictionary-mode object, which slows
 * each later property access node:http makes on it. writableNeedDrain is answered by one
 * accessor shared by every response of a prototype (holdAwareNeedDrain), which asks the
 * response's hold: defining a getter on each response, a fresh closure each time, gave each
 * one a map of its own in dictionary mode (measured: about 20 µs more per response in a
 * micro-benchmark of node:http's own accesses). A class, so that a request allocates the
 * hold and three small forwarders, not a dozen closures. Exported for its unit test only:
 * the handler is its one user. Never throws from the overrides; a failed commit destroys
 * the response (see #holdUntilRecorded).
 */
export class AnswerHold {
  /** Settles once the record committed (or failed); replaced when the status line is decided. */
  done: Promise<void> = Promise.resolve();
  #state: 'open' | 'holding' | 'released' = 'open';
  #queue: Array<{ readonly end: boolean; readonly args: unknown[] }> = [];
  readonly #res: ServerResponse;
  readonly #commit: () => Promise<void>;
  readonly #proto: { readonly writeHead: ResponseMethod; readonly write: ResponseMethod; readonly end: ResponseMethod; readonly needDrain: () => unknown };

  constructor(res: ServerResponse, commit: () => Promise<void>) {
    this.#res = res;
    this.#commit = commit;
    this.#proto = { writeHead: res.writeHead as ResponseMethod, write: res.write as ResponseMethod, end: res.end as ResponseMethod, needDrain: inheritedNeedDrain(res) };
    // Assigned one by one (not Object.assign of a literal): a named function in a literal
    // costs a defineProperty per request under tsx, whose esbuild keeps function names.
    const own = res as unknown as Record<'writeHead' | 'write' | 'end', ResponseMethod>;
    own.writeHead = (...args: unknown[]) => this.#writeHead(args);
    own.write = (...args: unknown[]) => this.#held(false, args);
    own.end = (...args: unknown[]) => (this.#held(true, args), res);
    (res as unknown as HoldSlot)[HOLD] = this;
  }

  /** writableNeedDrain of the held response: queued writes while holding, node:http's answer otherwise. */
  needDrain(): unknown {
    return this.#state === 'holding' ? this.#queue.length > 0 : this.#proto.needDrain.call(this.#res);
  }

  #writeHead(args: unknown[]): unknown {
    const result = this.#proto.writeHead.apply(this.#res, args);
    if (this.#state === 'open') {
      this.#state = 'holding';
      this.done = this.#commit().then(
        () => this.#release(),
        () => this.#fail(),
      );
    }
    return result;
  }

  #held(end: boolean, args: unknown[]): boolean {
    if (this.#state === 'open') this.#res.writeHead(this.#res.statusCode);
    if (this.#state !== 'holding') return (end ? this.#proto.end : this.#proto.write).apply(this.#res, args) !== false;
    this.#queue.push({ end, args });
    return false;
  }

  #release(): void {
    this.#state = 'released';
    const res = this.#res;
    if (res.destroyed) return this.#fail();
    const queued = this.#queue;
    // Emptied once replayed: the held writes (a GET's plaintext among them) are node:http's
    // now, and need not live as long as the response object does.
    this.#queue = [];
    for (const q of queued) (q.end ? this.#proto.end : this.#proto.write).apply(res, q.args);
    // Writers told to wait while held: node:http emits 'drain' itself only if the replay filled its buffer.
    if (queued.length > 0 && !res.writableNeedDrain && !res.writableEnded) res.emit('drain');
  }

  #fail(): void {
    this.#state = 'released';
    this.#res.destroy();
    const error = new Error('the request could not be audited');
    const queued = this.#queue;
    this.#queue = [];
    for (const q of queued) for (const a of q.args) if (typeof a === 'function') (a as (e: Error) => void)(error);
  }
}

/** Where a response keeps its AnswerHold (a symbol: no name node:http or a caller could use). */
const HOLD = Symbol('s3AnswerHold');
type HoldSlot = Record<typeof HOLD, AnswerHold | undefined>;

/** writableNeedDrain's getter as node:http defines it (OutgoingMessage's accessor), per response prototype: looked up once, not per request. */
const needDrainGetters = new WeakMap<object, () => unknown>();

/** The holdAwareNeedDrain accessors defined so far: never taken for node:http's getter (a subclass's prototype would find its parent's). */
const holdAwareGetters = new WeakSet<() => unknown>();

/**
 * The writableNeedDrain getter `res` inherits from node:http; one answering false when there
 * is none. The first time a prototype is seen, it also gets holdAwareNeedDrain as its own
 * writableNeedDrain accessor: a response with no hold (any other part's, or one answered
 * without an audit record) reads node:http's getter through it, unchanged.
 */
function inheritedNeedDrain(res: ServerResponse): () => unknown {
  const proto = Object.getPrototypeOf(res) as object;
  let getter = needDrainGetters.get(proto);
  if (getter === undefined) {
    for (let p: object | null = proto; p !== null && getter === undefined; p = Object.getPrototypeOf(p) as object | null) {
      const own = Object.getOwnPropertyDescriptor(p, 'writableNeedDrain')?.get as (() => unknown) | undefined;
      // Ours on a parent prototype would ask the hold again, which asks it back: endless.
      if (own !== undefined && !holdAwareGetters.has(own)) getter = own;
    }
    const inherited = getter ?? (() => false);
    needDrainGetters.set(proto, inherited);
    const accessor: PropertyDescriptor = { configurable: true };
    accessor.get = function holdAwareNeedDrain(this: HoldSlot): unknown {
      const hold = this[HOLD];
      return hold !== undefined ? hold.needDrain() : inherited.call(this);
    };
    holdAwareGetters.add(accessor.get);
    Object.defineProperty(proto, 'writableNeedDrain', accessor);
    return inherited;
  }
  return getter;
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * The whole body through the edge's one body reader (readBody), in S3's words: over `max`
 * is EntityTooLarge, a client gone mid-body (reset, or the request closed before its body
 * ended, even before this read began) is IncompleteBody. Never leaves the read pending.
 */
async function readLimited(req: IncomingMessage, max: number): Promise<Buffer> {
  try {
    return await readBody(req, max);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new EntityTooLargeError('Send x-amz-content-sha256 (or UNSIGNED-PAYLOAD) with large bodies.');
    // A client gone mid-body sent an incomplete body (as in openPayload), not a server fault.
    if (err instanceof BodyIncompleteError) throw new IncompleteBodyError('', { cause: err });
    throw err;
  }
}

/** The Version form S3 asks for an object action on a named version (the Service Authorization Reference's s3:*Version* actions). */
const VERSION_ACTIONS: ReadonlyMap<string, string> = new Map([
  ['s3:GetObject', 's3:GetObjectVersion'],
  ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'],
  ['s3:PutObjectTagging', 's3:PutObjectVersionTagging'],
  ['s3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging'],
  ['s3:GetObjectAcl', 's3:GetObjectVersionAcl'],
  ['s3:PutObjectAcl', 's3:PutObjectVersionAcl'],
  ['s3:GetObjectAttributes', 's3:GetObjectVersionAttributes'],
]);

/** Whether a CopyObject keeps the source's tags: x-amz-tagging-directive COPY, the default (any other value but REPLACE is the route's InvalidArgument). */
function copiesSourceTags(headers: IncomingHttpHeaders): boolean {
  const directive = headers['x-amz-tagging-directive'];
  return directive === undefined || directive === 'COPY';
}

/** Whether a copy source has tags (its record without its inline body); a missing source or bucket has none here (the route answers NoSuchKey / NoSuchBucket). */
async function hasTags(call: S3Call, source: { bucket: string; key: string }): Promise<boolean> {
  try {
    return Object.keys((await call.deps.store.getObjectHead(source.bucket, source.key)).tags ?? {}).length > 0;
  } catch (err) {
    if (err instanceof NoSuchKeyError || err instanceof NoSuchBucketError) return false;
    throw err;
  }
}

/**
 * Whether a write sets the new object's tags: PutObject and CreateMultipartUpload with
 * x-amz-tagging, a POST form with a `tagging` field, a CopyObject that REPLACEs them with
 * x-amz-tagging. S3 then asks s3:PutObjectTagging besides s3:PutObject (aws/serverless-application-model#3451,
 * scality/cloudserver#743, versity/versitygw#1986).
 */
function setsTags(operation: string, headers: IncomingHttpHeaders, post: PostUpload | undefined): boolean {
  switch (operation) {
    case 'PutObject':
    case 'CreateMultipartUpload':
      return headers['x-amz-tagging'] !== undefined;
    case 'PostObject':
      return post?.fields.has('tagging') === true;
    case 'CopyObject':
      // Exactly REPLACE, as the route reads it (parseTaggingDirective): another spelling is its InvalidArgument, not a denial.
      return headers['x-amz-tagging'] !== undefined && headers['x-amz-tagging-directive'] === 'REPLACE';
    default:
      return false;
  }
}
