import { randomUuid } from '../crypto/random-pool.js';
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
  // Built field by field, never by spread/rest (this runs once per request on the edge),
  // and in canonical key order, so the encoder finds the keys already sorted. An optional
  // field is set only when the input has it: absent stays absent, as a spread left it.
  const e: Partial<AuditEvent> = {};
  if ('additionalEventData' in input) e.additionalEventData = input.additionalEventData as AuditParameters;
  e.awsRegion = input.awsRegion;
  if ('errorCode' in input) e.errorCode = input.errorCode as string;
  if ('errorMessage' in input) e.errorMessage = input.errorMessage as string;
  e.eventCategory = eventCategory;
  e.eventID = input.eventID ?? randomUuid();
  e.eventName = input.eventName;
  e.eventSource = input.eventSource;
  e.eventTime = formatEventTime(input.eventTime ?? new Date());
  e.eventType = input.eventType ?? 'AwsApiCall';
  e.eventVersion = AUDIT_EVENT_VERSION;
  e.managementEvent = input.managementEvent ?? eventCategory === 'Management';
  e.readOnly = input.readOnly;
  e.recipientAccountId = input.recipientAccountId ?? input.userIdentity.accountId ?? '';
  e.requestID = input.requestID;
  e.requestParameters = input.requestParameters ?? null;
  if ('resources' in input) e.resources = input.resources as AuditResource[];
  e.responseElements = input.responseElements ?? null;
  e.sourceIPAddress = input.sourceIPAddress;
  if ('tlsDetails' in input) e.tlsDetails = input.tlsDetails as AuditTlsDetails;
  e.userAgent = input.userAgent;
  e.userIdentity = input.userIdentity;
  if ('vpcEndpointId' in input) e.vpcEndpointId = input.vpcEndpointId as string;
  return e as AuditEvent;
}

// eventTime has whole-second precision, so consecutive events within one second share the
// string: one toISOString per second instead of a toISOString and a regex per event.
let lastEventSecond = NaN;
let lastEventTime = '';

/** Formats a time as CloudTrail's eventTime: UTC, whole seconds, `Z` suffix. Raises RangeError for an invalid date. */
export function formatEventTime(time: Date | string): string {
  const d = typeof time === 'string' ? new Date(time) : time;
  const ms = d.getTime();
  const second = Math.floor(ms / 1000);
  if (second === lastEventSecond) return lastEventTime;
  const iso = d.toISOString(); // throws RangeError for an invalid date, as before
  const formatted = `${iso.slice(0, -5)}Z`; // drop `.sss` of `…:ss.sssZ`
  lastEventSecond = second;
  lastEventTime = formatted;
  return formatted;
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
