// CloudTrail LookupEvents (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html):
// the JSON 1.1 request fields parsed into a typed lookup, and the response built from records.
import type { AuditLookupQuery } from '../audit-store.js';
import type { AuditEvent } from '../record.js';
import { normalizeKeyReference } from '../record-index.js';
import { CloudTrailRequestError } from './errors.js';

/** A parsed LookupEvents request: the store query plus what the store cannot filter by. */
export interface LookupEventsRequest {
  readonly query: AuditLookupQuery;
  /** Filters applied to each record the store returns (attributes the store does not index). */
  readonly postFilter?: (event: AuditEvent) => boolean;
  readonly maxResults: number;
  /** Safe request fields for the LookupEvents call's own audit record. */
  readonly auditParameters: Record<string, string | number>;
}

/** The attribute keys CloudTrail documents for LookupAttributes. */
export const LOOKUP_ATTRIBUTE_KEYS = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'] as const;
type AttributeKey = (typeof LOOKUP_ATTRIBUTE_KEYS)[number];

const DEFAULT_MAX_RESULTS = 50;
const KEY_LIKE = /^(arn:[^:]+:kms:|alias\/|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$)/;

/**
 * Parses a LookupEvents body (already JSON-decoded). Raises CloudTrailRequestError with
 * CloudTrail's codes: more than one attribute or an unknown key (InvalidLookupAttributes),
 * StartTime after EndTime (InvalidTimeRange), MaxResults outside 1..50 (InvalidMaxResults),
 * an EventCategory other than `insight` (InvalidEventCategory); a member of the wrong JSON
 * type anywhere in the body (SerializationException, which wins over every constraint, as
 * the JSON 1.1 services deserialize before they validate). An explicit null is absent.
 */
export function parseLookupEvents(body: Record<string, unknown>): LookupEventsRequest {
  checkTypes(body);
  const maxResults = body['MaxResults'] === undefined || body['MaxResults'] === null ? DEFAULT_MAX_RESULTS : body['MaxResults'];
  if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < 1 || maxResults > 50) {
    throw new CloudTrailRequestError('InvalidMaxResultsException', 'MaxResults must be an integer from 1 to 50');
  }
  const start = timeOf(body['StartTime'], 'StartTime');
  const end = timeOf(body['EndTime'], 'EndTime');
  if (start !== undefined && end !== undefined && start > end) throw new CloudTrailRequestError('InvalidTimeRangeException', 'StartTime must be before EndTime');
  const category = body['EventCategory'] ?? undefined;
  if (category !== undefined && category !== 'insight') throw new CloudTrailRequestError('InvalidEventCategoryException', 'EventCategory must be insight');
  const attribute = attributeOf(body['LookupAttributes']);
  const token = body['NextToken'] ?? undefined;
  if (token !== undefined && typeof token !== 'string') throw new CloudTrailRequestError('InvalidNextTokenException', 'Invalid NextToken');
  const base: AuditLookupQuery = {
    ...(start !== undefined ? { startTime: start } : {}),
    ...(end !== undefined ? { endTime: end } : {}),
    ...(typeof token === 'string' ? { nextToken: token } : {}),
  };
  const auditParameters: Record<string, string | number> = { maxResults };
  if (start !== undefined) auditParameters['startTime'] = start.toISOString();
  if (end !== undefined) auditParameters['endTime'] = end.toISOString();
  if (attribute !== undefined) {
    auditParameters['attributeKey'] = attribute.key;
    auditParameters['attributeValue'] = attribute.value;
  }
  // Insight events are not recorded: a lookup for them matches nothing.
  if (category === 'insight') return { query: base, postFilter: () => false, maxResults, auditParameters };
  return { ...withAttribute(base, attribute), maxResults, auditParameters };
}

function withAttribute(base: AuditLookupQuery, a: { key: AttributeKey; value: string } | undefined): Pick<LookupEventsRequest, 'query' | 'postFilter'> {
  if (a === undefined) return { query: base };
  const v = a.value;
  switch (a.key) {
    case 'EventName':
      return { query: { ...base, eventName: v } };
    case 'EventSource':
      return { query: { ...base, eventSource: v } };
    case 'AccessKeyId':
      return { query: { ...base, principal: v }, postFilter: (e) => e.userIdentity.accessKeyId === v };
    case 'ResourceName':
      // A KMS key reference is indexed as a key term, anything else (a bucket) as a bucket term.
      return KEY_LIKE.test(v) ? { query: { ...base, keyId: normalizeKeyReference(v) } } : { query: { ...base, bucket: v } };
    case 'EventId':
      return { query: base, postFilter: (e) => e.eventID === v };
    case 'ReadOnly':
      return { query: base, postFilter: (e) => String(e.readOnly) === v };
    case 'Username':
      return { query: base, postFilter: (e) => usernameOf(e) === v };
    case 'ResourceType':
      return { query: base, postFilter: (e) => (e.resources ?? []).some((r) => r.type === v) };
    default: {
      const never: never = a.key;
      return never;
    }
  }
}

// The JSON 1.1 deserializer's words for a member of the wrong type, as the KMS wire answers
// them (ef05bfb; measured by emulators against Coral-based services, test/kms/wire-types.test.ts).
const START_OF_LIST = 'Start of list found where not expected';
const START_OF_MAP = 'Start of structure or map found where not expected.';

function serialization(message: string): CloudTrailRequestError {
  return new CloudTrailRequestError('SerializationException', message);
}

/** Raises SerializationException when `value` (null counts as absent) is not a scalar of `expected` type (ListPublicKeys too). */
export function checkScalar(value: unknown, expected: 'a String' | 'an Integer' | 'a Timestamp'): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) throw serialization(START_OF_LIST);
  if (typeof value === 'object') throw serialization(START_OF_MAP);
  const fits = expected === 'a String' ? typeof value === 'string' : expected === 'an Integer' ? typeof value === 'number' : typeof value === 'number' || typeof value === 'string';
  if (fits) return;
  const kind = value === true ? 'TRUE_VALUE' : value === false ? 'FALSE_VALUE' : typeof value === 'number' ? 'NUMBER_VALUE' : 'STRING_VALUE';
  throw serialization(`${kind} can not be converted to ${expected}`);
}

/**
 * The deserialization pass: every member LookupEvents models, checked for its JSON type
 * before any constraint, so a type error anywhere wins. Timestamps also take text (ISO,
 * which hand-written clients send); unknown members are ignored, as AWS ignores them.
 */
function checkTypes(body: Record<string, unknown>): void {
  checkScalar(body['MaxResults'], 'an Integer');
  checkScalar(body['StartTime'], 'a Timestamp');
  checkScalar(body['EndTime'], 'a Timestamp');
  checkScalar(body['EventCategory'], 'a String');
  checkScalar(body['NextToken'], 'a String');
  const list = body['LookupAttributes'];
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw serialization(typeof list === 'object' ? START_OF_MAP : 'Expected list or null');
  for (const item of list as unknown[]) {
    if (item === null) continue;
    if (typeof item !== 'object' || Array.isArray(item)) throw serialization(Array.isArray(item) ? START_OF_LIST : 'Expected null');
    checkScalar((item as Record<string, unknown>)['AttributeKey'], 'a String');
    checkScalar((item as Record<string, unknown>)['AttributeValue'], 'a String');
  }
}

function attributeOf(raw: unknown): { key: AttributeKey; value: string } | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw new CloudTrailRequestError('InvalidLookupAttributesException', 'LookupAttributes must be a list');
  // A null element is dropped, as the deserializer drops it from a list.
  const value = (raw as unknown[]).filter((item) => item !== null);
  if (value.length === 0) return undefined;
  if (value.length > 1) throw new CloudTrailRequestError('InvalidLookupAttributesException', 'You cannot specify more than one lookup attribute');
  const a = value[0] as { AttributeKey?: unknown; AttributeValue?: unknown } | undefined;
  const key = a?.AttributeKey;
  if (typeof key !== 'string' || !(LOOKUP_ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
    throw new CloudTrailRequestError('InvalidLookupAttributesException', `AttributeKey must be one of ${LOOKUP_ATTRIBUTE_KEYS.join(', ')}`);
  }
  const v = a?.AttributeValue;
  if (typeof v !== 'string' || v.length < 1 || v.length > 2000) {
    throw new CloudTrailRequestError('InvalidLookupAttributesException', 'AttributeValue must be 1 to 2000 characters');
  }
  return { key: key as AttributeKey, value: v };
}

export function timeOf(value: unknown, field: string): Date | undefined {
  if (value === undefined || value === null) return undefined;
  // JSON 1.1 timestamps are epoch seconds; tolerate ISO text as some hand-written clients send it.
  const date = typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new CloudTrailRequestError('InvalidTimeRangeException', `${field} is not a timestamp`);
  return date;
}

/** CloudTrail's Username of a record: the IAM user or role session name, `root` for the root user. */
function usernameOf(e: AuditEvent): string | undefined {
  if (e.userIdentity.userName !== undefined) return e.userIdentity.userName;
  if (e.userIdentity.type === 'Root') return 'root';
  const arn = e.userIdentity.arn;
  return e.userIdentity.type === 'AssumedRole' && arn !== undefined ? arn.slice(arn.lastIndexOf('/') + 1) : undefined;
}

/** One LookupEvents `Events` entry for a record; CloudTrailEvent is the record as JSON text. */
export function lookupEventEntry(e: AuditEvent): Record<string, unknown> {
  const username = usernameOf(e);
  return {
    EventId: e.eventID,
    EventName: e.eventName,
    ReadOnly: String(e.readOnly),
    ...(e.userIdentity.accessKeyId !== undefined ? { AccessKeyId: e.userIdentity.accessKeyId } : {}),
    EventTime: Date.parse(e.eventTime) / 1000,
    EventSource: e.eventSource,
    ...(username !== undefined ? { Username: username } : {}),
    Resources: (e.resources ?? []).map((r) => ({ ResourceType: r.type, ResourceName: r.ARN })),
    CloudTrailEvent: JSON.stringify(e),
  };
}
