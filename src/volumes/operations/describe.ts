import { Ec2InvalidParameterValueError, Ec2SnapshotNotFoundError, Ec2VolumeNotFoundError } from '../errors.js';
import type { Attachment } from '../attachments.js';
import type { VolumeContext } from '../volume-context.js';
import type { SnapshotRecord, Tag, VolumeRecord } from '../volume-store.js';

/** An EC2 filter: a name and values (OR within a filter, AND across filters; `*` and `?` are wildcards, `\` escapes). */
export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/** A describe request: ids, filters, and paging (MaxResults 5–1000, NextToken from a previous page). */
export interface DescribeRequest {
  readonly ids: readonly string[];
  readonly filters: readonly Filter[];
  readonly maxResults?: number;
  readonly nextToken?: string;
}

/** A volume as DescribeVolumes shows it. */
export interface VolumeView {
  readonly volume: VolumeRecord;
  readonly state: 'available' | 'in-use';
  readonly attachment?: Attachment;
}

/** A page of results. */
export interface Page<T> {
  readonly items: T[];
  readonly nextToken?: string;
}

/**
 * DescribeVolumes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVolumes.html).
 * Filters: volume-id, status, size, availability-zone, volume-type, snapshot-id,
 * encrypted, kms-key-id, create-time, multi-attach-enabled, fast-restored, attachment.instance-id,
 * attachment.device, attachment.status, attachment.attach-time, attachment.delete-on-termination,
 * tag-key, tag:<key>; times as the response writes them (ISO 8601). Raises
 * InvalidVolume.NotFound (any named id missing), InvalidParameterValue (filter, paging).
 */
export async function describeVolumes(ctx: VolumeContext, req: DescribeRequest): Promise<Page<VolumeView>> {
  const all = (await ctx.store.listVolumes()).map((volume): VolumeView => {
    const attachment = ctx.attachments.get(volume.volumeId);
    return attachment === undefined ? { volume, state: 'available' } : { volume, state: 'in-use', attachment };
  });
  const missing = req.ids.filter((id) => !all.some((v) => v.volume.volumeId === id));
  if (missing.length > 0) throw new Ec2VolumeNotFoundError(`The volume${missing.length > 1 ? 's' : ''} '${missing.join("', '")}' ${missing.length > 1 ? 'do' : 'does'} not exist.`);
  const fields = (v: VolumeView): Record<string, string[]> => ({
    'volume-id': [v.volume.volumeId],
    status: [v.state],
    size: [String(v.volume.sizeGiB)],
    'availability-zone': [v.volume.availabilityZone],
    'volume-type': [v.volume.volumeType],
    'snapshot-id': [v.volume.snapshotId ?? ''],
    encrypted: ['true'],
    'kms-key-id': [v.volume.dataKey.kmsKeyArn],
    'create-time': [v.volume.createdAt.toISOString()],
    'multi-attach-enabled': ['false'],
    'fast-restored': ['false'],
    ...attachmentFilterFields(v.attachment),
    ...tagFields(v.volume.tags),
  });
  checkFilterNames(req.filters, VOLUME_FILTERS);
  const matches = matcher(req.filters);
  const matched = all.filter((v) => (req.ids.length === 0 || req.ids.includes(v.volume.volumeId)) && matches(fields(v)));
  return page(matched, (v) => v.volume.volumeId, req, 'vol');
}

/**
 * DescribeSnapshots (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html).
 * Filters: snapshot-id, volume-id, status, encrypted, kms-key-id, description, owner-id,
 * owner-alias (none of ours has one), progress, start-time, storage-tier, volume-size, tag-key,
 * tag:<key>. Raises InvalidSnapshot.NotFound, InvalidParameterValue.
 */
export async function describeSnapshots(ctx: VolumeContext, req: DescribeRequest): Promise<Page<SnapshotRecord>> {
  const all = await ctx.store.listSnapshots();
  const missing = req.ids.filter((id) => !all.some((s) => s.snapshotId === id));
  if (missing.length > 0) throw new Ec2SnapshotNotFoundError(`The snapshot '${missing.join("', '")}' does not exist.`);
  const fields = (s: SnapshotRecord): Record<string, string[]> => ({
    'snapshot-id': [s.snapshotId],
    'volume-id': [s.volumeId],
    status: ['completed'],
    encrypted: ['true'],
    'kms-key-id': [s.dataKey.kmsKeyArn],
    description: [s.description],
    'owner-id': [ctx.accountId],
    'owner-alias': [],
    progress: ['100%'],
    'start-time': [s.startTime.toISOString()],
    'storage-tier': ['standard'],
    'volume-size': [String(s.volumeSizeGiB)],
    ...tagFields(s.tags),
  });
  checkFilterNames(req.filters, SNAPSHOT_FILTERS);
  const matches = matcher(req.filters);
  const matched = all.filter((s) => (req.ids.length === 0 || req.ids.includes(s.snapshotId)) && matches(fields(s)));
  return page(matched, (s) => s.snapshotId, req, 'snap');
}

// The filters the EC2 API reference documents for each action (a documented name is never refused).
const VOLUME_FILTERS = [
  'volume-id', 'status', 'size', 'availability-zone', 'volume-type', 'snapshot-id', 'encrypted', 'kms-key-id', 'create-time', 'multi-attach-enabled', 'fast-restored',
  'attachment.instance-id', 'attachment.device', 'attachment.status', 'attachment.attach-time', 'attachment.delete-on-termination', 'tag-key',
];
const SNAPSHOT_FILTERS = [
  'snapshot-id', 'volume-id', 'status', 'encrypted', 'kms-key-id', 'description', 'owner-id', 'owner-alias', 'progress', 'start-time', 'storage-tier', 'volume-size', 'tag-key',
];

/** The attachment.* filter values of a volume: none when it is not attached (EC2 lists no attachment then). */
function attachmentFilterFields(a: Attachment | undefined): Record<string, string[]> {
  return {
    'attachment.instance-id': a === undefined ? [] : [a.instanceId],
    'attachment.device': a === undefined ? [] : [a.device],
    'attachment.status': a === undefined ? [] : ['attached'],
    'attachment.attach-time': a === undefined ? [] : [a.attachedAt.toISOString()],
    'attachment.delete-on-termination': a === undefined ? [] : ['false'],
  };
}

function tagFields(tags: readonly Tag[]): Record<string, string[]> {
  const out: Record<string, string[]> = { 'tag-key': tags.map((t) => t.key) };
  for (const t of tags) out[`tag:${t.key}`] = [t.value];
  return out;
}

// Checked before filtering: with nothing to filter, a bad name would otherwise pass unnoticed.
function checkFilterNames(filters: readonly Filter[], known: readonly string[]): void {
  for (const f of filters) {
    if (!known.includes(f.name) && !f.name.startsWith('tag:')) throw new Ec2InvalidParameterValueError(`The filter '${f.name}' is invalid`);
  }
}

/** Whether an item's fields pass every filter; each pattern is read once per request, not once per item. */
function matcher(filters: readonly Filter[]): (fields: Record<string, string[]>) => boolean {
  const compiled = filters.map((f) => ({ name: f.name, patterns: f.values.map(globTokens) }));
  return (fields) =>
    compiled.every((f) => {
      const have = fields[f.name] ?? [];
      return f.patterns.some((pattern) => have.some((value) => globMatches(pattern, value)));
    });
}

/**
 * Whether `value` matches the EC2 filter pattern `p` (globTokens; `*` any run, `?` one character, `\`
 * escapes the next character: `\*amazon\?\\` is the literal `*amazon?\`, as the EC2
 * filter docs; a trailing lone `\` is itself). Greedy with one backtrack point, so
 * O(pattern × value) whatever the pattern: a regular expression of `.*` runs backtracks
 * exponentially (`*a*a*…b` against a 256-character tag value held the event loop for
 * minutes, hanging every client of the process).
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Filtering.html
 */
function globMatches(p: readonly GlobToken[], value: string): boolean {
  const v = [...value];
  let pi = 0;
  let vi = 0;
  let star = -1;
  let resume = 0;
  while (vi < v.length) {
    const t = p[pi];
    if (t !== undefined && (t === ANY_ONE || (t !== ANY_RUN && t === v[vi]))) {
      pi++;
      vi++;
    } else if (t === ANY_RUN) {
      star = pi++;
      resume = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++resume;
    } else {
      return false;
    }
  }
  while (p[pi] === ANY_RUN) pi++;
  return pi === p.length;
}

const ANY_RUN = Symbol('*');
const ANY_ONE = Symbol('?');
type GlobToken = string | typeof ANY_RUN | typeof ANY_ONE;

/** A filter pattern as wildcards and literal characters (an escaped `*`, `?` or `\` is literal). */
function globTokens(pattern: string): GlobToken[] {
  const chars = [...pattern];
  const out: GlobToken[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\' && i + 1 < chars.length) out.push(chars[++i]!);
    else out.push(c === '*' ? ANY_RUN : c === '?' ? ANY_ONE : c);
  }
  return out;
}

function page<T>(items: T[], idOf: (item: T) => string, req: DescribeRequest, kind: 'vol' | 'snap'): Page<T> {
  if (req.maxResults !== undefined && (req.maxResults < 5 || req.maxResults > 1000)) {
    throw new Ec2InvalidParameterValueError(`Value ( ${req.maxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`);
  }
  let start = 0;
  if (req.nextToken !== undefined) {
    const after = Buffer.from(req.nextToken, 'base64url').toString('utf8');
    // Only a token of this action's own kind: a DescribeSnapshots token given to
    // DescribeVolumes would otherwise restart (or skip) the listing silently.
    if (!new RegExp(`^${kind}-[0-9a-f]{17}$`).test(after)) throw new Ec2InvalidParameterValueError('The parameter NextToken is not valid');
    start = items.findIndex((i) => idOf(i) > after);
    if (start < 0) start = items.length;
  }
  const limit = req.maxResults ?? items.length;
  const chosen = items.slice(start, start + limit);
  const last = chosen.at(-1);
  const more = start + limit < items.length && last !== undefined;
  return more ? { items: chosen, nextToken: Buffer.from(idOf(last), 'utf8').toString('base64url') } : { items: chosen };
}
