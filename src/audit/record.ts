import { randomUUID } from 'node:crypto';
import type { JsonValue } from './canonical-json.js';

// The record is CloudTrail's own wire shape (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html),
// so its field spellings are AWS's: exported files must read as CloudTrail files to tools
// that parse them.

/** The CloudTrail record version we write. */
export const AUDIT_EVENT_VERSION = '1.09';

/** Services whose calls Cipherlake records, as CloudTrail names them. */
export type AuditEventSource =
  | 'kms.amazonaws.com'
  | 's3.amazonaws.com'
  | 'iam.amazonaws.com'
  | 'sts.amazonaws.com'
  | 'ec2.amazonaws.com'
  | 'cloudtrail.amazonaws.com';

/** A JSON object of request or response fields, already free of secrets (see `redactParameters`). */
export type AuditParameters = { [key: string]: JsonValue };

/** CloudTrail `userIdentity.sessionContext`. */
export interface AuditSessionContext {
  sessionIssuer?: { type: string; principalId: string; arn: string; accountId: string; userName?: string };
  attributes?: { creationDate: string; mfaAuthenticated: 'true' | 'false' };
  sourceIdentity?: string;
}

/** CloudTrail `userIdentity`. `type` is e.g. IAMUser, AssumedRole, Root, AWSService, Unknown (anonymous). */
export interface AuditUserIdentity {
  type: 'Root' | 'IAMUser' | 'AssumedRole' | 'FederatedUser' | 'AWSAccount' | 'AWSService' | 'Unknown';
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  sessionContext?: AuditSessionContext;
  invokedBy?: string;
}

/** One entry of CloudTrail `resources`. */
export interface AuditResource {
  ARN: string;
  type: string; // e.g. AWS::KMS::Key, AWS::S3::Bucket, AWS::S3::Object
  accountId?: string;
}

/** CloudTrail `tlsDetails`; absent on plain-HTTP listeners. */
export interface AuditTlsDetails {
  tlsVersion: string;
  cipherSuite: string;
  clientProvidedHostHeader: string;
}

/** One CloudTrail record: what the edge appends once per request, allowed or denied. */
export interface AuditEvent {
  eventVersion: string;
  userIdentity: AuditUserIdentity;
  eventTime: string; // ISO 8601 UTC, seconds precision: 2026-01-02T03:04:05Z
  eventSource: AuditEventSource;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: AuditParameters | null;
  responseElements: AuditParameters | null;
  additionalEventData?: AuditParameters;
  requestID: string;
  eventID: string;
  readOnly: boolean;
  resources?: AuditResource[];
  eventType: 'AwsApiCall' | 'AwsServiceEvent';
  managementEvent: boolean;
  recipientAccountId: string;
  eventCategory: 'Management' | 'Data';
  tlsDetails?: AuditTlsDetails;
  vpcEndpointId?: string;
}

/** What a caller must supply; `newAuditEvent` fills the rest. */
export type AuditEventInput = Omit<
  AuditEvent,
  'eventVersion' | 'eventID' | 'eventTime' | 'eventType' | 'managementEvent' | 'eventCategory' | 'recipientAccountId' | 'requestParameters' | 'responseElements'
> &
  Partial<Pick<AuditEvent, 'eventID' | 'eventType' | 'managementEvent' | 'recipientAccountId' | 'requestParameters' | 'responseElements'>> & {
    eventTime?: Date | string;
    eventCategory?: AuditEvent['eventCategory'];
  };

/**
 * Builds a complete record from the per-request facts: sets eventVersion, a fresh
 * eventID, eventTime (now unless given, formatted to seconds as CloudTrail does),
 * eventType AwsApiCall, eventCategory Management (so managementEvent true) unless told,
 * recipientAccountId from the caller's account. Never redacts: pass parameters through
 * `redactParameters` first (the sink double-checks).
 */
export function newAuditEvent(input: AuditEventInput): AuditEvent {
  const eventCategory = input.eventCategory ?? 'Management';
  const { eventTime, ...rest } = input;
  return {
    ...rest,
    eventVersion: AUDIT_EVENT_VERSION,
    eventID: input.eventID ?? randomUUID(),
    eventTime: formatEventTime(eventTime ?? new Date()),
    eventType: input.eventType ?? 'AwsApiCall',
    eventCategory,
    managementEvent: input.managementEvent ?? eventCategory === 'Management',
    recipientAccountId: input.recipientAccountId ?? input.userIdentity.accountId ?? '',
    requestParameters: input.requestParameters ?? null,
    responseElements: input.responseElements ?? null,
  };
}

/** Formats a time as CloudTrail's eventTime: UTC, whole seconds, `Z` suffix. */
export function formatEventTime(time: Date | string): string {
  const d = typeof time === 'string' ? new Date(time) : time;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What a trail can be told to record, after CloudTrail's management/data and read/write selectors. */
export type AuditLevel = 'management-read' | 'management-write' | 'data-read' | 'data-write';

/** Every level: the default, since the design says every call is audited. */
export const ALL_AUDIT_LEVELS: readonly AuditLevel[] = ['management-read', 'management-write', 'data-read', 'data-write'];

/** The level an event falls under; the edge asks `sink.enabled(level)` with it. */
export function auditLevelOf(event: Pick<AuditEvent, 'eventCategory' | 'readOnly'>): AuditLevel {
  const category = event.eventCategory === 'Data' ? 'data' : 'management';
  return `${category}-${event.readOnly ? 'read' : 'write'}`;
}

/**
 * Error codes that mean "not allowed" across our protocols, including authentication
 * failures (a bad signature or unknown key is someone knocking), for lookups that ask
 * for access-denied events only.
 */
export const ACCESS_DENIED_ERROR_CODES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'Client.UnauthorizedOperation',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'IncompleteSignature',
]);

/** True when the event records a refused call (see `ACCESS_DENIED_ERROR_CODES`). */
export function isAccessDenied(event: Pick<AuditEvent, 'errorCode'>): boolean {
  return event.errorCode !== undefined && ACCESS_DENIED_ERROR_CODES.has(event.errorCode);
}
