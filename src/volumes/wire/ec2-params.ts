import { echoed } from '../../common/bounded-echo.js';
import { parseQueryForm } from '../../common/query-form.js';
import { Ec2InvalidParameterValueError, Ec2MissingParameterError, Ec2SnapshotIdMalformedError, Ec2TagLimitExceededError, Ec2VolumeIdMalformedError } from '../errors.js';
import type { Filter } from '../operations/describe.js';
import type { Tag } from '../volume-store.js';
import { EC2_ID_FORMS } from '../volume-context.js';

/**
 * Typed reads of EC2 Query parameters (form body and URL query), with EC2's error
 * wording: MissingParameter for an absent required one, InvalidParameterValue otherwise.
 * Lists are `Name.1`, `Name.2`, …; the only module that knows those spellings.
 */
export class Ec2Params {
  constructor(private readonly params: ReadonlyMap<string, string>) {}

  /** Parses a form body and the URL's query string (the Query protocol allows both). */
  static parse(body: string, rawQuery: string): Ec2Params {
    return new Ec2Params(parseQueryForm(body, rawQuery));
  }

  /** Every parameter (for the audit record: EC2 requests carry no secrets). */
  entries(): Array<[string, string]> {
    return [...this.params.entries()];
  }

  optional(name: string): string | undefined {
    return this.params.get(name);
  }

  required(name: string): string {
    const v = this.params.get(name);
    if (v === undefined || v === '') throw new Ec2MissingParameterError(`The request must contain the parameter ${name}`);
    return v;
  }

  integer(name: string): number | undefined {
    const v = this.params.get(name);
    if (v === undefined) return undefined;
    if (!/^\d{1,9}$/.test(v)) throw new Ec2InvalidParameterValueError(`Value (${echoed(v)}) for parameter ${name} is invalid. Expected an integer.`);
    return Number(v);
  }

  boolean(name: string): boolean | undefined {
    const v = this.params.get(name);
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') throw new Ec2InvalidParameterValueError(`Value (${echoed(v)}) for parameter ${name} is invalid. Expected: 'true' or 'false'.`);
    return v === 'true';
  }

  /**
   * A volume or snapshot id (required, or from a `Name.N` list), checked for EC2's form
   * `vol-`/`snap-` + 8 to 17 hex digits: anything else is InvalidVolumeID.Malformed /
   * InvalidSnapshotID.Malformed, as EC2 answers before looking the id up (never NotFound).
   */
  resourceId(name: string, kind: 'vol' | 'snap'): string {
    return checkId(this.required(name), kind);
  }

  /** Like resourceId, for an optional parameter. */
  optionalResourceId(name: string, kind: 'vol' | 'snap'): string | undefined {
    const v = this.params.get(name);
    return v === undefined ? undefined : checkId(v, kind);
  }

  /** Every id of the `prefix.N` list, each checked as resourceId does. */
  resourceIds(prefix: string, kind: 'vol' | 'snap'): string[] {
    return this.list(prefix).map((id) => checkId(id, kind));
  }

  /** `prefix.1`, `prefix.2`, … in index order. */
  list(prefix: string): string[] {
    return this.#indexes(prefix).map((i) => this.params.get(`${prefix}.${i}`) ?? '');
  }

  /** `Filter.N.Name` with `Filter.N.Value.M`. */
  filters(): Filter[] {
    return this.#indexes('Filter', '.Name').map((i) => ({ name: this.required(`Filter.${i}.Name`), values: this.list(`Filter.${i}.Value`) }));
  }

  /**
   * Tags of `TagSpecification.N` whose ResourceType is `resourceType`, as one set for the
   * resource being created. Another type, a key twice (within one specification or across
   * two of the same type), a reserved or over-long key or value: InvalidParameterValue;
   * more than MAX_TAGS_PER_RESOURCE tags: TagLimitExceeded. The whole request is refused,
   * so nothing is created with part of its tags.
   */
  tags(resourceType: 'volume' | 'snapshot'): Tag[] {
    const out: Tag[] = [];
    const keys = new Set<string>();
    for (const i of this.#indexes('TagSpecification', '.ResourceType')) {
      const type = this.required(`TagSpecification.${i}.ResourceType`);
      if (type !== resourceType) throw new Ec2InvalidParameterValueError(`'${echoed(type)}' is not a valid taggable resource type for this operation.`);
      for (const j of this.#indexes(`TagSpecification.${i}.Tag`, '.Key')) {
        const key = this.required(`TagSpecification.${i}.Tag.${j}.Key`);
        if (key.startsWith('aws:')) throw new Ec2InvalidParameterValueError(`Tag keys starting with 'aws:' are reserved for internal use`);
        const value = this.optional(`TagSpecification.${i}.Tag.${j}.Value`) ?? '';
        checkTag(key, value);
        // EC2's wording, quoted in cloud-custodian#3792 (CreateSnapshot) and #2301.
        if (keys.has(key)) throw new Ec2InvalidParameterValueError(`Duplicate tag key '${echoed(key)}' specified.`);
        keys.add(key);
        out.push({ key, value });
      }
    }
    // The message as EC2 emulators record it (getmoto/moto ec2/exceptions.py TagLimitExceeded).
    if (out.length > MAX_TAGS_PER_RESOURCE) throw new Ec2TagLimitExceededError('The maximum number of Tags for a resource has been reached.');
    return out;
  }

  /**
   * The N of every `prefix.N<suffix>` present, as spelt (so `Filter.01.Name` is read back as
   * sent), in ascending numeric order. Any number of digits: an index we skipped would drop
   * its filter or id silently and widen the answer (`Filter.10000.Name` matched everything).
   */
  #indexes(prefix: string, suffix = ''): string[] {
    const found = new Set<string>();
    const head = `${prefix}.`;
    for (const k of this.params.keys()) {
      if (!k.startsWith(head) || !k.endsWith(suffix) || k.length < head.length + suffix.length) continue;
      const middle = k.slice(head.length, k.length - suffix.length);
      if (/^\d+$/.test(middle)) found.add(middle);
    }
    return [...found].sort((a, b) => compareIndexes(a, b));
  }
}

/** Orders decimal index strings by value without converting them (any length; ties by spelling). */
function compareIndexes(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

/** EC2's tag limits, counted in Unicode characters (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions). */
const MAX_TAG_KEY_CHARS = 128;
const MAX_TAG_VALUE_CHARS = 256;
/**
 * Tags one resource may carry ("Each resource can have a maximum of 50 tags", CreateTags in
 * the EC2 API reference). A created resource has only the tags of its request, so the
 * request's count is the resource's. The `aws:` tags that would not count are refused.
 */
const MAX_TAGS_PER_RESOURCE = 50;

function checkTag(key: string, value: string): void {
  if ([...key].length > MAX_TAG_KEY_CHARS) throw new Ec2InvalidParameterValueError(`Tag key exceeds the maximum length of ${MAX_TAG_KEY_CHARS} characters`);
  if ([...value].length > MAX_TAG_VALUE_CHARS) throw new Ec2InvalidParameterValueError(`Tag value exceeds the maximum length of ${MAX_TAG_VALUE_CHARS} characters`);
}

/** `id` if it has the form of a `kind` id; EC2's Malformed error otherwise (its wording: `Invalid id: "…"`, the id quoted up to MAX_ECHOED_CHARS). */
function checkId(id: string, kind: 'vol' | 'snap'): string {
  if (EC2_ID_FORMS[kind].test(id)) return id;
  const message = `Invalid id: "${echoed(id)}"${id.startsWith(`${kind}-`) ? '' : ` (expecting "${kind}-...")`}`;
  throw kind === 'vol' ? new Ec2VolumeIdMalformedError(message) : new Ec2SnapshotIdMalformedError(message);
}
