import type { Logger } from 'pino';
import { AuthenticationError } from '../iam/index.js';
import { handleKmsRequest, KMS_MAX_BODY_BYTES, toKmsWireError, type KeyService, type KmsAuthorizer, type KmsOutcome } from '../kms/index.js';
import { isBodyError, sendJsonText, type SignedService } from './edge-service-call.js';

/**
 * KMS JSON 1.1 on the edge (X-Amz-Target `TrentService.*` or credential scope `kms`): the
 * KMS part, audited as a kms.amazonaws.com event naming the key, answered in JSON 1.1. An
 * unreadable body answers ValidationException. Logs every 5xx that is not an authentication
 * failure; never throws. The hot path: its methods allocate no closure and add no promise.
 */
export function kmsService(keys: KeyService, authorize: KmsAuthorizer, log: Logger): SignedService<KmsOutcome> {
  return {
    service: 'kms',
    maxBodyBytes: KMS_MAX_BODY_BYTES,
    auditsHost: true,
    operate(body, call, _requestId, target, _view, req) {
      return handleKmsRequest(keys, target, body, call, authorize, log, req.headers['content-type']);
    },
    failure(err, _requestId, target) {
      const wire = isBodyError(err) ? { code: 'ValidationException', status: 400, message: err.message } : toKmsWireError(err);
      if (!(err instanceof AuthenticationError) && wire.status >= 500) log.error({ err }, 'KMS request failed');
      return { status: wire.status, operation: target.replace(/^TrentService\./, ''), readOnly: true, body: { __type: wire.code, message: wire.message }, error: wire };
    },
    send(res, outcome, requestId, now) {
      const body = outcome.body;
      sendJsonText(res, outcome.status, typeof body === 'string' ? body : JSON.stringify(body), requestId, now, outcome.error?.code);
    },
  };
}
