import type { Logger } from 'pino';
import type { AuditStore } from '../audit/index.js';
import { CLOUDTRAIL_MAX_BODY_BYTES, CLOUDTRAIL_TARGET_PREFIX, handleCloudTrailRequest, type CloudTrailOutcome, type DigestPublicKey } from '../audit/wire/index.js';
import { toKmsWireError, type CallContext } from '../kms/index.js';
import { isBodyError, sendJson, type SignedService } from './edge-service-call.js';

/**
 * What the CloudTrail operations need: the audit store's lookup (LookupEvents), the keys that
 * sign exported digest files (ListPublicKeys), and who may read them (`authorize`: undefined
 * when `call` may perform `action`, else the AccessDenied message).
 */
export interface CloudTrailLookup {
  readonly lookup: Pick<AuditStore, 'lookup'>;
  readonly publicKeys: () => Promise<readonly DigestPublicKey[]>;
  readonly authorize: (call: CallContext, action: string) => Promise<string | undefined>;
}

export { CLOUDTRAIL_TARGET_PREFIX };

type Outcome = CloudTrailOutcome & { cause?: unknown };

/**
 * CloudTrail JSON 1.1 on the edge (X-Amz-Target
 * `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.*`, credential scope `cloudtrail`):
 * LookupEvents on the store for callers allowed cloudtrail:LookupEvents and ListPublicKeys for
 * those allowed cloudtrail:ListPublicKeys (else AccessDeniedException), each audited as a
 * cloudtrail.amazonaws.com event, answered in JSON 1.1.
 * Authentication failures answer with the same codes as KMS (UnrecognizedClientException,
 * ...), an unreadable body ValidationException. Logs every 5xx with its cause; never throws.
 */
export function cloudTrailService(lookup: CloudTrailLookup, log: Logger, now: () => Date): SignedService<Outcome> {
  const deps = { store: lookup.lookup, publicKeys: lookup.publicKeys, now };
  return {
    service: 'cloudtrail',
    maxBodyBytes: CLOUDTRAIL_MAX_BODY_BYTES,
    auditsHost: true,
    async operate(body, call, requestId, target) {
      return logged(await handleCloudTrailRequest(deps, target, body, (action) => lookup.authorize(call, action)), requestId, log);
    },
    failure(err, requestId, target) {
      const operation = target.startsWith(CLOUDTRAIL_TARGET_PREFIX) ? target.slice(CLOUDTRAIL_TARGET_PREFIX.length) : target;
      // Authentication codes are shared by every JSON 1.1 service; KMS's table already maps them.
      const wire = isBodyError(err) ? { code: 'ValidationException', status: 400, message: err.message } : toKmsWireError(err);
      return logged({ status: wire.status, operation, readOnly: true, body: { __type: wire.code, message: wire.message }, error: wire, cause: err }, requestId, log);
    },
    send(res, outcome, requestId, now) {
      sendJson(res, outcome.status, outcome.body, requestId, now, outcome.error?.code);
    },
  };
}

function logged(outcome: Outcome, requestId: string, log: Logger): Outcome {
  if (outcome.status >= 500) log.error({ err: outcome.cause, requestId }, 'CloudTrail request failed');
  return outcome;
}
