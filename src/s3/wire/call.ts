import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { ConditionFacts, VerifiedRequest } from '../../iam/index.js';
import type { CallContext } from '../../kms/index.js';
import { EntityTooLargeError } from '../errors.js';
import type { S3Deps } from '../s3-deps.js';
import { authorizeS3Action, type S3Authorizer } from './authorize.js';
import { httpDateNow } from './headers/http-date.js';
import { openPayload, type Payload } from './payload.js';
import type { Owner } from './xml.js';
import type { Readable } from 'node:stream';

/**
 * The SSE a write answered with, for its audit record's responseElements: the object's (or
 * upload's) mode and whether it answered the bucket-key header. Holds no key and no key MD5;
 * the KMS key's ARN is the note's keyIdentifier.
 */
export interface S3SseNote {
  readonly mode: 'SSE-S3' | 'SSE-KMS' | 'DSSE-KMS' | 'SSE-C';
  readonly bucketKey: boolean;
}

/** What a route notes for the audit record: the KMS key involved, and for writes the SSE answered. */
export interface S3CallNotes {
  keyIdentifier?: string;
  sse?: S3SseNote;
  /**
   * The request document as CloudTrail records it among requestParameters (PutBucketTagging's
   * `Tagging`), noted only once the route has validated it: never anything secret, and
   * bounded by that validation.
   */
  requestDocument?: Readonly<Record<string, unknown>>;
}

/**
 * The facts of one authenticated request that a route handler reads: S3Call's fields, declared
 * once here. A class (not an interface) so that VerifiedCall sets them with plain stores and
 * the compiler checks that every one is set; it has no behaviour and no private members, so
 * any object with these fields is one.
 */
export class S3CallFields {
  readonly deps: S3Deps;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** Empty at service level. */
  readonly bucket: string;
  /** Empty at service and bucket level. */
  readonly key: string;
  readonly query: ReadonlyMap<string, string>;
  /** The client connection was HTTPS (directly, or per the trusted proxy header). */
  readonly secure: boolean;
  readonly owner: Owner;
  /** The authenticated caller (the anonymous principal for an unsigned request) and its channel. */
  readonly caller: CallContext;

  /** Copies each field of `base`; never keeps `base` itself. */
  constructor(base: S3CallFields) {
    this.deps = base.deps;
    this.req = base.req;
    this.res = base.res;
    this.requestId = base.requestId;
    this.bucket = base.bucket;
    this.key = base.key;
    this.query = base.query;
    this.secure = base.secure;
    this.owner = base.owner;
    this.caller = base.caller;
  }
}

/** Everything a route handler needs for one authenticated request. */
export interface S3Call extends S3CallFields {
  /**
   * Authorizes another action or resource for this caller, beyond the route's own (which
   * the handler has already decided): DeleteObjects' keys, for example. Raises AccessDeniedError.
   */
  authorize(action: string, target: { readonly bucket: string; readonly key: string }): Promise<void>;
  /** Opens the (verified-on-finish) body; see openPayload. */
  payload(maxBytes?: number): Payload;
  /** Reads and verifies a small body (XML documents). Raises EntityTooLarge and the payload's errors. */
  readSmall(maxBytes?: number): Promise<Buffer>;
  /** Answers with status, headers and an optional body (XML when a string). */
  send(status: number, headers?: OutgoingHttpHeaders, body?: string): void;
  /** Extra facts for the audit event (the KMS key involved; a write's SSE). */
  note(detail: S3CallNotes): void;
}

/** How a call decides actions beyond its route's own: IAM's authorizer and the request's condition facts. */
export interface CallAccess {
  readonly authorizer: S3Authorizer;
  readonly facts: ConditionFacts;
}

/** Builds the S3Call for a request whose signature has been verified. */
export function makeCall(
  base: S3CallFields,
  access: CallAccess,
  verified: VerifiedRequest,
  source: Readable,
  notes: S3CallNotes,
): S3Call {
  return new VerifiedCall(base, access, verified, source, notes);
}

/**
 * S3Call as a class: one object per request, its operations on the prototype, instead of
 * a copy of `base` and a closure per operation.
 */
class VerifiedCall extends S3CallFields implements S3Call {
  readonly #access: CallAccess;
  readonly #verified: VerifiedRequest;
  readonly #source: Readable;
  readonly #notes: S3CallNotes;

  constructor(base: S3CallFields, access: CallAccess, verified: VerifiedRequest, source: Readable, notes: S3CallNotes) {
    super(base);
    this.#access = access;
    this.#verified = verified;
    this.#source = source;
    this.#notes = notes;
  }

  authorize(action: string, target: { readonly bucket: string; readonly key: string }): Promise<void> {
    return authorizeS3Action(this.deps, this.#access.authorizer, this.caller, action, target, this.#access.facts);
  }

  payload(maxBytes?: number): Payload {
    return openPayload(this.req, this.#verified, maxBytes, this.#source);
  }

  async readSmall(maxBytes = 1024 * 1024): Promise<Buffer> {
    const p = this.payload(maxBytes);
    const chunks: Buffer[] = [];
    await pipeline(p.stream, new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
    p.verify();
    const body = Buffer.concat(chunks);
    if (body.length > maxBytes) throw new EntityTooLargeError('');
    return body;
  }

  send(status: number, headers: OutgoingHttpHeaders = {}, body?: string): void {
    // The common headers first, then the route's (which may override them), as one object.
    const all: OutgoingHttpHeaders = { 'x-amz-request-id': this.requestId, 'x-amz-id-2': this.requestId, date: httpDateNow(this.deps.clock.now()), server: 'Cipherlake' };
    if (body === undefined) {
      all['content-length'] = 0;
      Object.assign(all, headers);
      this.res.writeHead(status, all);
      this.res.end();
      return;
    }
    all['content-type'] = 'application/xml';
    all['content-length'] = Buffer.byteLength(body);
    Object.assign(all, headers);
    this.res.writeHead(status, all);
    this.res.end(body);
  }

  note(detail: S3CallNotes): void {
    Object.assign(this.#notes, detail);
  }
}
