import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import { randomUuid } from '../crypto/index.js';
import {
  AuthenticationError,
  parseSignature,
  scopeRegionError,
  verifySignature,
  type CredentialLookup,
  type ParsedSignature,
  type SignedRequestView,
} from '../iam/index.js';
import type { Policy } from '../iam/policy/index.js';
import type { CallContext, KeyService, KmsAuthorizer, KmsOutcome } from '../kms/index.js';
import type { S3HttpRequest } from '../s3/index.js';
import type { S3SseNote } from '../s3/wire/call.js';
import { headerPairs } from './http-body.js';
import { CLOUDTRAIL_TARGET_PREFIX, cloudTrailService, type CloudTrailLookup } from './edge-cloudtrail.js';
import { ec2Service, type Ec2EdgeHandler } from './edge-ec2.js';
import { queryService, type IamEdgeHandler } from './edge-iam.js';
import { kmsService } from './edge-kms.js';
import { serveSignedCall, type ServiceOutcome, type SignedService } from './edge-service-call.js';
import { s3Event } from './edge-s3-params.js';
import { refuseUnparsed, serviceOfUnparsed } from './edge-unparsed.js';

export type { IamEdgeHandler };

/** What the edge tells the audit trail about each request it answers. */
export interface EdgeEvent {
  readonly requestId: string;
  readonly time: Date;
  readonly service: 'kms' | 's3' | 'cloudtrail' | 'iam' | 'sts' | 'ec2' | 'unknown';
  readonly operation: string;
  readonly readOnly: boolean;
  readonly call?: CallContext;
  readonly keyIdentifier?: string;
  readonly userAgent?: string;
  readonly host?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly status: number;
  /** Request and response fields that are safe to record (never data or key material). */
  readonly requestParameters?: Record<string, unknown>;
  readonly responseElements?: Record<string, unknown>;
  /** CloudTrail additionalEventData: KMS's key material used, S3's transfer facts (never secret). */
  readonly additionalEventData?: Record<string, unknown>;
  /** ARNs of the resources the request named, with their CloudTrail types. */
  readonly resources?: ReadonlyArray<{ readonly arn: string; readonly type: string }>;
  /** S3: the bucket the request addressed; the auditor derives the record's resources and event category from it and objectKey. */
  readonly bucket?: string;
  /** S3: the object key the request addressed (object-level requests only). */
  readonly objectKey?: string;
}

/** Records edge events; the edge awaits it before answering, so no answered request goes unrecorded. */
export interface EdgeAuditor {
  record(event: EdgeEvent): Promise<void>;
}

/**
 * What the edge hands the S3 part for a request that is not KMS: the raw request and
 * response (S3 needs exact control of headers and streamed bodies), the parsed signature
 * (undefined for an anonymous request), and `authenticate`, which verifies the signature
 * once the S3 layer knows the body's hash (pass undefined for streamed bodies: the signed
 * x-amz-content-sha256 then stands, and the S3 layer checks it as it reads). The S3 part
 * declares its fields (S3HttpRequest); the edge adds the whole transport channel.
 */
export type S3EdgeRequest = S3HttpRequest & TransportChannel;

/**
 * What the S3 part reports of a request (structurally its S3Outcome): the event's fields,
 * with the addressed bucket and key and the parsed query, which the edge turns into the
 * record's requestParameters (see s3Event).
 */
export type S3EdgeOutcome = Omit<EdgeEvent, 'requestId' | 'time' | 'service' | 'bucket' | 'objectKey' | 'requestParameters'> & {
  readonly bucket?: string;
  readonly key?: string;
  readonly query?: ReadonlyMap<string, string>;
  /** A successful write's SSE, as its answer stated it (the record's responseElements; see s3Event). */
  readonly sse?: S3SseNote;
  /** The validated request document the record's requestParameters carry beside the query's (see s3Event). */
  readonly requestDocument?: Readonly<Record<string, unknown>>;
};

/** The S3 part as the edge sees it. It must answer every request itself, never throw for a client error. */
export interface S3EdgeHandler {
  handle(request: S3EdgeRequest): Promise<S3EdgeOutcome>;
}

/**
 * The private endpoint (VPC interface endpoint analogue) a listener serves. The ordinary
 * listeners pass none, so their requests carry no vpcEndpointId.
 */
export interface EndpointChannel {
  readonly vpcEndpointId: string;
  readonly endpointPolicy?: Policy;
}

/**
 * The real channel a request came over: what CallContext and S3EdgeRequest carry besides
 * the caller (the fields as CallContext documents them; TLS ones only when secureTransport).
 */
export type TransportChannel = Pick<CallContext, 'secureTransport' | 'tlsVersion' | 'cipherSuite' | 'vpcEndpointId' | 'endpointPolicy'>;

/**
 * Reads the channel from the request's socket (TLS protocol and suite as negotiated, never
 * as configured) and the listener's endpoint. Never throws.
 */
export function transportChannel(req: IncomingMessage, endpoint?: EndpointChannel): TransportChannel {
  const socket = req.socket as Partial<TLSSocket>;
  const secure = socket.encrypted === true;
  // Plain HTTP outside a private endpoint (the common case) shares one frozen channel.
  if (!secure && endpoint === undefined) return PLAIN_CHANNEL;
  const protocol = secure ? socket.getProtocol?.() : undefined;
  const cipher = secure ? socket.getCipher?.() : undefined;
  const channel: { -readonly [K in keyof TransportChannel]: TransportChannel[K] } = { secureTransport: secure };
  if (typeof protocol === 'string') channel.tlsVersion = protocol;
  if (cipher !== undefined) channel.cipherSuite = cipher.name;
  if (endpoint !== undefined) channel.vpcEndpointId = endpoint.vpcEndpointId;
  if (endpoint?.endpointPolicy !== undefined) channel.endpointPolicy = endpoint.endpointPolicy;
  return channel;
}

const PLAIN_CHANNEL: TransportChannel = Object.freeze({ secureTransport: false });

export interface EdgeDeps {
  /** The S3 part; without it, non-KMS requests answer NotImplemented. */
  readonly s3?: S3EdgeHandler;
  /** IAM and STS (requests whose credential scope names `iam` or `sts`). */
  readonly iam?: IamEdgeHandler;
  /** EC2 volumes and snapshots (requests whose credential scope names `ec2`). */
  readonly ec2?: Ec2EdgeHandler;
  /** CloudTrail LookupEvents over the audit store and ListPublicKeys (credential scope `cloudtrail`). */
  readonly auditLookup?: CloudTrailLookup;
  readonly keys: KeyService;
  /**
   * The region this server serves (config `region`): a signed request's credential scope must
   * name it (IAM and STS also take us-east-1, AWS's global signing region), or it is refused
   * before its signature is checked, as AWS refuses it.
   */
  readonly region: string;
  readonly credentials: CredentialLookup;
  readonly clock: Clock;
  readonly log: Logger;
  readonly authorizeKms: KmsAuthorizer;
  readonly auditor?: EdgeAuditor;
  /** Answers /_cipherlake/health. */
  readonly health: () => Promise<{ ok: boolean; detail: Record<string, unknown> }>;
}

/**
 * The single edge endpoint: health under `/_cipherlake/`, KMS for `X-Amz-Target:
 * TrentService.*` or a `kms` credential scope, CloudTrail, IAM, STS and EC2 by their target
 * or credential scope (when their part is present), and S3 for everything else.
 * Returns node:http's request listener; a private endpoint's listener passes its
 * `endpoint` as the third argument. It never throws: every failure is answered.
 */
export function createEdgeHandler(deps: EdgeDeps): (req: IncomingMessage, res: ServerResponse, endpoint?: EndpointChannel) => void {
  const services = signedServices(deps);
  return (req, res, endpoint) => {
    let done: Promise<void>;
    try {
      done = handle(deps, services, req, res, endpoint);
    } catch (err) {
      // handle is not async (see there): a synchronous throw is answered like a rejection.
      done = Promise.reject(err);
    }
    done.catch((err: unknown) => {
      deps.log.error({ err }, 'unhandled edge error');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"__type":"InternalFailure"}');
      } else {
        res.destroy();
      }
    });
  };
}

/** The signed JSON/Query services: KMS always, each other one when its part is present. */
interface SignedServices {
  readonly kms: SignedService<KmsOutcome>;
  readonly cloudtrail?: SignedService<ServiceOutcome>;
  readonly iam?: SignedService<ServiceOutcome>;
  readonly sts?: SignedService<ServiceOutcome>;
  readonly ec2?: SignedService<ServiceOutcome>;
}

function signedServices(deps: EdgeDeps): SignedServices {
  const services: { -readonly [K in keyof SignedServices]: SignedServices[K] } = { kms: kmsService(deps.keys, deps.authorizeKms, deps.log) };
  if (deps.auditLookup !== undefined) services.cloudtrail = cloudTrailService(deps.auditLookup, deps.log, () => deps.clock.now());
  if (deps.iam !== undefined) {
    services.iam = queryService(deps.iam, 'iam', deps.log);
    services.sts = queryService(deps.iam, 'sts', deps.log);
  }
  if (deps.ec2 !== undefined) services.ec2 = ec2Service(deps.ec2, deps.log);
  return services;
}

// Not async: the signed-service path (every KMS call) returns serveSignedCall's own promise
// rather than wrapping it in another one (an async function returning a promise costs a
// promise and two more microtask turns per request). Only the rarer paths that must wait
// before routing (an unparsable signature, a credential to load) are async.
function handle(deps: EdgeDeps, services: SignedServices, req: IncomingMessage, res: ServerResponse, endpoint: EndpointChannel | undefined): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  if (rawPath.startsWith('/_cipherlake/')) return handleInternal(deps, rawPath, res);
  const view: SignedRequestView = { method: req.method ?? 'GET', rawPath, rawQuery: q < 0 ? '' : url.slice(q + 1), headers: headerPairs(req) };
  const target = req.headers['x-amz-target'];
  let sig: ParsedSignature | undefined;
  try {
    sig = parseSignature(view);
  } catch (err) {
    // A JSON 1.1 request (it names its target) is answered and audited by its service, KMS by default.
    if (typeof target === 'string') return refuseUnparsed(deps, signedServiceOf(services, undefined, target) ?? services.kms, req, res, err, target);
    return handleUnparsed(deps, services, req, res, view, err, endpoint);
  }
  // IAM users' keys and STS sessions live in a store: load them before the synchronous
  // signature check (not needed when `find` already knows the key, e.g. the root's, nor for a
  // scope naming another region, which route refuses before any secret is read).
  // A cached credential is prepared again when the store changed since it was read (another
  // worker deleted the key, say): `current`.
  if (
    sig !== undefined &&
    deps.credentials.prepare !== undefined &&
    (deps.credentials.find(sig.accessKeyId) === undefined || deps.credentials.current?.(sig.accessKeyId) === false) &&
    scopeRegionError(sig, deps.region) === undefined
  ) {
    return prepareThenRoute(deps, services, req, res, view, sig, target, endpoint);
  }
  return route(deps, services, req, res, view, sig, undefined, target, endpoint);
}

/** A request whose signature does not parse and that names no JSON target. */
async function handleUnparsed(
  deps: EdgeDeps, services: SignedServices, req: IncomingMessage, res: ServerResponse, view: SignedRequestView, sigError: unknown, endpoint: EndpointChannel | undefined,
): Promise<void> {
  // A Query request (IAM, STS, EC2) or a JSON one without a target is refused in its own service's shape.
  const named = signedServiceOf(services, await serviceOfUnparsed(req, view.rawPath, view.rawQuery), undefined);
  if (named !== undefined) return refuseUnparsed(deps, named, req, res, sigError, '');
  return route(deps, services, req, res, view, undefined, sigError, undefined, endpoint);
}

async function prepareThenRoute(
  deps: EdgeDeps,
  services: SignedServices,
  req: IncomingMessage,
  res: ServerResponse,
  view: SignedRequestView,
  sig: ParsedSignature,
  target: string | string[] | undefined,
  endpoint: EndpointChannel | undefined,
): Promise<void> {
  await deps.credentials.prepare?.(sig.accessKeyId);
  return route(deps, services, req, res, view, sig, undefined, target, endpoint);
}

/** Hands a request to its signed service, else to S3 (NotImplemented without it). */
function route(
  deps: EdgeDeps,
  services: SignedServices,
  req: IncomingMessage,
  res: ServerResponse,
  view: SignedRequestView,
  sig: ParsedSignature | undefined,
  sigError: unknown,
  target: string | string[] | undefined,
  endpoint: EndpointChannel | undefined,
): Promise<void> {
  const service = signedServiceOf(services, sig?.service, target);
  if (service !== undefined && sig !== undefined && sig.service !== service.service) {
    // Named by its target (KMS, CloudTrail) but signed for another service: AWS refuses the
    // scope before it checks the signature, and so does this edge (answered and audited).
    const err = new AuthenticationError('SignatureMismatch', `Credential should be scoped to correct service: '${service.service}'. `);
    return refuseUnparsed(deps, service, req, res, err, typeof target === 'string' ? target : '');
  }
  // A scope for another region is refused before the signature is checked (AWS answers it
  // even for an unknown key); S3 answers it when it authenticates, in its own words.
  const wrongRegion = sig !== undefined ? scopeRegionError(sig, deps.region) : undefined;
  if (service !== undefined) {
    if (wrongRegion !== undefined) return refuseUnparsed(deps, service, req, res, wrongRegion, typeof target === 'string' ? target : '');
    return serveSignedCall(deps, service, req, res, view, sig, typeof target === 'string' ? target : '', transportChannel(req, endpoint));
  }
  if (deps.s3 === undefined) {
    sendNotImplemented(res);
    return DONE;
  }
  return handleS3(deps, deps.s3, req, res, view, sig, wrongRegion ?? wrongS3Service(sig) ?? sigError, transportChannel(req, endpoint));
}

const DONE: Promise<void> = Promise.resolve();

/**
 * A request that reached S3 signed for another service (a scope naming a service this edge
 * does not serve, or IAM/STS when they are off): S3 refuses the scope before the signature,
 * "The authorization header is malformed; incorrect service ..." (the caller's name cut to 64).
 */
function wrongS3Service(sig: ParsedSignature | undefined): AuthenticationError | undefined {
  if (sig === undefined || sig.service === 's3') return undefined;
  return new AuthenticationError('IncompleteSignature', `The authorization header is malformed; incorrect service "${sig.service.slice(0, 64)}". This endpoint belongs to "s3".`);
}

// KMS and CloudTrail by their target or their credential scope's service; IAM, STS and EC2 (Query) by that service only.
function signedServiceOf(services: SignedServices, scope: string | undefined, target: string | string[] | undefined): SignedService<ServiceOutcome> | undefined {
  if ((typeof target === 'string' && target.startsWith('TrentService.')) || scope === 'kms') return services.kms;
  if (services.cloudtrail !== undefined && ((typeof target === 'string' && target.startsWith(CLOUDTRAIL_TARGET_PREFIX)) || scope === 'cloudtrail')) return services.cloudtrail;
  switch (scope) {
    case 'iam':
      return services.iam;
    case 'sts':
      return services.sts;
    case 'ec2':
      return services.ec2;
    default:
      return undefined;
  }
}

async function handleS3(
  deps: EdgeDeps,
  s3: S3EdgeHandler,
  req: IncomingMessage,
  res: ServerResponse,
  view: SignedRequestView,
  sig: ParsedSignature | undefined,
  sigError: unknown,
  channel: TransportChannel,
): Promise<void> {
  const requestId = randomUuid();
  const time = deps.clock.now();
  const auditor = deps.auditor;
  // The handler commits the record as the status line is decided and holds the answer until
  // it is durable; a request that never wrote a status line (client gone) is recorded after.
  let recorded = false;
  // Built by assignment, not as a literal with `...channel` in its middle: V8 (Node 20) takes
  // its slow path for a literal that adds keys after a spread, once per S3 request.
  const request: { -readonly [K in keyof S3EdgeRequest]: S3EdgeRequest[K] } = {
    req,
    res,
    view,
    signature: sig,
    requestId,
    time,
    sourceIp: req.socket.remoteAddress ?? '',
    secureTransport: channel.secureTransport,
    authenticate: (bodySha256?: string) => {
      if (sigError !== undefined) throw sigError;
      if (sig === undefined) throw new AuthenticationError('MissingAuthentication', 'Missing Authentication Token');
      return verifySignature(view, sig, deps.credentials, bodySha256 !== undefined ? { now: time, bodySha256 } : { now: time });
    },
  };
  if (channel.tlsVersion !== undefined) request.tlsVersion = channel.tlsVersion;
  if (channel.cipherSuite !== undefined) request.cipherSuite = channel.cipherSuite;
  if (channel.vpcEndpointId !== undefined) request.vpcEndpointId = channel.vpcEndpointId;
  if (channel.endpointPolicy !== undefined) request.endpointPolicy = channel.endpointPolicy;
  if (auditor !== undefined) {
    request.record = (outcome) => {
      recorded = true;
      return auditor.record(s3Event(outcome, request));
    };
  }
  const event = await s3.handle(request);
  if (!recorded) await auditor?.record(s3Event(event, request));
}

function sendNotImplemented(res: ServerResponse): void {
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented.</Message></Error>';
  res.writeHead(501, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handleInternal(deps: EdgeDeps, rawPath: string, res: ServerResponse): Promise<void> {
  if (rawPath === '/_cipherlake/health') {
    const health = await deps.health();
    const text = JSON.stringify({ status: health.ok ? 'ok' : 'degraded', ...health.detail });
    res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"error":"not found"}');
}
