import { ACCESS_DENIED_ERROR_CODES } from './record.js';
import type { AuditEvent } from './record.js';

/** What a lookup can search by besides the plain columns. */
export type AuditTermKind = 'key' | 'bucket' | 'principal';

/**
 * One searchable value of a record. A `bucket` term is a resource name as LookupEvents'
 * ResourceName searches it: an S3 bucket's, and also (see NAMED_RESOURCE_TYPES) a volume's,
 * snapshot's, IAM user's or role's ARN and short name, a managed policy's ARN, an access key's id.
 */
export interface AuditTerm {
  kind: AuditTermKind;
  value: string;
}

const KEY_PARAMS = new Set(['keyid', 'targetkeyid', 'sourcekeyid', 'destinationkeyid', 'aliasname', 'ssekmskeyid', 'kmskeyid', 'xamzserversideencryptionawskmskeyid']);
const KMS_ARN = /^arn:[^:]+:kms:[^:]*:[^:]*:((key|alias)\/.+)$/;
const S3_ARN = /^arn:[^:]+:s3:::([^/]+)/;

/**
 * The most specific form of a key reference: a key ARN becomes its key id, an alias ARN
 * becomes `alias/name`, anything else is returned unchanged. Records are indexed and
 * queries are matched in this form, so a key id finds calls that named the key by ARN.
 */
export function normalizeKeyReference(ref: string): string {
  let normal = KEY_REFERENCES.get(ref);
  if (normal === undefined) {
    const m = KMS_ARN.exec(ref);
    normal = !m?.[1] ? ref : m[2] === 'key' ? m[1].slice('key/'.length) : m[1];
    if (ref.length <= CACHED_LENGTH_LIMIT) {
      if (KEY_REFERENCES.size >= CACHE_LIMIT) KEY_REFERENCES.clear();
      KEY_REFERENCES.set(ref, normal);
    }
  }
  return normal;
}

// Reference → its normal form, and resource ARN → its term: every audited KMS call names its
// key (usually the same few) in its parameters and resources, and the regex ran for each.
// Bounded in count and in length: the strings are the callers' (a KMS request's parameters
// are audited before they are validated, so a KeyId can be most of a 128 KiB body), and a
// real key or alias ARN, or an S3 object ARN, is far shorter than the length limit.
const CACHE_LIMIT = 4096;
const CACHED_LENGTH_LIMIT = 2048;
const KEY_REFERENCES = new Map<string, string>();
const RESOURCE_TERMS = new Map<string, AuditTerm | null>();

const S3_ARN_PREFIX = 'arn:aws:s3:::';

/**
 * The resource types (EC2, IAM, STS records) whose listed ARN, and the name after its last
 * `/` (vol-…, snap-…, a user's or role's name), are resource-name terms. Keyed by type, not by
 * ARN shape: records from before these types were listed carry none of them, so their
 * recomputed index is unchanged. A policy is named by its ARN only, an access key by its id
 * (its listed "ARN").
 */
const NAMED_RESOURCE_TYPES: ReadonlyMap<string, boolean> = new Map([
  ['AWS::EC2::Volume', true],
  ['AWS::EC2::Snapshot', true],
  ['AWS::EC2::Instance', true],
  ['AWS::IAM::User', true],
  ['AWS::IAM::Role', true],
  ['AWS::IAM::Policy', false],
  ['AWS::IAM::AccessKey', false],
]);

/** The key or bucket term of a resource ARN, or null for other ARNs; cached (see above). */
function resourceTerm(arn: string): AuditTerm | null {
  // S3 ARNs (every S3 request's resources) without the cache: object ARNs are mostly distinct,
  // so caching them would only churn it (and clear the KMS ARNs with them). Same as S3_ARN.
  if (arn.startsWith(S3_ARN_PREFIX)) {
    const slash = arn.indexOf('/', S3_ARN_PREFIX.length);
    const bucket = slash < 0 ? arn.slice(S3_ARN_PREFIX.length) : arn.slice(S3_ARN_PREFIX.length, slash);
    return bucket === '' ? null : { kind: 'bucket', value: bucket };
  }
  let term = RESOURCE_TERMS.get(arn);
  if (term === undefined) {
    if (arn.startsWith('arn:') && KMS_ARN.test(arn)) term = { kind: 'key', value: normalizeKeyReference(arn) };
    else if (S3_ARN.test(arn)) term = { kind: 'bucket', value: normalizeBucketReference(arn) };
    else term = null;
    if (arn.length <= CACHED_LENGTH_LIMIT) {
      if (RESOURCE_TERMS.size >= CACHE_LIMIT) RESOURCE_TERMS.clear();
      RESOURCE_TERMS.set(arn, term);
    }
  }
  return term;
}

/** Bucket name from an S3 bucket or object ARN, or the input when it is not one. */
export function normalizeBucketReference(ref: string): string {
  return S3_ARN.exec(ref)?.[1] ?? ref;
}

/** The lookup columns and search terms of one record, all derived from its event. */
export interface AuditRecordIndex {
  eventTime: string;
  /** eventTime in ms since the epoch; 0 when unreadable. */
  eventMs: number;
  eventName: string;
  eventSource: string;
  errorCode: string | null;
  accessDenied: boolean;
  terms: AuditTerm[];
}

/**
 * The columns and terms a store indexes a record by. Pure; reads only plain-JSON parts of
 * the event (what survives sanitising), so the result is the same for an event and for the
 * parse of its stored canonical JSON — which is what verification recomputes.
 */
export function recordIndexOf(event: AuditEvent): AuditRecordIndex {
  const raw: unknown = event.eventTime;
  // A Date is stored as its ISO string (the sanitiser's rule), so index it the same way.
  const time = typeof raw === 'string' ? raw : raw instanceof Date && !Number.isNaN(raw.getTime()) ? raw.toISOString() : '';
  const ms = eventMsOf(time);
  const errorCode = typeof event.errorCode === 'string' ? event.errorCode : null;
  return {
    eventTime: time,
    eventMs: Number.isFinite(ms) ? ms : 0,
    eventName: String(event.eventName),
    eventSource: String(event.eventSource),
    errorCode,
    accessDenied: errorCode !== null && ACCESS_DENIED_ERROR_CODES.has(errorCode),
    terms: indexTermsOf(event),
  };
}

// eventTime has whole seconds, so consecutive records share it: parse once per distinct string.
let lastTime = '';
let lastMs = Date.parse('');

function eventMsOf(time: string): number {
  if (time !== lastTime) {
    lastMs = Date.parse(time);
    lastTime = time;
  }
  return lastMs;
}

// Parameter name → whether it names a key / a bucket; names repeat, so normalise once each.
const PARAM_KIND = new Map<string, AuditTermKind | null>();

function paramKind(name: string): AuditTermKind | null {
  let kind = PARAM_KIND.get(name);
  if (kind === undefined) {
    const n = name.toLowerCase().replace(/[-_]/g, '');
    kind = KEY_PARAMS.has(n) ? 'key' : n === 'bucketname' ? 'bucket' : null;
    // Names are the caller's too (see CACHED_LENGTH_LIMIT); the ones that matter are short.
    if (PARAM_KIND.size < CACHE_LIMIT && name.length <= 64) PARAM_KIND.set(name, kind);
  }
  return kind;
}

/**
 * True when a requestParameters field of this name gives its record a key or bucket lookup
 * term (see indexTermsOf): for writers whose parameter names are the caller's own (an S3
 * query), so that a caller cannot file its record under a key or bucket it never named.
 */
export function isTermParameterName(name: string): boolean {
  return paramKind(name) !== null;
}

/**
 * The key, bucket and principal terms of an event, deduplicated and sorted, taken from
 * userIdentity, resources, requestParameters (top level) and responseElements.keyMetadata.
 * Only plain objects and arrays are descended into. Pure; never throws on odd shapes.
 */
export function indexTermsOf(event: AuditEvent): AuditTerm[] {
  // Plain loops and a module-level helper, no closure per call: this runs for every audited
  // request, and a closure per call also costs a name-defining helper under tsx.
  const terms: AuditTerm[] = [];
  const id = plain(event.userIdentity);
  if (id) {
    addTerm(terms, 'principal', id['arn']);
    addTerm(terms, 'principal', id['accessKeyId']);
    addTerm(terms, 'principal', id['principalId']);
    addTerm(terms, 'principal', plain(plain(id['sessionContext'])?.['sessionIssuer'])?.['arn']);
  }
  const params = plain(event.requestParameters);
  if (params) {
    for (const name in params) {
      const v = params[name];
      if (typeof v !== 'string' || !Object.hasOwn(params, name)) continue;
      const kind = paramKind(name);
      if (kind === 'key') addTerm(terms, 'key', normalizeKeyReference(v));
      else if (kind === 'bucket') addTerm(terms, 'bucket', v);
    }
  }
  if (Array.isArray(event.resources)) {
    for (const r of event.resources as unknown[]) {
      const resource = plain(r);
      const arn = resource?.['ARN'];
      if (typeof arn !== 'string') continue;
      const term = resourceTerm(arn);
      if (term !== null) addTerm(terms, term.kind, term.value);
      else addNamedResourceTerms(terms, arn, resource?.['type']);
    }
  }
  addTerm(terms, 'key', plain(plain(event.responseElements)?.['keyMetadata'])?.['keyId']);
  return sortTerms(terms);
}

/**
 * `terms` sorted by compareTerms, in place. A record has a handful of terms, which an
 * insertion sort orders with fewer calls than Array.prototype.sort's setup costs; the terms
 * are distinct (addTerm), so the order is the same whichever sort runs.
 */
function sortTerms(terms: AuditTerm[]): AuditTerm[] {
  if (terms.length > 16) return terms.sort(compareTerms);
  for (let i = 1; i < terms.length; i++) {
    const t = terms[i] as AuditTerm;
    let j = i - 1;
    for (; j >= 0 && compareTerms(terms[j] as AuditTerm, t) > 0; j--) terms[j + 1] = terms[j] as AuditTerm;
    terms[j + 1] = t;
  }
  return terms;
}

/** The resource-name terms of an EC2 or IAM resource (NAMED_RESOURCE_TYPES); none for other types. */
function addNamedResourceTerms(terms: AuditTerm[], arn: string, type: unknown): void {
  const byShortName = typeof type === 'string' ? NAMED_RESOURCE_TYPES.get(type) : undefined;
  if (byShortName === undefined) return;
  addTerm(terms, 'bucket', arn);
  if (byShortName) addTerm(terms, 'bucket', arn.slice(arn.lastIndexOf('/') + 1));
}

/** Adds a non-empty string term unless present (records carry a handful, so a scan beats a Set). */
function addTerm(terms: AuditTerm[], kind: AuditTermKind, value: unknown): void {
  if (typeof value !== 'string' || value === '') return;
  for (const t of terms) if (t.kind === kind && t.value === value) return;
  terms.push({ kind, value });
}

// Same order as comparing kind + value (no kind is a prefix of another), without building strings.
function compareTerms(a: AuditTerm, b: AuditTerm): number {
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  return a.value < b.value ? -1 : 1;
}

function plain(v: unknown): Record<string, unknown> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null ? (v as Record<string, unknown>) : undefined;
}
