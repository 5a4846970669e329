/**
 * Tags on users and roles: TagUser, UntagUser, ListUserTags, TagRole, UntagRole, ListRoleTags,
 * each authorized as its own IAM action on the user's or role's ARN (with its path), as IAM
 * does; shapes as botocore's iam model (service-2.json, 2010-05-08) has them.
 */
import type { PolicyOwnerKind } from '../identity-store.js';
import { listEntityTags, tagEntity, tagKeyFold, untagEntity } from '../operations/tags.js';
import { iamPage, pageFields } from './paging.js';
import type { QueryParams } from './query.js';
import { queryRoute, type QueryRoute } from './route.js';
import { ownerArn } from './route-params.js';
import { requestTagFacts, tagKeyFacts, tagKeysParam, tagsParam } from './tag-params.js';

function tagRoutes(kind: PolicyOwnerKind, noun: 'User' | 'Role'): Record<string, QueryRoute> {
  const owner = (p: QueryParams): string => p.required(`${noun}Name`);
  return {
    [`Tag${noun}`]: queryRoute({
      service: 'iam',
      action: `iam:Tag${noun}`,
      readOnly: false,
      parse: (p) => ({ owner: owner(p), tags: tagsParam(p, true) }),
      resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
      facts: (r) => requestTagFacts(r.tags),
      operate: (d, r) => tagEntity(d, kind, r.owner, r.tags),
      respond: () => undefined,
    }),
    [`Untag${noun}`]: queryRoute({
      service: 'iam',
      action: `iam:Untag${noun}`,
      readOnly: false,
      parse: (p) => ({ owner: owner(p), keys: tagKeysParam(p) }),
      resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
      facts: (r) => tagKeyFacts(r.keys),
      operate: (d, r) => untagEntity(d, kind, r.owner, r.keys),
      respond: () => undefined,
    }),
    [`List${noun}Tags`]: queryRoute({
      service: 'iam',
      action: `iam:List${noun}Tags`,
      readOnly: true,
      parse: (p) => ({ owner: owner(p), maxItems: p.maxItems(), marker: p.optional('Marker') }),
      resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
      // Paged by the folded key, which is unique on an entity; tags come back ordered by it.
      operate: async (d, r) => iamPage(await listEntityTags(d, kind, r.owner), (t) => tagKeyFold(t.key), r.maxItems, r.marker),
      // Tags is always present (an empty list for none), as the model marks it required.
      respond: (page) => ({ Tags: page.items.map((t) => ({ Key: t.key, Value: t.value })), ...pageFields(page) }),
    }),
  };
}

/** The routes of this file, by Action, for IAM_ROUTES. */
export const IAM_TAG_ROUTES: Readonly<Record<string, QueryRoute>> = {
  ...tagRoutes('user', 'User'),
  ...tagRoutes('role', 'Role'),
};
