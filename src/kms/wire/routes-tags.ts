import { requestTagFacts, tagKeyFacts } from './request-tag-facts.js';
import { ValidationError } from '../errors.js';
import { listResourceTags, tagResource, untagResource } from '../operations/tags.js';
import { route, type KmsRoute } from './route.js';
import { parseTags } from './routes-keys.js';

/** Tag targets. https://docs.aws.amazon.com/kms/latest/APIReference/API_TagResource.html */
export const tagRoutes: Record<string, KmsRoute> = {
  TagResource: route({
    action: 'kms:TagResource',
    readOnly: false,
    parse: (f) => {
      if (!f.has('Tags')) throw new ValidationError("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
      return { keyId: f.keyId(), tags: parseTags(f) };
    },
    keyOf: (r) => r.keyId,
    conditions: (r) => requestTagFacts(r.tags),
    operate: (keys, r) => tagResource(keys, r.keyId, r.tags),
    respond: () => ({}),
  }),

  UntagResource: route({
    action: 'kms:UntagResource',
    readOnly: false,
    parse: (f) => {
      const tagKeys = f.stringList('TagKeys');
      if (tagKeys === undefined) throw new ValidationError("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
      if (tagKeys.some((k) => k.length < 1 || k.length > 128)) throw new ValidationError("1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length between 1 and 128");
      return { keyId: f.keyId(), tagKeys };
    },
    keyOf: (r) => r.keyId,
    conditions: (r) => tagKeyFacts(r.tagKeys),
    operate: (keys, r) => untagResource(keys, r.keyId, r.tagKeys),
    respond: () => ({}),
  }),

  ListResourceTags: route({
    action: 'kms:ListResourceTags',
    readOnly: true,
    parse: (f) => ({ keyId: f.keyId(), limit: f.integer('Limit', 1, 50) ?? 50, marker: f.string('Marker', { min: 1, max: 1024 }) }),
    keyOf: (r) => r.keyId,
    operate: (keys, r) => listResourceTags(keys, r.keyId, r.limit, r.marker),
    respond: (page) => ({
      Tags: page.items.map((t) => ({ TagKey: t.key, TagValue: t.value })),
      Truncated: page.nextMarker !== undefined,
      ...(page.nextMarker !== undefined ? { NextMarker: page.nextMarker } : {}),
    }),
  }),
};
