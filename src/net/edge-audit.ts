import type { Logger } from 'pino';
import { auditLevelOf, newAuditEvent, type AuditEvent, type AuditEventSource, type AuditParameters, type AuditSink, type AuditUserIdentity } from '../audit/index.js';
import type { Principal } from '../iam/principals.js';
import type { EdgeAuditor, EdgeEvent } from './edge-router.js';

const SOURCES: Record<EdgeEvent['service'], AuditEventSource> = {
  kms: 'kms.amazonaws.com',
  s3: 's3.amazonaws.com',
  iam: 'iam.amazonaws.com',
  sts: 'sts.amazonaws.com',
  ec2: 'ec2.amazonaws.com',
  cloudtrail: 'cloudtrail.amazonaws.com',
  unknown: 's3.amazonaws.com',
};

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Turns each edge event into a CloudTrail record and appends it to the audit sink; the
 * edge awaits this before answering, so every answered request has its durable record.
 * A failed append is logged and rethrown (the edge then answers an internal error rather
 * than acknowledge an unrecorded request).
 */
export class SinkEdgeAuditor implements EdgeAuditor {
  constructor(
    private readonly sink: AuditSink,
    private readonly settings: { region: string; accountId: string },
    private readonly log: Logger,
  ) {}

  async record(event: EdgeEvent): Promise<void> {
    const record = this.toRecord(event);
    if (!this.sink.enabled(auditLevelOf(record))) return;
    try {
      await this.sink.append(record);
    } catch (err) {
      this.log.error({ err, requestId: event.requestId }, 'audit append failed');
      throw err;
    }
  }

  /** The CloudTrail record for an edge event (exported for tests); parameters are not yet redacted: the sink does that. */
  toRecord(event: EdgeEvent): AuditEvent {
    const call = event.call;
    const resources = event.resources?.map((r) => ({ ARN: r.arn, type: r.type, accountId: this.settings.accountId })) ?? this.kmsResources(event);
    return newAuditEvent({
      eventTime: event.time,
      eventSource: SOURCES[event.service],
      eventName: event.operation || 'Unknown',
      awsRegion: this.settings.region,
      sourceIPAddress: call?.sourceIp ?? '',
      userAgent: event.userAgent ?? '',
      userIdentity: identityOf(call?.principal, call?.accessKeyId, call?.viaService),
      requestID: event.requestId,
      readOnly: event.readOnly,
      recipientAccountId: this.settings.accountId,
      ...(event.errorCode !== undefined ? { errorCode: event.errorCode, errorMessage: event.errorMessage ?? '' } : {}),
      // Not redacted here: every AuditSink drops denylisted fields and non-JSON values in its
      // one encoding walk (AuditSink contract), so a second walk here would only cost CPU.
      ...(event.requestParameters !== undefined ? { requestParameters: event.requestParameters as AuditParameters } : {}),
      ...(event.responseElements !== undefined ? { responseElements: event.responseElements as AuditParameters } : {}),
      ...(resources.length > 0 ? { resources } : {}),
      ...tlsOf(event),
    });
  }

  private kmsResources(event: EdgeEvent): Array<{ ARN: string; type: string; accountId: string }> {
    const id = event.keyIdentifier;
    if (event.service !== 'kms' || id === undefined) return [];
    const { region, accountId } = this.settings;
    const arn = id.startsWith('arn:') ? id : KEY_ID.test(id) ? `arn:aws:kms:${region}:${accountId}:key/${id}` : `arn:aws:kms:${region}:${accountId}:${id}`;
    return [{ ARN: arn, type: 'AWS::KMS::Key', accountId }];
  }
}

function identityOf(principal: Principal | undefined, accessKeyId: string | undefined, viaService: string | undefined): AuditUserIdentity {
  if (principal === undefined || principal.type === 'Anonymous') return { type: 'Unknown', ...(accessKeyId ? { accessKeyId } : {}) };
  return {
    type: principal.type,
    principalId: principal.principalId,
    arn: principal.arn,
    accountId: principal.accountId,
    ...(accessKeyId !== undefined ? { accessKeyId } : {}),
    ...(principal.userName !== undefined ? { userName: principal.userName } : {}),
    ...(viaService !== undefined ? { invokedBy: viaService } : {}),
  };
}

function tlsOf(event: EdgeEvent): Partial<Pick<AuditEvent, 'tlsDetails' | 'vpcEndpointId'>> {
  const call = event.call as (EdgeEvent['call'] & { tlsVersion?: string; cipherSuite?: string; vpcEndpointId?: string }) | undefined;
  return {
    ...(call?.tlsVersion !== undefined ? { tlsDetails: { tlsVersion: call.tlsVersion, cipherSuite: call.cipherSuite ?? '', clientProvidedHostHeader: event.host ?? '' } } : {}),
    ...(call?.vpcEndpointId !== undefined ? { vpcEndpointId: call.vpcEndpointId } : {}),
  };
}
