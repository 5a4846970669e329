import type { AuditEvent } from './record.js';
import { recordIndexOf, type AuditRecordIndex } from './record-index.js';
import { quoteJsonString as quote } from './canonical-json.js';
import { isRedactedFieldName } from './redact.js';

/**
 * An event ready for the chain: its sanitised canonical JSON, its id, and the lookup
 * columns and terms derived from it. This is what crosses from a cluster worker to the
 * trail's owner, so it is plain JSON.
 */
export interface EncodedAuditEvent {
  json: string;
  eventID: string;
  index: AuditRecordIndex;
}

/** An encoded event plus the paths (never the values) the sanitiser dropped. */
export interface EncodedWithRedactions extends EncodedAuditEvent {
  dropped: string[];
}

/**
 * Sanitises and canonicalises an event in one walk: exactly
 * `canonicalJson(sanitizeEvent(event).value)` (the same denylist, the same drops of
 * non-JSON values, Dates as ISO strings, -0 as 0), without building the sanitised copy.
 * Index columns and terms are read from the event's plain-JSON parts only, so they agree
 * with what a later parse of `json` yields. Never throws on odd values; never logs a value.
 */
export function encodeAuditEvent(event: AuditEvent): EncodedWithRedactions {
  const dropped: string[] = [];
  const json = encodeRecordMembers(event, dropped) ?? encodeObject(event as unknown as Record<string, unknown>, '$', dropped);
  return { json, eventID: String(event.eventID), index: recordIndexOf(event), dropped };
}

/**
 * The record's own members (AuditEvent's fields), read by name in canonical order, when the
 * event is a plain object with no other own key; else undefined, and the caller walks it.
 * The same text as encodeObject's walk (each member is encoded by the same code) whatever
 * order the members were added in, without a name lookup, a keyed load and an order check
 * per member (a record has about twenty), and without sorting a record whose optional
 * members were added after the others (the edge builds its records so: SinkEdgeAuditor).
 * Own keys are counted against the members found: a member present as undefined, which
 * both skip, makes the counts differ too, so the walk decides then. What the members above
 * reported dropped is then reported again by the walk, so it is forgotten first.
 */
function encodeRecordMembers(event: AuditEvent, dropped: string[]): string | undefined {
  if (Object.getPrototypeOf(event) !== Object.prototype) return undefined;
  const e = event as Partial<AuditEvent>;
  let members = 0;
  let out = '{';
  let v: unknown;
  if ((v = e.additionalEventData) !== undefined) (out = member(out, R.additionalEventData, v, 'additionalEventData', dropped)), members++;
  if ((v = e.awsRegion) !== undefined) (out = member(out, R.awsRegion, v, 'awsRegion', dropped)), members++;
  if ((v = e.errorCode) !== undefined) (out = member(out, R.errorCode, v, 'errorCode', dropped)), members++;
  if ((v = e.errorMessage) !== undefined) (out = member(out, R.errorMessage, v, 'errorMessage', dropped)), members++;
  if ((v = e.eventCategory) !== undefined) (out = member(out, R.eventCategory, v, 'eventCategory', dropped)), members++;
  if ((v = e.eventID) !== undefined) (out = member(out, R.eventID, v, 'eventID', dropped)), members++;
  if ((v = e.eventName) !== undefined) (out = member(out, R.eventName, v, 'eventName', dropped)), members++;
  if ((v = e.eventSource) !== undefined) (out = member(out, R.eventSource, v, 'eventSource', dropped)), members++;
  if ((v = e.eventTime) !== undefined) (out = member(out, R.eventTime, v, 'eventTime', dropped)), members++;
  if ((v = e.eventType) !== undefined) (out = member(out, R.eventType, v, 'eventType', dropped)), members++;
  if ((v = e.eventVersion) !== undefined) (out = member(out, R.eventVersion, v, 'eventVersion', dropped)), members++;
  if ((v = e.managementEvent) !== undefined) (out = member(out, R.managementEvent, v, 'managementEvent', dropped)), members++;
  if ((v = e.readOnly) !== undefined) (out = member(out, R.readOnly, v, 'readOnly', dropped)), members++;
  if ((v = e.recipientAccountId) !== undefined) (out = member(out, R.recipientAccountId, v, 'recipientAccountId', dropped)), members++;
  if ((v = e.requestID) !== undefined) (out = member(out, R.requestID, v, 'requestID', dropped)), members++;
  if ((v = e.requestParameters) !== undefined) (out = member(out, R.requestParameters, v, 'requestParameters', dropped)), members++;
  if ((v = e.resources) !== undefined) (out = member(out, R.resources, v, 'resources', dropped)), members++;
  if ((v = e.responseElements) !== undefined) (out = member(out, R.responseElements, v, 'responseElements', dropped)), members++;
  if ((v = e.sourceIPAddress) !== undefined) (out = member(out, R.sourceIPAddress, v, 'sourceIPAddress', dropped)), members++;
  if ((v = e.tlsDetails) !== undefined) (out = member(out, R.tlsDetails, v, 'tlsDetails', dropped)), members++;
  if ((v = e.userAgent) !== undefined) (out = member(out, R.userAgent, v, 'userAgent', dropped)), members++;
  if ((v = e.userIdentity) !== undefined) (out = member(out, R.userIdentity, v, 'userIdentity', dropped)), members++;
  if ((v = e.vpcEndpointId) !== undefined) (out = member(out, R.vpcEndpointId, v, 'vpcEndpointId', dropped)), members++;
  if (Object.keys(e).length !== members) {
    dropped.length = 0;
    return undefined;
  }
  return `${out}}`;
}

/** `out` with the member `name: v` appended as encodeObject appends it (nothing when v is dropped). */
function member(out: string, field: FieldEncoding, v: unknown, name: string, dropped: string[]): string {
  const first = out.length === 1;
  if (typeof v === 'string') return out + encodeStringField(field, v, !first);
  const encoded = encodeValue(v, '$', name, dropped);
  if (encoded === undefined) return out;
  return out + (first ? field.prefix : field.commaPrefix) + encoded;
}

/**
 * A field name's encoding: its `"name":` prefix, and the string values it was last seen
 * repeating with, encoded (`"name":"value"`). Most string fields repeat their value from
 * record to record (region, source, account, caller, key ARN), or alternate between a few
 * (eventName and eventSource of an S3 PUT's two records, a resource's type), so the escape
 * check and the concatenations are skipped for them. A value is kept on its second sighting
 * (in `seen` until then), not its first: ids, object keys and ARNs that change with every
 * record would otherwise cost two flat copies each that are never used again.
 */
interface FieldEncoding {
  readonly prefix: string;
  /** `,"name":`: the prefix of a member that follows another. */
  readonly commaPrefix: string;
  /** Values kept (KEPT_VALUES slots, replaced in turn), and their encodings at the same index. */
  readonly values: (string | undefined)[];
  readonly encoded: string[];
  /** `,"name":"value"` for values[i]. */
  readonly encodedAfterComma: string[];
  nextValue: number;
  /** The last SEEN_VALUES values seen once and not kept (replaced in turn). */
  readonly seen: (string | undefined)[];
  nextSeen: number;
}

// Four of each: an S3 PUT's two records alternate a few fields, and a mixed load cycles
// eventName and eventSource among a few more. What a field can pin is bounded: values of at
// most 256 units, with names of at most 256, for at most NAME_CACHE_LIMIT names, about 6 KB
// per name in the worst case (25 MB for 4096 names of the caller's; ~5 MB with one value kept).
const KEPT_VALUES = 4;
const SEEN_VALUES = 4;

// Field name → its encoding, or null when the name is denylisted. Names repeat from record
// to record (the CloudTrail shape), so this saves the normalisation and the quoting on
// nearly every field; capped because encryption-context keys are the caller's.
const NAME_CACHE = new Map<string, FieldEncoding | null>();
const NAME_CACHE_LIMIT = 4096;
const NAME_LENGTH_LIMIT = 256;

function fieldEncoding(name: string): FieldEncoding | null {
  const cached = NAME_CACHE.get(name);
  if (cached !== undefined) return cached;
  const prefix = `${JSON.stringify(name)}:`;
  const field: FieldEncoding | null = isRedactedFieldName(name)
    ? null
    : {
        prefix: flat(prefix),
        commaPrefix: flat(`,${prefix}`),
        values: new Array<string | undefined>(KEPT_VALUES).fill(undefined),
        encoded: new Array<string>(KEPT_VALUES).fill(''),
        encodedAfterComma: new Array<string>(KEPT_VALUES).fill(''),
        nextValue: 0,
        seen: new Array<string | undefined>(SEEN_VALUES).fill(undefined),
        nextSeen: 0,
      };
  // Long names are not kept either: KMS parameters are audited before they are validated, so
  // an encryption-context key can be most of a 128 KiB body, and 4096 of them pinned ~1 GiB.
  if (NAME_CACHE.size < NAME_CACHE_LIMIT && name.length <= NAME_LENGTH_LIMIT) NAME_CACHE.set(name, field);
  return field;
}

/** The record's members (AuditEvent's fields) with their encodings, for encodeRecordMembers. */
const RECORD_MEMBERS = [
  'additionalEventData', 'awsRegion', 'errorCode', 'errorMessage', 'eventCategory', 'eventID', 'eventName', 'eventSource', 'eventTime', 'eventType',
  'eventVersion', 'managementEvent', 'readOnly', 'recipientAccountId', 'requestID', 'requestParameters', 'resources', 'responseElements',
  'sourceIPAddress', 'tlsDetails', 'userAgent', 'userIdentity', 'vpcEndpointId',
] as const satisfies readonly (keyof AuditEvent)[];

const R = Object.fromEntries(
  RECORD_MEMBERS.map((name) => {
    const field = fieldEncoding(name);
    // Never true (no record member is denylisted); checked once, at load, rather than assumed.
    if (field === null) throw new Error(`audit record member ${name} is denylisted`);
    return [name, field];
  }),
) as Record<(typeof RECORD_MEMBERS)[number], FieldEncoding>;

/**
 * `"name":value` for a string value (`,"name":value` when `afterComma`): a kept encoding when
 * `v` is one of the field's kept values (see FieldEncoding), else one concatenation of the
 * prefix and the quoted value. Both kept forms are flat, so that appending a member costs one
 * concatenation: each one adds a node to the record's rope, which the journal write flattens.
 */
function encodeStringField(field: FieldEncoding, v: string, afterComma: boolean): string {
  const values = field.values;
  for (let i = 0; i < KEPT_VALUES; i++) if (values[i] === v) return afterComma ? (field.encodedAfterComma[i] as string) : (field.encoded[i] as string);
  const quoted = quote(v);
  // Long values (messages, policies) are not kept: they rarely repeat and would pin memory.
  if (v.length <= 256) {
    const seen = field.seen;
    let again = false;
    for (let i = 0; i < SEEN_VALUES; i++) {
      if (seen[i] === v) {
        seen[i] = undefined;
        again = true;
        break;
      }
    }
    if (again) {
      const slot = field.nextValue;
      field.nextValue = (slot + 1) % KEPT_VALUES;
      values[slot] = v;
      const encoded = (field.encoded[slot] = flat(field.prefix + quoted));
      const encodedAfterComma = (field.encodedAfterComma[slot] = flat(field.commaPrefix + quoted));
      return afterComma ? encodedAfterComma : encoded;
    }
    seen[field.nextSeen] = v;
    field.nextSeen = (field.nextSeen + 1) % SEEN_VALUES;
  }
  return (afterComma ? field.commaPrefix : field.prefix) + quoted;
}

function encodeObject(obj: Record<string, unknown>, path: string, dropped: string[]): string {
  const keys = Object.keys(obj);
  // Records are built with their keys already in canonical order (see newAuditEvent), so a
  // check in n-1 comparisons usually replaces the sort; `<` on strings is the same
  // UTF-16 code-unit order as the default sort.
  if (!isSorted(keys)) sortKeys(keys);
  let out = '{';
  let first = true;
  for (const key of keys) {
    const field = fieldEncoding(key);
    if (field === null) {
      dropped.push(`${path}.${key}`);
      continue;
    }
    const v = obj[key];
    if (v === undefined) continue;
    if (typeof v === 'string') {
      out += encodeStringField(field, v, !first);
    } else {
      const encoded = encodeValue(v, path, key, dropped);
      if (encoded === undefined) continue;
      out += first ? field.prefix : field.commaPrefix;
      out += encoded;
    }
    first = false;
  }
  return `${out}}`;
}

// The path is built only when something is dropped: `parent` + `.key` or `[i]`.
function encodeValue(v: unknown, parent: string, step: string | number, dropped: string[]): string | undefined {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (Number.isFinite(v)) return Object.is(v, -0) ? '0' : JSON.stringify(v);
      break;
    case 'object': {
      if (v === null) return 'null';
      // A frozen part repeated from record to record: its encoding, when remembered (see FROZEN_ENCODINGS).
      const frozen = Object.isFrozen(v);
      if (frozen) {
        const known = FROZEN_ENCODINGS.get(v);
        if (known !== undefined) return known;
      }
      let encoded: string;
      const droppedBefore = dropped.length;
      if (Array.isArray(v)) encoded = encodeArray(v, pathOf(parent, step), dropped);
      else if (v instanceof Date) {
        if (!Number.isNaN(v.getTime())) return JSON.stringify(v.toISOString());
        break;
      } else if (isPlainObject(v)) encoded = encodeObject(v as Record<string, unknown>, pathOf(parent, step), dropped);
      else break;
      if (frozen && dropped.length === droppedBefore && isDeeplyFrozenJson(v)) {
        const kept = flat(encoded);
        FROZEN_ENCODINGS.set(v, kept);
        return kept;
      }
      return encoded;
    }
    default:
      break;
  }
  dropped.push(pathOf(parent, step));
  return undefined;
}

/**
 * Encodings of deeply frozen plain objects and arrays (see isDeeplyFrozenJson) whose walk
 * dropped nothing. Such a value can never change, so its canonical JSON is the same every
 * time: a caller that repeats a part from record to record (the edge's userIdentity per
 * caller, a bucket's resource, a KMS key's resources, a write's SSE responseElements) passes
 * the same frozen object and the walk over it runs once. The output is exactly what the walk
 * writes. Weak: a part no caller keeps any more is collected with its encoding.
 */
const FROZEN_ENCODINGS = new WeakMap<object, string>();

/**
 * True when `v` (a plain object or an array) and every object or array inside it are frozen,
 * plain (or arrays), and hold only data properties: nothing reachable from it can change or
 * run code when read. Dates, Buffers, class instances and accessors make it false (a frozen
 * Date can still be set). Runs only when a frozen part is first encoded.
 */
function isDeeplyFrozenJson(v: object): boolean {
  if (!Object.isFrozen(v) || !(Array.isArray(v) || isPlainObject(v))) return false;
  const descriptors = Object.getOwnPropertyDescriptors(v) as Record<string, PropertyDescriptor>;
  for (const key of Object.keys(descriptors)) {
    const d = descriptors[key] as PropertyDescriptor;
    if (!('value' in d)) return false;
    const value: unknown = d.value;
    if (typeof value === 'object' && value !== null && !isDeeplyFrozenJson(value)) return false;
  }
  return true;
}

function encodeArray(items: readonly unknown[], path: string, dropped: string[]): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const encoded = encodeValue(item, path, i, dropped) ?? 'null';
    out += i === 0 ? encoded : `,${encoded}`;
  }
  return `${out}]`;
}

/**
 * `s` as one string rather than a rope, same text: a string built by concatenation is a tree
 * of its parts (a V8 ConsString per `+`), walked again each time a record that includes it is
 * flattened for the journal write; the remembered parts above are included in many records,
 * so they are kept flat. Slicing makes V8 flatten the concatenation once.
 */
export function flat(s: string): string {
  return ` ${s}`.slice(1);
}

function pathOf(parent: string, step: string | number): string {
  return typeof step === 'number' ? `${parent}[${step}]` : `${parent}.${step}`;
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * `keys` (distinct, an object's own) in the default sort's order (UTF-16 code units), in
 * place: an insertion sort for the few keys of a request's parameters or an encryption
 * context, which costs less than Array.prototype.sort's setup; the result is the same.
 */
function sortKeys(keys: string[]): void {
  if (keys.length > 16) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > k; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = k;
  }
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (!((keys[i - 1] as string) < (keys[i] as string))) return false;
  return true;
}
