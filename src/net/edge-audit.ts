import type { Logger } from 'pino';
import {
  AUDIT_EVENT_VERSION,
  auditLevelOf,
  formatEventTime,
  type AuditEvent,
  type AuditEventSource,
  type AuditParameters,
  type AuditResource,
  type AuditSink,
  type AuditUserIdentity,
} from '../audit/index.js';
import { randomUuid } from '../crypto/index.js';
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

/**
 * S3 operations CloudTrail records as data events (object reads and writes, and the
 * listings of a bucket's objects, uploads and parts); every other S3 call (bucket
 * configuration, ListBuckets, HeadBucket) is a management event.
 */
const S3_DATA_OPERATIONS: ReadonlySet<string> = new Set([
  'ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'ListMultipartUploads', 'DeleteObjects',
]);

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CACHED_ARNS = 1024;
/** S3's limit on a bucket name's length. */
const MAX_BUCKET_NAME_LENGTH = 63;

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
    // A call a service made for the caller (invokedBy): CloudTrail shows the service's DNS name
    // as its source and agent ("For services in AWS, only the DNS name is displayed").
    const via = call?.viaService;
    const eventCategory = event.service === 's3' && (event.objectKey !== undefined || S3_DATA_OPERATIONS.has(event.operation)) ? 'Data' : 'Management';
    // The record itself, as newAuditEvent would complete it, in one literal of the members every
    // record has: V8 keeps a literal's members in the object, where members added one by one
    // (an input object, then the record) grew a property array several times per request.
    // The optional members follow; their order does not matter to the encoder, which reads a
    // record's members by name in canonical order (encodeAuditEvent).
    // Not redacted here: every AuditSink drops denylisted fields and non-JSON values in its
    // one encoding walk (AuditSink contract), so a second walk here would only cost CPU.
    const record: AuditEvent = {
      awsRegion: this.settings.region,
      eventCategory,
      eventID: randomUuid(),
      eventName: event.operation || 'Unknown',
      eventSource: SOURCES[event.service],
      eventTime: formatEventTime(event.time),
      eventType: 'AwsApiCall',
      eventVersion: AUDIT_EVENT_VERSION,
      managementEvent: eventCategory === 'Management',
      readOnly: event.readOnly,
      recipientAccountId: this.settings.accountId,
      requestID: event.requestId,
      requestParameters: (event.requestParameters as AuditParameters | undefined) ?? null,
      responseElements: (event.responseElements as AuditParameters | undefined) ?? null,
      sourceIPAddress: via ?? call?.sourceIp ?? '',
      userAgent: via ?? event.userAgent ?? '',
      userIdentity: this.userIdentityOf(call?.principal, call?.accessKeyId, via),
    };
    if (event.additionalEventData !== undefined) record.additionalEventData = event.additionalEventData as AuditParameters;
    if (event.errorCode !== undefined) {
      record.errorCode = event.errorCode;
      record.errorMessage = event.errorMessage ?? '';
    }
    const resources = event.resources !== undefined ? this.listedResources(event.resources) : event.service === 's3' ? this.s3Resources(event) : this.kmsResources(event);
    if (resources !== undefined) record.resources = resources;
    addTransport(record, event);
    return record;
  }

  private listedResources(listed: NonNullable<EdgeEvent['resources']>): AuditResource[] | undefined {
    if (listed.length === 0) return undefined;
    const accountId = this.settings.accountId;
    return listed.map((r) => ({ ARN: r.arn, accountId, type: r.type }));
  }

  /**
   * A KMS record's resources: the key. Frozen and kept per identifier (see kmsArnOf), so the
   * audit encoder writes the list once per key, not once per record (frozen parts).
   */
  private kmsResources(event: EdgeEvent): AuditResource[] | undefined {
    const id = event.keyIdentifier;
    if (event.service !== 'kms' || id === undefined) return undefined;
    let resources = this.kmsKeyResources.get(id);
    if (resources === undefined) {
      const accountId = this.settings.accountId;
      resources = Object.freeze([Object.freeze({ ARN: this.kmsArnOf(id), accountId, type: 'AWS::KMS::Key' })]) as AuditResource[];
      if (this.kmsKeyResources.size >= MAX_CACHED_ARNS) this.kmsKeyResources.clear();
      this.kmsKeyResources.set(id, resources);
    }
    return resources;
  }

  private readonly kmsKeyResources = new Map<string, AuditResource[]>();

  /**
   * CloudTrail's S3 resources: for an object request the object (no accountId, as S3
   * records it) then its bucket; for a bucket request the bucket; none for ListBuckets.
   */
  private s3Resources(event: EdgeEvent): AuditResource[] | undefined {
    const bucket = event.bucket;
    if (bucket === undefined || bucket === '') return undefined;
    const bucketResource = this.s3BucketResourceOf(bucket);
    if (event.objectKey === undefined) return [bucketResource];
    return [{ ARN: `${bucketResource.ARN}/${event.objectKey}`, type: 'AWS::S3::Object' }, bucketResource];
  }

  // The bucket's resource per bucket name, frozen (the encoder writes it once per bucket):
  // requests repeat a few buckets. Bounded in count and in length: names are the caller's (a
  // path-style one can be most of the request line), and no longer name can be a bucket, so
  // such a request's resource is built but not kept.
  private readonly bucketResources = new Map<string, AuditResource>();

  private s3BucketResourceOf(bucket: string): AuditResource {
    let resource = this.bucketResources.get(bucket);
    if (resource === undefined) {
      // Keys in canonical order (ARN, accountId, type): the encoder then skips sorting them.
      resource = Object.freeze({ ARN: `arn:aws:s3:::${bucket}`, accountId: this.settings.accountId, type: 'AWS::S3::Bucket' });
      if (bucket.length > MAX_BUCKET_NAME_LENGTH) return resource;
      if (this.bucketResources.size >= MAX_CACHED_ARNS) this.bucketResources.clear();
      this.bucketResources.set(bucket, resource);
    }
    return resource;
  }

  // userIdentity per caller, frozen (the encoder writes it once per caller): by principal ARN,
  // the few variants of one caller (access key, service acting for it) side by side. An entry
  // is used only when every field it records equals the request's, so a principal whose
  // account, id, type or name changed gets a fresh one. Bounded: cleared when full.
  private readonly identities = new Map<string, AuditUserIdentity[]>();

  private userIdentityOf(principal: Principal | undefined, accessKeyId: string | undefined, viaService: string | undefined): AuditUserIdentity {
    if (principal === undefined || principal.type === 'Anonymous') return accessKeyId ? { accessKeyId, type: 'Unknown' } : UNKNOWN_IDENTITY;
    const known = this.identities.get(principal.arn);
    if (known !== undefined) {
      for (const identity of known) if (sameIdentity(identity, principal, accessKeyId, viaService)) return identity;
    }
    const identity = Object.freeze(identityOf(principal, accessKeyId, viaService));
    if (known !== undefined && known.length < MAX_IDENTITY_VARIANTS) known.push(identity);
    else {
      if (this.identities.size >= MAX_CACHED_ARNS) this.identities.clear();
      this.identities.set(principal.arn, [identity]);
    }
    return identity;
  }

  // Key ARN per identifier: the bench and real clients repeat the same few keys, so the
  // regex test and the concatenation run once per identifier. Bounded: identifiers are the caller's.
  private readonly arns = new Map<string, string>();

  private kmsArnOf(id: string): string {
    let arn = this.arns.get(id);
    if (arn === undefined) {
      const { region, accountId } = this.settings;
      arn = id.startsWith('arn:') ? id : KEY_ID.test(id) ? `arn:aws:kms:${region}:${accountId}:key/${id}` : `arn:aws:kms:${region}:${accountId}:${id}`;
      if (this.arns.size >= MAX_CACHED_ARNS) this.arns.clear();
      this.arns.set(id, arn);
    }
    return arn;
  }
}

/** The userIdentity of a request without a principal or access key: one frozen object (see identityOf). */
const UNKNOWN_IDENTITY: AuditUserIdentity = Object.freeze({ type: 'Unknown' });

/** Variants of one principal's userIdentity kept (access key × service acting for it). */
const MAX_IDENTITY_VARIANTS = 8;

/** Whether `identity` is exactly what identityOf builds for these (every field it can record). */
function sameIdentity(identity: AuditUserIdentity, principal: Principal, accessKeyId: string | undefined, viaService: string | undefined): boolean {
  return (
    identity.accessKeyId === accessKeyId &&
    identity.invokedBy === viaService &&
    identity.arn === principal.arn &&
    identity.accountId === principal.accountId &&
    identity.principalId === principal.principalId &&
    identity.type === principal.type &&
    identity.userName === principal.userName
  );
}

// Keys assigned in canonical (sorted) order: the audit encoder then skips sorting them.
function identityOf(principal: Principal | undefined, accessKeyId: string | undefined, viaService: string | undefined): AuditUserIdentity {
  if (principal === undefined || principal.type === 'Anonymous') return accessKeyId ? { accessKeyId, type: 'Unknown' } : { type: 'Unknown' };
  const identity: Partial<AuditUserIdentity> = {};
  if (accessKeyId !== undefined) identity.accessKeyId = accessKeyId;
  identity.accountId = principal.accountId;
  identity.arn = principal.arn;
  if (viaService !== undefined) identity.invokedBy = viaService;
  identity.principalId = principal.principalId;
  identity.type = principal.type;
  if (principal.userName !== undefined) identity.userName = principal.userName;
  return identity as AuditUserIdentity;
}

function addTransport(record: AuditEvent, event: EdgeEvent): void {
  const call = event.call as (EdgeEvent['call'] & { tlsVersion?: string; cipherSuite?: string; vpcEndpointId?: string }) | undefined;
  if (call === undefined) return;
  if (call.tlsVersion !== undefined) record.tlsDetails = { tlsVersion: call.tlsVersion, cipherSuite: call.cipherSuite ?? '', clientProvidedHostHeader: event.host ?? '' };
  if (call.vpcEndpointId !== undefined) record.vpcEndpointId = call.vpcEndpointId;
}
