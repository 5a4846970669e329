/**
 * What an IAM or STS call's audit record carries as CloudTrail's `requestParameters` and
 * `responseElements`, declared per action: adding an action is adding a row.
 *
 * Shapes follow CloudTrail's IAM and STS records (the IAM user guide's "Logging IAM and AWS
 * STS API calls with AWS CloudTrail" examples; CreateUser, CreateAccessKey and AssumeRole
 * records as published): request parameters under their lower-camel names (`userName`,
 * `policyArn`, `policyDocument` as the JSON text sent), only those the request carried;
 * `responseElements` only for a create, built field by field from the answer (`user`,
 * `role`, `policy`, `accessKey`; AssumeRole's `credentials` and `assumedRoleUser`), with
 * dates in CloudTrail's `Mar 24, 2014 9:11:59 PM` form (UTC). Reads, other writes, failures
 * and denials have none (null in the record).
 *
 * A secret (an access key's secret, a session's secret or token) is never read here: each
 * builder names the fields it copies, so a field added to an answer stays out of the record
 * until a row names it. Recorded names are this table's, never the caller's, and none is one
 * the lookup index reads as a KMS key or a bucket (`keyId`, `bucketName`, …: record-index.ts),
 * so an IAM record is never filed under a key or bucket it did not act on.
 */
import { echoed } from '../../common/bounded-echo.js';
import type { QueryParams, QueryService, XmlValue } from './query.js';

/** A JSON value of a record's parameters (what the audit encoder takes as plain JSON). */
export type AuditValue = string | number | boolean | null | readonly AuditValue[] | { readonly [name: string]: AuditValue };

/** A record's `requestParameters` or `responseElements` object. */
export type AuditFields = { [name: string]: AuditValue };

/**
 * How one Query parameter is recorded, under its name lower-camel-cased (`UserName` →
 * `userName`) unless `as` names it:
 * - a bare name, or kind `text`: the value as sent, at most MAX_TEXT_CHARS;
 * - `integer`: a number (the text, bounded, when it is not an integer: a failed call's);
 * - `boolean`: true/false (the text, bounded, for anything else);
 * - `document`: a policy document, the URL-decoded JSON text, at most MAX_DOCUMENT_CHARS;
 * - `tags`: the `Name.member.N.Key` / `.Value` list as `[{key, value}]`, members 1 to MAX_TAGS, each
 *   key and value at most IAM's tag limits (MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS): tags are sent
 *   by callers that need no permission to be recorded (a denied call keeps them);
 * - `strings`: the `Name.member.N` list as `[string]`, members 1 to MAX_LIST_MEMBERS, each at most
 *   MAX_LIST_MEMBER_CHARS (UntagUser's `TagKeys` → `tagKeys`, as CloudTrail records the removed keys).
 */
export type AuditParam = string | { readonly name: string; readonly kind: 'text' | 'integer' | 'boolean' | 'document' | 'tags' | 'strings'; readonly as?: string };

/** An action's answer (its `…Result` element's fields, as the route responded) → its responseElements. */
export type ResponseElementsBuilder = (result: Readonly<Record<string, XmlValue>>) => AuditFields | undefined;

/** One action's row: the parameters its record keeps and, for a create, what its answer records. */
export interface AuditRow {
  readonly params: readonly AuditParam[];
  readonly created?: ResponseElementsBuilder;
}

/** The longest text parameter recorded whole: an IAM ARN's limit (names are 64 or 128, descriptions 1000). */
export const MAX_TEXT_CHARS = 2048;
/** The longest policy document recorded whole: IAM's largest policy quota (a role's inline policies, 10,240). */
export const MAX_DOCUMENT_CHARS = 10_240;
/** The most tags recorded: IAM's per-entity limit. */
export const MAX_TAGS = 50;
/** The longest tag key and value recorded whole: IAM's tagKeyType and tagValueType limits (botocore's iam service-2.json). */
export const MAX_TAG_KEY_CHARS = 128;
export const MAX_TAG_VALUE_CHARS = 256;
/** The most members of a `strings` list recorded, and the longest recorded whole: IAM's tagKeyListType (50 keys of 128). */
export const MAX_LIST_MEMBERS = 50;
export const MAX_LIST_MEMBER_CHARS = 128;

const document = (name: string): AuditParam => ({ name, kind: 'document' });
const integer = (name: string): AuditParam => ({ name, kind: 'integer' });
const boolean = (name: string): AuditParam => ({ name, kind: 'boolean' });
const TAGS: AuditParam = { name: 'Tags', kind: 'tags' };
const TAG_KEYS: AuditParam = { name: 'TagKeys', kind: 'strings' };
const PAGE: readonly AuditParam[] = ['Marker', integer('MaxItems')];

/** The IAM actions' rows, by Action. An action without a row records neither (null, null). */
export const IAM_AUDIT_ROWS: Readonly<Record<string, AuditRow>> = {
  CreateUser: { params: ['Path', 'UserName', 'PermissionsBoundary', TAGS], created: (r) => entity(r, 'User', 'user', ['Path', 'UserName', 'UserId', 'Arn', 'CreateDate']) },
  GetUser: { params: ['UserName'] },
  ListUsers: { params: ['PathPrefix', ...PAGE] },
  DeleteUser: { params: ['UserName'] },
  CreateAccessKey: { params: ['UserName'], created: (r) => entity(r, 'AccessKey', 'accessKey', ['UserName', 'AccessKeyId', 'Status', 'CreateDate']) },
  ListAccessKeys: { params: ['UserName', ...PAGE] },
  UpdateAccessKey: { params: ['UserName', 'AccessKeyId', 'Status'] },
  DeleteAccessKey: { params: ['UserName', 'AccessKeyId'] },
  CreateRole: {
    params: ['Path', 'RoleName', document('AssumeRolePolicyDocument'), 'Description', integer('MaxSessionDuration'), 'PermissionsBoundary', TAGS],
    created: (r) => entity(r, 'Role', 'role', ['Path', 'RoleName', 'RoleId', 'Arn', 'CreateDate', 'Description', 'MaxSessionDuration']),
  },
  GetRole: { params: ['RoleName'] },
  ListRoles: { params: ['PathPrefix', ...PAGE] },
  DeleteRole: { params: ['RoleName'] },
  CreatePolicy: {
    params: ['PolicyName', 'Path', document('PolicyDocument'), 'Description', TAGS],
    created: (r) => entity(r, 'Policy', 'policy', ['PolicyName', 'PolicyId', 'Arn', 'Path', 'DefaultVersionId', 'AttachmentCount', 'IsAttachable', 'CreateDate', 'UpdateDate']),
  },
  GetPolicy: { params: ['PolicyArn'] },
  DeletePolicy: { params: ['PolicyArn'] },
  PutUserPolicy: { params: ['UserName', 'PolicyName', document('PolicyDocument')] },
  GetUserPolicy: { params: ['UserName', 'PolicyName'] },
  DeleteUserPolicy: { params: ['UserName', 'PolicyName'] },
  AttachUserPolicy: { params: ['UserName', 'PolicyArn'] },
  DetachUserPolicy: { params: ['UserName', 'PolicyArn'] },
  ListAttachedUserPolicies: { params: ['UserName', 'PathPrefix', ...PAGE] },
  PutRolePolicy: { params: ['RoleName', 'PolicyName', document('PolicyDocument')] },
  GetRolePolicy: { params: ['RoleName', 'PolicyName'] },
  DeleteRolePolicy: { params: ['RoleName', 'PolicyName'] },
  AttachRolePolicy: { params: ['RoleName', 'PolicyArn'] },
  DetachRolePolicy: { params: ['RoleName', 'PolicyArn'] },
  ListAttachedRolePolicies: { params: ['RoleName', 'PathPrefix', ...PAGE] },
  ListUserPolicies: { params: ['UserName', ...PAGE] },
  ListRolePolicies: { params: ['RoleName', ...PAGE] },
  UpdateAssumeRolePolicy: { params: ['RoleName', document('PolicyDocument')] },
  ListPolicies: { params: ['Scope', boolean('OnlyAttached'), 'PathPrefix', 'PolicyUsageFilter', ...PAGE] },
  CreatePolicyVersion: {
    params: ['PolicyArn', document('PolicyDocument'), boolean('SetAsDefault')],
    created: (r) => entity(r, 'PolicyVersion', 'policyVersion', ['VersionId', 'IsDefaultVersion', 'CreateDate']),
  },
  GetPolicyVersion: { params: ['PolicyArn', 'VersionId'] },
  ListPolicyVersions: { params: ['PolicyArn', ...PAGE] },
  DeletePolicyVersion: { params: ['PolicyArn', 'VersionId'] },
  SetDefaultPolicyVersion: { params: ['PolicyArn', 'VersionId'] },
  TagUser: { params: ['UserName', TAGS] },
  UntagUser: { params: ['UserName', TAG_KEYS] },
  ListUserTags: { params: ['UserName', ...PAGE] },
  TagRole: { params: ['RoleName', TAGS] },
  UntagRole: { params: ['RoleName', TAG_KEYS] },
  ListRoleTags: { params: ['RoleName', ...PAGE] },
};

/** The STS actions' rows, by Action. */
export const STS_AUDIT_ROWS: Readonly<Record<string, AuditRow>> = {
  // CloudTrail records GetCallerIdentity with null requestParameters and responseElements.
  GetCallerIdentity: { params: [] },
  AssumeRole: {
    params: ['RoleArn', 'RoleSessionName', integer('DurationSeconds'), 'ExternalId', 'SerialNumber', 'SourceIdentity'],
    created: assumedRoleElements,
  },
};

function rowOf(service: QueryService, operation: string): AuditRow | undefined {
  const table = service === 'iam' ? IAM_AUDIT_ROWS : STS_AUDIT_ROWS;
  return Object.hasOwn(table, operation) ? table[operation] : undefined;
}

/**
 * The `requestParameters` of a call to `operation` whose request parsed: the parameters its
 * row names that the request carried, recorded as the row says (bounded). Undefined (null
 * in the record) when the action has no row or the request carried none of them. Never
 * throws; never records a parameter its row does not name.
 */
export function iamRequestParameters(service: QueryService, operation: string, params: QueryParams): AuditFields | undefined {
  const row = rowOf(service, operation);
  if (row === undefined) return undefined;
  const out: AuditFields = {};
  let any = false;
  for (const p of row.params) {
    const spec = typeof p === 'string' ? { name: p, kind: 'text' as const } : p;
    const value = spec.kind === 'tags' ? tagsOf(params, spec.name) : spec.kind === 'strings' ? stringsOf(params, spec.name) : scalarOf(params.optional(spec.name), spec.kind);
    if (value === undefined) continue;
    out[spec.as ?? lowerCamel(spec.name)] = value;
    any = true;
  }
  return any ? out : undefined;
}

/**
 * The `responseElements` of a successful call to `operation` answering `result`: what its
 * row's builder picks (a create's entity, AssumeRole's key id and expiry), undefined (null
 * in the record) for an action without a builder or an answer without the element. Never
 * throws; never copies a field its builder does not name.
 */
export function iamResponseElements(service: QueryService, operation: string, result: Readonly<Record<string, XmlValue>> | undefined): AuditFields | undefined {
  const build = rowOf(service, operation)?.created;
  return build === undefined || result === undefined ? undefined : build(result);
}

/** `Name` → `name`, as CloudTrail spells Query parameters and answer fields. */
function lowerCamel(name: string): string {
  return `${name.charAt(0).toLowerCase()}${name.slice(1)}`;
}

function scalarOf(v: string | undefined, kind: 'text' | 'integer' | 'boolean' | 'document'): AuditValue | undefined {
  if (v === undefined) return undefined;
  switch (kind) {
    case 'text':
      return echoed(v, MAX_TEXT_CHARS);
    case 'document':
      return echoed(v, MAX_DOCUMENT_CHARS);
    case 'integer':
      return /^-?\d{1,15}$/.test(v) ? Number(v) : echoed(v, MAX_TEXT_CHARS);
    case 'boolean':
      return v === 'true' ? true : v === 'false' ? false : echoed(v, MAX_TEXT_CHARS);
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/** `Name.member.N.Key` / `.Value` for N = 1..MAX_TAGS, in member order, as `[{key, value}]`; undefined when none. */
function tagsOf(params: QueryParams, name: string): AuditValue[] | undefined {
  const tags: AuditValue[] = [];
  for (let n = 1; n <= MAX_TAGS; n++) {
    const key = params.optional(`${name}.member.${n}.Key`);
    const value = params.optional(`${name}.member.${n}.Value`);
    if (key === undefined && value === undefined) continue;
    const tag: AuditFields = {};
    if (key !== undefined) tag['key'] = echoed(key, MAX_TAG_KEY_CHARS);
    if (value !== undefined) tag['value'] = echoed(value, MAX_TAG_VALUE_CHARS);
    tags.push(tag);
  }
  return tags.length === 0 ? undefined : tags;
}

/** `Name.member.N` for N = 1..MAX_LIST_MEMBERS, in member order, each bounded; undefined when none. */
function stringsOf(params: QueryParams, name: string): AuditValue[] | undefined {
  const out: AuditValue[] = [];
  for (let n = 1; n <= MAX_LIST_MEMBERS; n++) {
    const v = params.optional(`${name}.member.${n}`);
    if (v !== undefined) out.push(echoed(v, MAX_LIST_MEMBER_CHARS));
  }
  return out.length === 0 ? undefined : out;
}

/** `{ [as]: { field: …, … } }` with the named fields of `result[element]` (lower-camel, dates in CloudTrail's form); undefined without the element. */
function entity(result: Readonly<Record<string, XmlValue>>, element: string, as: string, fields: readonly string[]): AuditFields | undefined {
  const picked = pick(result[element], fields);
  return picked === undefined ? undefined : { [as]: picked };
}

/** AssumeRole's record: the session's key id and expiry, and the assumed-role user; never the secret or the token. */
function assumedRoleElements(result: Readonly<Record<string, XmlValue>>): AuditFields | undefined {
  const credentials = pick(result['Credentials'], ['AccessKeyId', 'Expiration']);
  const assumedRoleUser = pick(result['AssumedRoleUser'], ['AssumedRoleId', 'Arn']);
  if (credentials === undefined || assumedRoleUser === undefined) return undefined;
  return { credentials, assumedRoleUser };
}

/** The named fields of an answer element, lower-camel-cased; only strings, numbers, booleans and dates; undefined when not an element. */
function pick(node: XmlValue, fields: readonly string[]): AuditFields | undefined {
  if (node === undefined || typeof node !== 'object' || node instanceof Date || Array.isArray(node)) return undefined;
  const element = node as Readonly<Record<string, XmlValue>>;
  const out: AuditFields = {};
  for (const f of fields) {
    const v = Object.hasOwn(element, f) ? element[f] : undefined;
    if (v instanceof Date) out[lowerCamel(f)] = cloudTrailDate(v);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[lowerCamel(f)] = v;
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/**
 * A date as CloudTrail writes IAM's and STS's response dates (`createDate`, `expiration`):
 * `Oct 22, 2024 3:21:35 PM`, in UTC. Never throws for a valid date.
 */
export function cloudTrailDate(d: Date): string {
  const hours = d.getUTCHours();
  const h12 = hours % 12 === 0 ? 12 : hours % 12;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()] ?? ''} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${h12}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}
