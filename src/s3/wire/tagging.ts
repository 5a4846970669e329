import type { IncomingHttpHeaders } from 'node:http';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { BadRequestError, InvalidArgumentError, InvalidTagError, MalformedXmlError } from '../errors.js';
import { parseXmlDocument, S3_NS } from './xml.js';
import { S3_XML_BUILDER_OPTIONS, xmlEntityDecoder } from './xml-entities.js';

/**
 * What a tag set belongs to, for S3's limit on its count: 10 tags on an object
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html), 50 on a bucket
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/CostAllocTagging.html). Key and value
 * lengths, duplicates and the `aws:` prefix are refused alike for both.
 */
export type TagScope = 'object' | 'bucket';

/**
 * The count limit of each scope and its refusal: S3's 400 BadRequest (not InvalidTag) for
 * both, as S3 answers PutBucketTagging with 51 tags and PutObjectTagging with 11 ("Object
 * tags cannot be greater than 10", boto/boto3#1213, hashicorp/terraform-provider-aws#24692).
 */
const MAX_TAGS: Readonly<Record<TagScope, { readonly count: number; readonly refuse: () => Error }>> = {
  object: { count: 10, refuse: () => new BadRequestError('Object tags cannot be greater than 10') },
  bucket: { count: 50, refuse: () => new BadRequestError('Bucket tag count cannot be greater than 50') },
};
const MAX_KEY = 128;
const MAX_VALUE = 256;

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: false, entityDecoder: xmlEntityDecoder, isArray: (name) => name === 'Tag' });
const builder = new XMLBuilder(S3_XML_BUILDER_OPTIONS);

/**
 * Checks a tag list against S3's rules and returns it as a map. Raises BadRequestError for
 * more than 10 tags on an object or 50 on a bucket; InvalidTagError for a key over 128 or a value
 * over 256 characters, an empty, duplicate or `aws:`-prefixed key. Never returns a partial set.
 */
export function validateTags(pairs: ReadonlyArray<readonly [string, string]>, scope: TagScope = 'object'): Record<string, string> {
  const limit = MAX_TAGS[scope];
  if (pairs.length > limit.count) throw limit.refuse();
  const seen = new Set<string>();
  for (const [k, v] of pairs) {
    if (k.length === 0 || [...k].length > MAX_KEY) throw new InvalidTagError('The TagKey you have provided is invalid');
    if ([...v].length > MAX_VALUE) throw new InvalidTagError('The TagValue you have provided is invalid');
    if (k.toLowerCase().startsWith('aws:')) throw new InvalidTagError('Your TagKey cannot be prefixed with aws:');
    if (seen.has(k)) throw new InvalidTagError('Cannot provide multiple Tags with the same key');
    seen.add(k);
  }
  // fromEntries defines each key (an assignment would drop a `__proto__` tag without a word).
  return Object.fromEntries(pairs);
}

/** The x-amz-tagging header (URL query encoded `k=v&k2=v2`) as validated tags; undefined when absent. */
export function parseTaggingHeader(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  const raw = headers['x-amz-tagging'];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined) return undefined;
  if (v === '') return {};
  return validateTags([...new URLSearchParams(v)]);
}

/**
 * x-amz-tagging-directive of CopyObject: COPY (default, the source's tags) or REPLACE (the
 * request's x-amz-tagging). Raises InvalidArgumentError for anything else.
 */
export function parseTaggingDirective(headers: IncomingHttpHeaders): 'COPY' | 'REPLACE' {
  const v = headers['x-amz-tagging-directive'] ?? 'COPY';
  if (v !== 'COPY' && v !== 'REPLACE') throw new InvalidArgumentError('Unknown tagging directive.');
  return v;
}

/**
 * The `<Tagging><TagSet><Tag><Key/><Value/></Tag>…` body of PutObjectTagging (and, with scope
 * 'bucket', of PutBucketTagging). Raises MalformedXmlError, InvalidTagError.
 */
export function parseTaggingXml(body: Buffer, scope: TagScope = 'object'): Record<string, string> {
  const root = parseXmlDocument(parser, body, 'Tagging');
  if (root === undefined || root === null || typeof root !== 'object') throw new MalformedXmlError('');
  const set = (root as { TagSet?: unknown }).TagSet;
  if (set === undefined) throw new MalformedXmlError('');
  const tags = set === '' ? [] : ((set as { Tag?: unknown }).Tag ?? []);
  if (!Array.isArray(tags)) throw new MalformedXmlError('');
  return validateTags(
    tags.map((t: unknown) => {
      const { Key, Value } = (t ?? {}) as { Key?: unknown; Value?: unknown };
      if (typeof Key !== 'string' || (Value !== undefined && typeof Value !== 'string')) throw new MalformedXmlError('');
      return [Key, Value ?? ''] as const;
    }),
    scope,
  );
}

/** The GetObjectTagging (and GetBucketTagging) result document. */
export function taggingXml(tags: Readonly<Record<string, string>>): string {
  const tagList = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, Tagging: { '@_xmlns': S3_NS, TagSet: tagList.length > 0 ? { Tag: tagList } : '' } }) as string;
}

/**
 * A validated tag set as CloudTrail records PutBucketTagging's `Tagging` document in
 * requestParameters (its XML read into JSON): the S3 namespace as `xmlns`, then `TagSet.Tag`,
 * one `{Key, Value}` object for a single tag and a list for several (CloudTrail's reading of
 * repeated elements), in the request's order; an empty TagSet as an empty string. Never
 * throws; holds nothing but the tags.
 */
export function cloudTrailTagging(tags: Readonly<Record<string, string>>): Record<string, unknown> {
  const list = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const tagSet = list.length === 0 ? '' : { Tag: list.length === 1 ? list[0] : list };
  return { xmlns: S3_NS, TagSet: tagSet };
}
