/**
 * Tags on IAM users and roles: TagUser, UntagUser, ListUserTags, TagRole, UntagRole, ListRoleTags.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_TagUser.html (and the others). Each
 * request's tags arrive checked against IAM's model by the wire layer (tag-params.ts); what is
 * left here is what depends on the stored tags: the per-entity quota and key matching, which IAM
 * does case-insensitively for users and roles.
 */
import { echoed } from '../../common/bounded-echo.js';
import { IamLimitExceededError, NoSuchEntityError } from '../errors.js';
import type { IamDeps } from '../iam-context.js';
import type { EntityTag, PolicyOwnerKind } from '../identity-store.js';

/** Most tags one user or role may carry (IAM's TagsPerUser / TagsPerRole quota). */
export const MAX_ENTITY_TAGS = 50;

function noSuch(kind: PolicyOwnerKind, name: string): NoSuchEntityError {
  return new NoSuchEntityError(`The ${kind} with name ${echoed(name)} cannot be found.`);
}

/** The key IAM compares user and role tag keys by. */
export function tagKeyFold(key: string): string {
  return key.toLowerCase();
}

/**
 * `current` with `added` set: a key already there (in any case) gets the new value and keeps its
 * first spelling, a new key goes last. Raises IamLimitExceededError past MAX_ENTITY_TAGS, in IAM's
 * wording ("Cannot exceed quota for TagsPerUser: 50"), so a request either applies whole or not at all.
 */
export function mergeTags(kind: PolicyOwnerKind, current: readonly EntityTag[], added: readonly EntityTag[]): EntityTag[] {
  const next = [...current];
  for (const tag of added) {
    const at = next.findIndex((t) => tagKeyFold(t.key) === tagKeyFold(tag.key));
    if (at >= 0) next[at] = { key: next[at]?.key ?? tag.key, value: tag.value };
    else next.push(tag);
  }
  if (next.length > MAX_ENTITY_TAGS) throw new IamLimitExceededError(`Cannot exceed quota for ${kind === 'user' ? 'TagsPerUser' : 'TagsPerRole'}: ${MAX_ENTITY_TAGS}`);
  return next;
}

/**
 * Adds or overwrites tags on a user or role (TagUser, TagRole). Raises NoSuchEntityError,
 * IamLimitExceededError; on either, no tag changes.
 */
export async function tagEntity(deps: IamDeps, kind: PolicyOwnerKind, name: string, tags: readonly EntityTag[]): Promise<void> {
  const done = await deps.store.updateTags(kind, name, (current) => mergeTags(kind, current, tags));
  if (done === undefined) throw noSuch(kind, name);
  // The caller's tags (aws:PrincipalTag) are cached with its credential: drop them at once.
  deps.onChange?.({ principalName: name });
}

/**
 * Removes the tags with these keys (compared case-insensitively) from a user or role (UntagUser,
 * UntagRole); a key it does not carry is no error, as on IAM. Raises NoSuchEntityError.
 */
export async function untagEntity(deps: IamDeps, kind: PolicyOwnerKind, name: string, keys: readonly string[]): Promise<void> {
  const gone = new Set(keys.map(tagKeyFold));
  const done = await deps.store.updateTags(kind, name, (current) => current.filter((t) => !gone.has(tagKeyFold(t.key))));
  if (done === undefined) throw noSuch(kind, name);
  deps.onChange?.({ principalName: name });
}

/** A user's or role's tags (ListUserTags, ListRoleTags); raises NoSuchEntityError. */
export async function listEntityTags(deps: IamDeps, kind: PolicyOwnerKind, name: string): Promise<readonly EntityTag[]> {
  const found = kind === 'user' ? await deps.store.getUser(name) : await deps.store.getRole(name);
  if (found === undefined) throw noSuch(kind, name);
  return found.tags;
}
