import type { ObjectRecord } from '../metadata-store.js';
import type { S3Deps } from '../s3-deps.js';

/** A listing request in domain terms (both ListObjects versions). */
export interface ListRequest {
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter?: string;
  /** List keys strictly after this position (marker, start-after or continuation token). */
  readonly after: string;
  readonly maxKeys: number;
}

/** One page: objects and common prefixes in key order; `lastPosition` is where the next page starts. */
export interface ListPage {
  readonly objects: readonly ObjectRecord[];
  readonly commonPrefixes: readonly string[];
  readonly truncated: boolean;
  readonly lastPosition?: string;
}

const BATCH = 1000;
/** Above every UTF-8 character: "after this prefix and everything under it". */
const PAST = '\u{10FFFF}';

/**
 * Lists a bucket as S3 does: keys under the prefix, rolled up into common prefixes at the
 * delimiter, at most maxKeys entries (objects + prefixes), in UTF-8 binary order.
 * Raises NoSuchBucketError. https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
export async function listObjects(deps: S3Deps, req: ListRequest): Promise<ListPage> {
  await deps.store.getBucket(req.bucket);
  const objects: ObjectRecord[] = [];
  const prefixes: string[] = [];
  let after = req.after;
  let last: string | undefined;
  if (req.maxKeys === 0) return { objects, commonPrefixes: prefixes, truncated: false };
  for (;;) {
    const batch = await deps.store.listObjects(req.bucket, { prefix: req.prefix, after, limit: BATCH });
    for (const o of batch) {
      if (o.key <= after) continue;
      const common = commonPrefix(o.key, req.prefix, req.delimiter);
      if (common !== undefined && common <= req.after) {
        // A prefix at or before the marker was returned on an earlier page.
        after = common + PAST;
        break;
      }
      if (objects.length + prefixes.length === req.maxKeys) return { objects, commonPrefixes: prefixes, truncated: true, ...(last !== undefined ? { lastPosition: last } : {}) };
      if (common !== undefined) {
        prefixes.push(common);
        last = common;
        after = common + PAST;
        break;
      }
      objects.push(o);
      last = o.key;
      after = o.key;
    }
    if (batch.length === 0 || (batch.length < BATCH && !after.endsWith(PAST))) {
      return { objects, commonPrefixes: prefixes, truncated: false, ...(last !== undefined ? { lastPosition: last } : {}) };
    }
  }
}

function commonPrefix(key: string, prefix: string, delimiter: string | undefined): string | undefined {
  if (delimiter === undefined || delimiter === '') return undefined;
  const i = key.indexOf(delimiter, prefix.length);
  return i < 0 ? undefined : key.slice(0, i + delimiter.length);
}
