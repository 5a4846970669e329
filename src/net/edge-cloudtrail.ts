import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditStore } from '../audit/index.js';
import { CLOUDTRAIL_MAX_BODY_BYTES, CLOUDTRAIL_TARGET_PREFIX, handleCloudTrailRequest, type CloudTrailOutcome } from '../audit/wire/index.js';
import { AuthenticationError, type ParsedSignature, type SignedRequestView } from '../iam/index.js';
import { toKmsWireError, type CallContext } from '../kms/index.js';
import type { EdgeDeps, TransportChannel } from './edge-router.js';
import { BodyIncompleteError, BodyTooLargeError } from './http-body.js';
import { authenticateBody } from './edge-auth.js';

/** What CloudTrail's LookupEvents reads: the audit store's lookup. */
export type CloudTrailLookup = Pick<AuditStore, 'lookup'>;

export { CLOUDTRAIL_TARGET_PREFIX };

/**
 * Serves a CloudTrail JSON 1.1 request on the edge (X-Amz-Target
 * `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.*`, credential scope `cloudtrail`):
 * authenticate (SigV4 over the body, as KMS) → LookupEvents on the store → audit the call as a
 * cloudtrail.amazonaws.com event (awaited, before the answer) → respond. Authentication
 * failures answer with the same codes as KMS (UnrecognizedClientException, ...). Never throws
 * for a client error; an audit append failure propagates (the edge answers 500).
 */
export async function handleCloudTrail(
  deps: EdgeDeps,
  lookup: CloudTrailLookup,
  req: IncomingMessage,
  res: ServerResponse,
  view: SignedRequestView,
  sig: ParsedSignature | undefined,
  target: string,
  channel: TransportChannel,
): Promise<void> {
  const requestId = randomUUID();
  const time = deps.clock.now();
  const operation = target.startsWith(CLOUDTRAIL_TARGET_PREFIX) ? target.slice(CLOUDTRAIL_TARGET_PREFIX.length) : target;
  let outcome: CloudTrailOutcome & { cause?: unknown };
  let call: CallContext | undefined;
  try {
    if (sig === undefined) throw new AuthenticationError('MissingAuthentication', 'Missing Authentication Token');
    const authenticated = await authenticateBody(deps, req, view, sig, CLOUDTRAIL_MAX_BODY_BYTES, time, channel);
    const body = authenticated.body;
    call = authenticated.call;
    outcome = await handleCloudTrailRequest(lookup, target, body);
  } catch (err) {
    if (err instanceof AuthenticationError) deps.log.info({ kind: err.kind, requestId }, 'authentication failed');
    // Authentication codes are shared by every JSON 1.1 service; KMS's table already maps them.
    const wire = err instanceof BodyTooLargeError || err instanceof BodyIncompleteError ? { code: 'ValidationException', status: 400, message: err.message } : toKmsWireError(err);
    outcome = { status: wire.status, operation, readOnly: true, body: { __type: wire.code, message: wire.message }, error: wire, cause: err };
  }
  if (outcome.status >= 500) deps.log.error({ err: outcome.cause, requestId }, 'CloudTrail request failed');
  await deps.auditor?.record({
    requestId,
    time,
    service: 'cloudtrail',
    operation: outcome.operation,
    readOnly: outcome.readOnly,
    status: outcome.status,
    ...(call !== undefined ? { call } : {}),
    ...(outcome.error !== undefined ? { errorCode: outcome.error.code, errorMessage: outcome.error.message } : {}),
    ...(outcome.requestParameters !== undefined ? { requestParameters: outcome.requestParameters } : {}),
    ...(req.headers['user-agent'] !== undefined ? { userAgent: req.headers['user-agent'] } : {}),
    ...(req.headers.host !== undefined ? { host: req.headers.host } : {}),
  });
  const text = JSON.stringify(outcome.body);
  res.writeHead(outcome.status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    date: deps.clock.now().toUTCString(),
    ...(outcome.error !== undefined ? { 'x-amzn-errortype': outcome.error.code } : {}),
  });
  res.end(text);
}
