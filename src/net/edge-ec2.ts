import type { Logger } from 'pino';
import { randomUuid } from '../crypto/index.js';
import { AuthenticationError } from '../iam/index.js';
import { cachedKeyMaterialId, type CallContext } from '../kms/index.js';
import { EC2_MAX_BODY_BYTES, ec2Failure, type Ec2Outcome, type VolumeKmsCall } from '../volumes/index.js';
import type { Clock } from '../common/clock.js';
import type { S3KmsCall } from '../s3/index.js';
import type { EdgeAuditor, EdgeEvent } from './edge-router.js';
import { isBodyError, sendXml, type SignedService } from './edge-service-call.js';

/** The volumes part as the edge sees it: serves authenticated EC2 Query requests. */
export interface Ec2EdgeHandler {
  handle(body: string, rawQuery: string, call: CallContext, requestId: string): Promise<Ec2Outcome>;
}

/**
 * EC2 Query on the edge (credential scope `ec2`): the volumes part, audited as an
 * ec2.amazonaws.com event, answered in EC2's XML. An unreadable body answers as an
 * IncompleteSignature, as before the operation. Never throws for a client error.
 */
export function ec2Service(ec2: Ec2EdgeHandler, log: Logger): SignedService<Ec2Outcome> {
  return {
    service: 'ec2',
    maxBodyBytes: EC2_MAX_BODY_BYTES,
    auditsHost: true,
    operate: (body, call, requestId, _target, view) => ec2.handle(body.toString('utf8'), view.rawQuery, call, requestId),
    failure: (err, requestId) => ec2Failure(isBodyError(err) ? new AuthenticationError('IncompleteSignature', err.message) : err, requestId, log),
    send: (res, outcome, requestId, now) => sendXml(res, outcome.status, outcome.body, 'text/xml;charset=UTF-8', requestId, now),
  };
}

/**
 * Adapts the KMS calls another part makes on a caller's behalf (volumes, S3's SSE-KMS) to
 * audit records: KMS events whose userIdentity names the caller with invokedBy set from
 * the call's viaService (ec2.amazonaws.com, s3.amazonaws.com). A successful call's record
 * carries additionalEventData.keyMaterialId, the material version it used, as the KMS API's
 * own records do; a failed one carries none. Each record is appended before the calling
 * operation goes on.
 */
export function kmsCallAuditor(auditor: EdgeAuditor, clock: Clock): (event: VolumeKmsCall | S3KmsCall) => Promise<void> {
  return (e) => {
    const event: Mutable<EdgeEvent> = {
      requestId: randomUuid(),
      time: clock.now(),
      service: 'kms',
      operation: e.operation,
      readOnly: true,
      status: e.errorCode === undefined ? 200 : 400,
      call: e.call,
      keyIdentifier: e.keyIdentifier,
      requestParameters: e.requestParameters,
    };
    if (e.errorCode !== undefined) {
      event.errorCode = e.errorCode;
      event.errorMessage = e.errorMessage ?? '';
    } else if (e.material !== undefined) {
      event.additionalEventData = materialEventData(cachedKeyMaterialId(e.material.keyId, e.material.version));
    }
    return auditor.record(event);
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// `{ keyMaterialId }` per material id, frozen: the audit encoder writes a frozen part once,
// not once per record, and a key's material repeats from call to call. Bounded: cleared when full.
const materialData = new Map<string, Readonly<{ keyMaterialId: string }>>();
const MAX_CACHED_MATERIALS = 1024;

function materialEventData(keyMaterialId: string): Readonly<{ keyMaterialId: string }> {
  let data = materialData.get(keyMaterialId);
  if (data === undefined) {
    data = Object.freeze({ keyMaterialId });
    if (materialData.size >= MAX_CACHED_MATERIALS) materialData.clear();
    materialData.set(keyMaterialId, data);
  }
  return data;
}
