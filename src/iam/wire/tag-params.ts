/**
 * User and role tags on the wire: the `Tags.member.N.Key/Value` and `TagKeys.member.N` lists
 * checked against IAM's model (botocore's iam service-2.json: tagListType and tagKeyListType at
 * most 50 members, tagKeyType 1–128 and tagValueType 0–256 characters of
 * `[\p{L}\p{Z}\p{N}_.:/=+\-@]`), then IAM's own rules (InvalidInput: a key twice in one request,
 * compared case-insensitively; a key starting with `aws:`); and the condition keys a policy sees
 * for them (aws:RequestTag/…, aws:TagKeys, aws:ResourceTag/… and iam:ResourceTag/…).
 */
import { echoed } from '../../common/bounded-echo.js';
import type { ConditionFacts } from '../authorizer.js';
import { IamInvalidInputError, IamValidationError } from '../errors.js';
import type { IamDeps } from '../iam-context.js';
import type { EntityTag } from '../identity-store.js';
import { tagKeyFold } from '../operations/tags.js';
import type { QueryParams } from './query.js';

/** Most members a Tags or TagKeys list may have (tagListType, tagKeyListType). */
export const MAX_TAGS_PER_REQUEST = 50;
const MAX_KEY_CHARS = 128;
const MAX_VALUE_CHARS = 256;
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAG_PATTERN_TEXT = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]';
// Lists are read while members are numbered contiguously; this bounds the walk of a list
// far past the limit (one over is enough to refuse it).
const WALK_LIMIT = MAX_TAGS_PER_REQUEST + 1;

function invalid(field: string, value: string | undefined, rule: string): IamValidationError {
  const shown = value === undefined ? 'null' : `'${echoed(value)}'`;
  return new IamValidationError(`1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: Member must ${rule}`);
}

/** A tag key or value against its model type; raises IamValidationError. */
function checkText(field: string, value: string | undefined, min: number, max: number): string {
  if (value === undefined) throw invalid(field, value, 'not be null');
  const chars = [...value].length;
  if (chars < min) throw invalid(field, value, `have length greater than or equal to ${min}`);
  if (chars > max) throw invalid(field, value, `have length less than or equal to ${max}`);
  if (!TAG_CHARS.test(value)) throw invalid(field, value, `satisfy regular expression pattern: ${TAG_PATTERN_TEXT}${min === 0 ? '*' : '+'}`);
  return value;
}

/** IAM's rules over a request's keys: none twice (case-insensitively), none under `aws:`. Raises IamInvalidInputError. */
function checkKeys(keys: readonly string[], refuseDuplicates: boolean): void {
  const seen = new Set<string>();
  for (const key of keys) {
    const folded = tagKeyFold(key);
    if (folded.startsWith('aws:')) throw new IamInvalidInputError(`Tag keys starting with 'aws:' are reserved for AWS use: ${echoed(key)}`);
    if (refuseDuplicates && seen.has(folded)) throw new IamInvalidInputError('Duplicate tag keys found. Please note that Tag keys are case insensitive.');
    seen.add(folded);
  }
}

/** How many members a `Name.member.N…` list has, counting up from 1 while members are present (at most WALK_LIMIT). */
function memberCount(p: QueryParams, name: string): number {
  let n = 0;
  while (n < WALK_LIMIT && p.mentions(`${name}.member.${n + 1}`)) n++;
  return n;
}

/**
 * The `Tags` list of CreateUser, CreateRole, TagUser, TagRole, in member order; [] when absent
 * unless `required` (TagUser, TagRole: ValidationError). Raises IamValidationError (over 50
 * members, a key or value missing, too long or of other characters), IamInvalidInputError (a
 * key twice, a key starting with `aws:`). Never reads past the 51st member.
 */
export function tagsParam(p: QueryParams, required: boolean): EntityTag[] {
  const count = memberCount(p, 'Tags');
  if (count === 0 && required) throw invalid('tags', undefined, 'not be null');
  if (count > MAX_TAGS_PER_REQUEST) throw invalid('tags', '[…]', `have length less than or equal to ${MAX_TAGS_PER_REQUEST}`);
  const tags: EntityTag[] = [];
  for (let n = 1; n <= count; n++) {
    const key = checkText(`tags.${n}.member.key`, p.optional(`Tags.member.${n}.Key`), 1, MAX_KEY_CHARS);
    const value = checkText(`tags.${n}.member.value`, p.optional(`Tags.member.${n}.Value`), 0, MAX_VALUE_CHARS);
    tags.push({ key, value });
  }
  checkKeys(tags.map((t) => t.key), true);
  return tags;
}

/** The required `TagKeys` list of UntagUser and UntagRole; raises IamValidationError as tagsParam does. */
export function tagKeysParam(p: QueryParams): string[] {
  const count = memberCount(p, 'TagKeys');
  if (count === 0) throw invalid('tagKeys', undefined, 'not be null');
  if (count > MAX_TAGS_PER_REQUEST) throw invalid('tagKeys', '[…]', `have length less than or equal to ${MAX_TAGS_PER_REQUEST}`);
  const keys: string[] = [];
  for (let n = 1; n <= count; n++) keys.push(checkText(`tagKeys.${n}.member`, p.optional(`TagKeys.member.${n}`), 1, MAX_KEY_CHARS));
  return keys;
}

/** aws:RequestTag/<key> for each tag and aws:TagKeys (all keys), for a request that sets tags. */
export function requestTagFacts(tags: readonly EntityTag[]): ConditionFacts {
  const facts: Record<string, string | readonly string[]> = { 'aws:TagKeys': tags.map((t) => t.key) };
  for (const t of tags) facts[`aws:RequestTag/${t.key}`] = t.value;
  return facts;
}

/** aws:TagKeys for a request that removes tags. */
export function tagKeyFacts(keys: readonly string[]): ConditionFacts {
  return { 'aws:TagKeys': keys };
}

const ENTITY_ARN = /^arn:aws:iam::(\d{12}):(user|role)\/(?:[^/]*\/)*([^/]+)$/;

/**
 * aws:ResourceTag/<key> and iam:ResourceTag/<key> for each tag of the user or role `resource`
 * names, when it is one of this account's that exists under exactly that ARN (path included);
 * {} for any other resource. Raises only the store's errors.
 */
export async function resourceTagFacts(deps: IamDeps, resource: string): Promise<ConditionFacts> {
  const m = ENTITY_ARN.exec(resource);
  if (m === null || m[1] !== deps.accountId || m[3] === undefined) return {};
  const found = m[2] === 'user' ? await deps.store.getUser(m[3]) : await deps.store.getRole(m[3]);
  if (found === undefined || found.arn !== resource) return {};
  const facts: Record<string, string> = {};
  for (const t of found.tags) {
    facts[`aws:ResourceTag/${t.key}`] = t.value;
    facts[`iam:ResourceTag/${t.key}`] = t.value;
  }
  return facts;
}
