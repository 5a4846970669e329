import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUuid } from '../crypto/index.js';
import { AuthenticationError, QUERY_MAX_BODY_BYTES } from '../iam/index.js';
import { EC2_MAX_BODY_BYTES } from '../volumes/index.js';
import type { EdgeDeps } from './edge-router.js';
import { edgeEvent, type ServiceOutcome, type SignedService } from './edge-service-call.js';
import { readBody } from './http-body.js';

/**
 * Answers a request for a signed service whose signature could not even be parsed
 * (`err`, from parseSignature): the service's own failure outcome for `err`, audited
 * (awaited, before the answer: every request yields one event, as serveSignedCall does for
 * the other authentication failures) with no caller, then sent in the service's shape.
 * Never reads the body. Never throws for a client error; an audit append failure propagates
 * (the edge answers 500).
 */
export async function refuseUnparsed<O extends ServiceOutcome>(
  deps: EdgeDeps,
  svc: SignedService<O>,
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  target: string,
): Promise<void> {
  const requestId = randomUuid();
  const time = deps.clock.now();
  if (err instanceof AuthenticationError) deps.log.info({ kind: err.kind, requestId }, 'authentication failed');
  const outcome = svc.failure(err, requestId, target);
  if (deps.auditor !== undefined) await deps.auditor.record(edgeEvent(requestId, time, svc.service, outcome, undefined, req, svc.auditsHost));
  svc.send(res, outcome, requestId, deps.clock.now());
}

/** The signed services an unparsable request can be recognised as (S3 is the edge's default anyway). */
export type NamedService = 'kms' | 'cloudtrail' | 'iam' | 'sts' | 'ec2';

const NAMED: ReadonlySet<string> = new Set<NamedService>(['kms', 'cloudtrail', 'iam', 'sts', 'ec2']);

/** The Query APIs' versions: `Action=…&Version=…` names its service by the version. */
const QUERY_VERSIONS: Readonly<Record<string, NamedService>> = { '2010-05-08': 'iam', '2011-06-15': 'sts', '2016-11-15': 'ec2' };

/** The service of a credential scope `AKID/yyyymmdd/region/service/aws4_request`, wherever it is written. */
const SCOPE_SERVICE = /^[^/]*\/\d{8}\/[^/]+\/([^/]+)\/aws4_request$/;

/** The largest form body read to find its Action and Version (the Query services' own limits). */
const MAX_FORM_BYTES = Math.max(QUERY_MAX_BODY_BYTES, EC2_MAX_BODY_BYTES);

/**
 * Which signed service a request whose signature could not be parsed was meant for, so its
 * refusal comes in that service's shape (the AWS CLI reads the code from the body): the
 * credential scope's service (Authorization header or X-Amz-Credential), else the Query
 * `Action` with its service's `Version` in the URL, else in a form body POSTed to `/` (at
 * most 64 KiB, read only then: S3 has no form POST at `/`, and S3 refuses a request whose
 * signature failed before it reads a body). Undefined when nothing names one (S3 answers).
 * Never throws.
 */
export async function serviceOfUnparsed(req: IncomingMessage, rawPath: string, rawQuery: string): Promise<NamedService | undefined> {
  const query = new URLSearchParams(rawQuery);
  const named = scopeService(req.headers.authorization) ?? scopeService(query.get('X-Amz-Credential') ?? undefined) ?? queryService(query);
  if (named !== undefined) return named;
  if (req.method !== 'POST' || rawPath !== '/' || !isSmallForm(req)) return undefined;
  try {
    return queryService(new URLSearchParams((await readBody(req, MAX_FORM_BYTES)).toString('utf8')));
  } catch {
    return undefined; // the client left mid-body: no service to name
  }
}

function scopeService(text: string | undefined): NamedService | undefined {
  if (text === undefined) return undefined;
  // Lenient on purpose: the header failed to parse, but its Credential may still be whole.
  const credential = /Credential=([^,\s]*)/.exec(text)?.[1] ?? text;
  const service = SCOPE_SERVICE.exec(credential)?.[1];
  return service !== undefined && NAMED.has(service) ? (service as NamedService) : undefined;
}

function queryService(params: URLSearchParams): NamedService | undefined {
  const version = params.get('Version');
  return params.get('Action') !== null && version !== null && Object.hasOwn(QUERY_VERSIONS, version) ? QUERY_VERSIONS[version] : undefined;
}

function isSmallForm(req: IncomingMessage): boolean {
  const type = req.headers['content-type'] ?? '';
  const length = Number(req.headers['content-length'] ?? NaN);
  return type.toLowerCase().startsWith('application/x-www-form-urlencoded') && length >= 0 && length <= MAX_FORM_BYTES;
}
