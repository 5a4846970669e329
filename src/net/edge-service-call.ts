import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUuid } from '../crypto/index.js';
import { AuthenticationError, type ParsedSignature, type SignedRequestView } from '../iam/index.js';
import type { CallContext } from '../kms/index.js';
import { authenticatedCall } from './edge-auth.js';
import type { EdgeDeps, EdgeEvent, TransportChannel } from './edge-router.js';
import { BodyIncompleteError, BodyTooLargeError, readBody } from './http-body.js';

/** What every signed service call reports, for the edge to audit (the body to send is the service's own). */
export interface ServiceOutcome {
  readonly status: number;
  readonly operation: string;
  readonly readOnly: boolean;
  readonly error?: { readonly code: string; readonly message: string };
  readonly keyIdentifier?: string;
  readonly requestParameters?: Record<string, unknown>;
  readonly responseElements?: Record<string, unknown>;
  /** CloudTrail additionalEventData (KMS: the key material a successful call used); never secret. */
  readonly additionalEventData?: Record<string, unknown>;
}

/**
 * A ServiceOutcome that may list the resources its call named, with their CloudTrail types
 * (EC2, IAM, STS outcomes; a KMS record's come from keyIdentifier instead). Apart from
 * ServiceOutcome rather than in it: an outcome type without the field (KmsOutcome) would
 * otherwise stop being a subtype of ServiceOutcome, which the edge's inference relies on.
 */
export interface ListingOutcome extends ServiceOutcome {
  readonly resources?: ReadonlyArray<{ readonly arn: string; readonly type: string }>;
}

/**
 * One signed JSON 1.1 or Query service as the edge serves it (KMS, CloudTrail, IAM, STS, EC2):
 * its body limit, its operation, and its wire differences (how a failure outside the
 * operation is answered, how the answer is sent, what its audit event carries). Built once
 * per edge, never per request.
 */
export interface SignedService<O extends ServiceOutcome> {
  readonly service: 'kms' | 'cloudtrail' | 'iam' | 'sts' | 'ec2';
  readonly maxBodyBytes: number;
  /** Whether the audit event carries the Host header (it becomes tlsDetails.clientProvidedHostHeader). */
  readonly auditsHost: boolean;
  /**
   * Runs the authenticated call (`target` is X-Amz-Target, '' when absent); answers every
   * client error in the outcome, never throws for one. The outcome itself when the call
   * finished at once (KMS's hot path: then the edge awaits nothing), else a promise of it.
   * On the KMS path: no closure or extra promise per request (return the operation's answer, don't wrap it).
   */
  operate(body: Buffer, call: CallContext, requestId: string, target: string, view: SignedRequestView, req: IncomingMessage): O | Promise<O>;
  /** The outcome for a failure outside the operation: no or a bad signature, an unreadable body. */
  failure(err: unknown, requestId: string, target: string): O;
  /** Writes the outcome as the service's wire answer. */
  send(res: ServerResponse, outcome: O, requestId: string, now: Date): void;
}

/**
 * Serves one signed service request: read the body (up to the service's limit) and verify
 * SigV4 over it → the operation → audit (awaited, before the answer) → respond in the
 * service's shape. Never throws for a client error; an audit append failure propagates
 * (the edge answers 500).
 */
export async function serveSignedCall<O extends ServiceOutcome>(
  deps: EdgeDeps,
  svc: SignedService<O>,
  req: IncomingMessage,
  res: ServerResponse,
  view: SignedRequestView,
  sig: ParsedSignature | undefined,
  target: string,
  channel: TransportChannel,
): Promise<void> {
  const requestId = randomUuid();
  const time = deps.clock.now();
  let outcome: O;
  let call: CallContext | undefined;
  try {
    if (sig === undefined) throw new AuthenticationError('MissingAuthentication', 'Missing Authentication Token');
    const body = await readBody(req, svc.maxBodyBytes);
    call = authenticatedCall(deps, req, view, sig, body, time, channel);
    const operated = svc.operate(body, call, requestId, target, view, req);
    outcome = isThenable(operated) ? await operated : operated;
  } catch (err) {
    if (err instanceof AuthenticationError) deps.log.info({ kind: err.kind, requestId }, 'authentication failed');
    outcome = svc.failure(err, requestId, target);
  }
  if (deps.auditor !== undefined) await deps.auditor.record(edgeEvent(requestId, time, svc.service, outcome, call, req, svc.auditsHost));
  svc.send(res, outcome, requestId, deps.clock.now());
}

// What `await` would wait for (any thenable, not only a native Promise); an outcome is never one.
function isThenable<O>(x: O | PromiseLike<O>): x is PromiseLike<O> {
  return typeof (x as Partial<PromiseLike<O>>).then === 'function';
}

/** Whether `err` says the body could not be read whole (over the limit, or the client left mid-body). */
export function isBodyError(err: unknown): err is BodyTooLargeError | BodyIncompleteError {
  return err instanceof BodyTooLargeError || err instanceof BodyIncompleteError;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The audit event of a signed service call (KMS included), built by assignment: no spreads,
 * as it runs once per request. Carries the Host header only when `withHost`. Never throws.
 */
export function edgeEvent(
  requestId: string, time: Date, service: EdgeEvent['service'], outcome: ListingOutcome, call: CallContext | undefined, req: IncomingMessage, withHost: boolean,
): EdgeEvent {
  const event: Mutable<EdgeEvent> = { requestId, time, service, operation: outcome.operation, readOnly: outcome.readOnly, status: outcome.status };
  if (call !== undefined) event.call = call;
  if (outcome.keyIdentifier !== undefined) event.keyIdentifier = outcome.keyIdentifier;
  if (outcome.error !== undefined) {
    event.errorCode = outcome.error.code;
    event.errorMessage = outcome.error.message;
  }
  if (outcome.requestParameters !== undefined) event.requestParameters = outcome.requestParameters;
  if (outcome.responseElements !== undefined) event.responseElements = outcome.responseElements;
  if (outcome.additionalEventData !== undefined) event.additionalEventData = outcome.additionalEventData;
  if (outcome.resources !== undefined) event.resources = outcome.resources;
  const userAgent = req.headers['user-agent'];
  if (userAgent !== undefined) event.userAgent = userAgent;
  const host = req.headers.host;
  if (withHost && host !== undefined) event.host = host;
  return event;
}

/**
 * Sends a JSON 1.1 answer (KMS, CloudTrail): the body, its length, the request id, the date
 * and, for an error, `x-amzn-errortype`. Never throws for a sent response.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string, now: Date, errorType?: string): void {
  sendJsonText(res, status, JSON.stringify(body), requestId, now, errorType);
}

/** sendJson for a body already serialised as JSON text (sent as it is). Never throws for a sent response. */
export function sendJsonText(res: ServerResponse, status: number, text: string, requestId: string, now: Date, errorType?: string): void {
  const headers: Record<string, string | number> = {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    date: httpDate(now),
  };
  if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(text);
}

/** Sends a Query protocol XML answer (IAM, STS, EC2) with the service's own content type. */
export function sendXml(res: ServerResponse, status: number, body: string, contentType: string, requestId: string, now: Date): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': requestId, date: httpDate(now) });
  res.end(body);
}

// The Date header has whole-second precision: format it once per second, not per response.
let lastDateSecond = NaN;
let lastDate = '';

function httpDate(now: Date): string {
  const second = Math.floor(now.getTime() / 1000);
  if (second !== lastDateSecond) {
    lastDate = now.toUTCString();
    lastDateSecond = second;
  }
  return lastDate;
}
