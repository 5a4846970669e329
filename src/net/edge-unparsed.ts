import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthenticationError } from '../iam/index.js';
import type { EdgeDeps } from './edge-router.js';
import { edgeEvent, type ServiceOutcome, type SignedService } from './edge-service-call.js';

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
  const requestId = randomUUID();
  const time = deps.clock.now();
  if (err instanceof AuthenticationError) deps.log.info({ kind: err.kind, requestId }, 'authentication failed');
  const outcome = svc.failure(err, requestId, target);
  if (deps.auditor !== undefined) await deps.auditor.record(edgeEvent(requestId, time, svc.service, outcome, undefined, req, svc.auditsHost));
  svc.send(res, outcome, requestId, deps.clock.now());
}
