import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthenticationError, type ParsedSignature, type SignedRequestView } from '../iam/index.js';
import type { CallContext } from '../kms/index.js';
import { EC2_MAX_BODY_BYTES, ec2Failure, type Ec2Outcome, type VolumeKmsCall } from '../volumes/index.js';
import type { Clock } from '../common/clock.js';
import type { S3KmsCall } from '../s3/index.js';
import type { EdgeAuditor, EdgeDeps, TransportChannel } from './edge-router.js';
import { BodyIncompleteError, BodyTooLargeError } from './http-body.js';
import { authenticateBody } from './edge-auth.js';

/** The volumes part as the edge sees it: serves authenticated EC2 Query requests. */
export interface Ec2EdgeHandler {
  handle(body: string, rawQuery: string, call: CallContext, requestId: string): Promise<Ec2Outcome>;
}

/**
 * Serves an EC2 Query request on the edge (credential scope `ec2`): authenticate (SigV4
 * over the body) → the volumes part → audit as an ec2.amazonaws.com event (awaited,
 * before the answer) → respond with EC2's XML. Never throws for a client error; an audit
 * append failure propagates (the edge answers 500).
 */
export async function handleEc2(
  deps: EdgeDeps,
  ec2: Ec2EdgeHandler,
  req: IncomingMessage,
  res: ServerResponse,
  view: SignedRequestView,
  sig: ParsedSignature,
  channel: TransportChannel,
): Promise<void> {
  const requestId = randomUUID();
  const time = deps.clock.now();
  let outcome: Ec2Outcome;
  let call: CallContext | undefined;
  try {
    const authenticated = await authenticateBody(deps, req, view, sig, EC2_MAX_BODY_BYTES, time, channel);
    const body = authenticated.body;
    call = authenticated.call;
    outcome = await ec2.handle(body.toString('utf8'), view.rawQuery, call, requestId);
  } catch (err) {
    if (err instanceof AuthenticationError) deps.log.info({ kind: err.kind, requestId }, 'authentication failed');
    outcome = ec2Failure(err instanceof BodyTooLargeError || err instanceof BodyIncompleteError ? new AuthenticationError('IncompleteSignature', err.message) : err, requestId, deps.log);
  }
  await deps.auditor?.record({
    requestId,
    time,
    service: 'ec2',
    operation: outcome.operation,
    readOnly: outcome.readOnly,
    status: outcome.status,
    ...(call !== undefined ? { call } : {}),
    ...(outcome.error !== undefined ? { errorCode: outcome.error.code, errorMessage: outcome.error.message } : {}),
    ...(outcome.requestParameters !== undefined ? { requestParameters: outcome.requestParameters } : {}),
    ...(outcome.responseElements !== undefined ? { responseElements: outcome.responseElements } : {}),
    ...(req.headers['user-agent'] !== undefined ? { userAgent: req.headers['user-agent'] } : {}),
    ...(req.headers.host !== undefined ? { host: req.headers.host } : {}),
  });
  res.writeHead(outcome.status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(outcome.body), 'x-amzn-requestid': requestId, date: deps.clock.now().toUTCString() });
  res.end(outcome.body);
}

/**
 * Adapts the KMS calls another part makes on a caller's behalf (volumes, S3's SSE-KMS) to
 * audit records: KMS events whose userIdentity names the caller with invokedBy set from
 * the call's viaService (ec2.amazonaws.com, s3.amazonaws.com). Each record is appended
 * before the calling operation goes on.
 */
export function kmsCallAuditor(auditor: EdgeAuditor, clock: Clock): (event: VolumeKmsCall | S3KmsCall) => Promise<void> {
  return (e) =>
    auditor.record({
      requestId: randomUUID(),
      time: clock.now(),
      service: 'kms',
      operation: e.operation,
      readOnly: true,
      status: e.errorCode === undefined ? 200 : 400,
      call: e.call,
      keyIdentifier: e.keyIdentifier,
      requestParameters: e.requestParameters,
      ...(e.errorCode !== undefined ? { errorCode: e.errorCode, errorMessage: e.errorMessage ?? '' } : {}),
    });
}
