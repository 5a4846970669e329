import type { Page } from '../key-store.js';
import type { KeyService } from '../keys/key-service.js';
import { keyArn, type KeyRecord, type Tag } from '../keys/key-record.js';
import { KeyInvalidStateError, TagError, UnsupportedOperationError } from '../errors.js';
import { pageOf } from './paging.js';

/**
 * Key tags: TagResource, UntagResource, ListResourceTags. Tag length bounds are checked on
 * the wire; here the rules that need the key: reserved prefix, 50 tags, key state.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_TagResource.html (and siblings)
 */

/** AWS allows at most 50 tags on a KMS key. */
export const MAX_TAGS_PER_KEY = 50;
const RESERVED_PREFIX = 'aws:';

function requireTaggable(key: KeyRecord): void {
  if (key.keyManager === 'AWS') throw new UnsupportedOperationError(`${keyArn(key)} is an AWS managed key; it cannot be tagged.`);
  if (key.keyState === 'PendingDeletion') throw new KeyInvalidStateError(`${keyArn(key)} is pending deletion.`);
}

/**
 * Raises TagError for a tag key with the reserved `aws:` prefix (any case) or more than 50
 * tags in all. Never reads or writes the store.
 */
export function checkTags(tags: readonly Tag[]): void {
  const reserved = tags.find((t) => t.key.toLowerCase().startsWith(RESERVED_PREFIX));
  if (reserved !== undefined) throw new TagError(`Tag keys beginning with "${RESERVED_PREFIX}" are reserved for AWS use: ${reserved.key}`);
  if (tags.length > MAX_TAGS_PER_KEY) throw new TagError(`A KMS key can have at most ${MAX_TAGS_PER_KEY} tags.`);
}

/** TagResource: adds tags, replacing the value of keys already present. */
export async function tagResource(keys: KeyService, keyId: string, tags: readonly Tag[]): Promise<void> {
  const key = await keys.resolve(keyId);
  requireTaggable(key);
  checkTags(tags);
  const merged = new Map(key.tags.map((t) => [t.key, t.value]));
  for (const t of tags) merged.set(t.key, t.value);
  const next = [...merged].map(([k, value]) => ({ key: k, value }));
  checkTags(next);
  await keys.update(key, { tags: next });
}

/** UntagResource: removes the named tag keys; absent keys are ignored, as on AWS. */
export async function untagResource(keys: KeyService, keyId: string, tagKeys: readonly string[]): Promise<void> {
  const key = await keys.resolve(keyId);
  requireTaggable(key);
  const drop = new Set(tagKeys);
  const next = key.tags.filter((t) => !drop.has(t.key));
  if (next.length !== key.tags.length) await keys.update(key, { tags: next });
}

/** ListResourceTags: the key's tags in the order they were added, paged. */
export async function listResourceTags(keys: KeyService, keyId: string, limit: number, marker?: string): Promise<Page<Tag>> {
  const key = await keys.resolve(keyId);
  return pageOf(key.tags, limit, marker);
}
