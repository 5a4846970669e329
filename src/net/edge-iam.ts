import type { Logger } from 'pino';
import { AuthenticationError, queryFailure, QUERY_MAX_BODY_BYTES, type QueryOutcome, type QueryService } from '../iam/index.js';
import type { CallContext } from '../kms/index.js';
import { isBodyError, sendXml, type SignedService } from './edge-service-call.js';

/** The IAM part as the edge sees it: serves authenticated IAM and STS Query requests. */
export interface IamEdgeHandler {
  handle(service: QueryService, body: string, rawQuery: string, call: CallContext, requestId: string): Promise<QueryOutcome>;
}

/**
 * IAM or STS Query on the edge (credential scope `iam` or `sts`): the IAM part, audited as
 * an iam/sts.amazonaws.com event, answered in the Query protocol's XML. An unreadable body
 * answers as an IncompleteSignature, as before the operation. The audit event carries the
 * Host header (tlsDetails.clientProvidedHostHeader, as for KMS, S3 and EC2).
 * Never throws for a client error.
 */
export function queryService(iam: IamEdgeHandler, service: QueryService, log: Logger): SignedService<QueryOutcome> {
  return {
    service,
    maxBodyBytes: QUERY_MAX_BODY_BYTES,
    auditsHost: true,
    operate: (body, call, requestId, _target, view) => iam.handle(service, body.toString('utf8'), view.rawQuery, call, requestId),
    failure: (err, requestId) => queryFailure(service, '', true, isBodyError(err) ? new AuthenticationError('IncompleteSignature', err.message) : err, requestId, log),
    send: (res, outcome, requestId, now) => sendXml(res, outcome.status, outcome.body, 'text/xml', requestId, now),
  };
}
