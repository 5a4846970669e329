import { EC2_ID_FORMS } from '../volume-context.js';

/** One resource an EC2 call names, as the audit record's `resources` lists it. */
export interface Ec2AuditResource {
  readonly arn: string;
  readonly type: string;
}

type Kind = 'volume' | 'snapshot' | 'instance';

const TYPES: Readonly<Record<Kind, string>> = { volume: 'AWS::EC2::Volume', snapshot: 'AWS::EC2::Snapshot', instance: 'AWS::EC2::Instance' };

// EC2's id forms. A listed id becomes a resource-name term (the ARN and the name after its
// last `/`), so only an id of its kind's form is listed: AttachVolume's InstanceId is not
// validated (any string is an instance here), and an InstanceId of `x/vol-…` or `vol-…`
// must not file the record under a volume it never touched, nor a huge one make a huge term.
const ID_FORMS: Readonly<Record<Kind, RegExp>> = { volume: EC2_ID_FORMS.vol, snapshot: EC2_ID_FORMS.snap, instance: EC2_ID_FORMS.i };

// The request parameters each action reads that name one resource. Only these: a request
// can carry any parameter unread, and must not file its record under a resource it never
// acted on. Listings (DescribeVolumes' VolumeId.N) name none, as CloudTrail's do not.
const NAMING_PARAMS: Readonly<Record<string, ReadonlyArray<readonly [param: string, kind: Kind]>>> = {
  CreateVolume: [['SnapshotId', 'snapshot']],
  DeleteVolume: [['VolumeId', 'volume']],
  AttachVolume: [['VolumeId', 'volume'], ['InstanceId', 'instance']],
  DetachVolume: [['VolumeId', 'volume'], ['InstanceId', 'instance']],
  CreateSnapshot: [['VolumeId', 'volume']],
  DeleteSnapshot: [['SnapshotId', 'snapshot']],
  CopySnapshot: [['SourceSnapshotId', 'snapshot']],
};

// The response fields of a successful call that name a resource: what it created (CreateVolume,
// CreateSnapshot, CopySnapshot) and the attachment it made or undid (Attach/DetachVolume).
const ANSWERED_FIELDS: ReadonlyArray<readonly [field: string, kind: Kind]> = [['volumeId', 'volume'], ['snapshotId', 'snapshot'], ['instanceId', 'instance']];

/**
 * The volumes, snapshots and instances an EC2 call names, for its audit record: those the
 * `action` reads from its request parameters (so a denied or failed call lists them too;
 * call this only once the request parsed, so that they are well formed), then those a
 * successful call answered with (`responseElements`: what it created or attached), by ARN
 * (`arn:aws:ec2:REGION:ACCOUNT:volume/vol-…`), each once; an id not of EC2's form for its kind
 * (`vol-`, `snap-`, `i-` and 8 to 17 hex digits) is not listed. Never throws; [] when none.
 */
export function ec2ResourcesOf(
  action: string,
  requestParameters: Readonly<Record<string, unknown>>,
  responseElements: Readonly<Record<string, unknown>> | undefined,
  region: string,
  accountId: string,
): Ec2AuditResource[] {
  const listed: Ec2AuditResource[] = [];
  const add = (id: unknown, kind: Kind): void => {
    if (typeof id !== 'string' || !ID_FORMS[kind].test(id)) return;
    const arn = `arn:aws:ec2:${region}:${accountId}:${kind}/${id}`;
    if (!listed.some((r) => r.arn === arn)) listed.push({ arn, type: TYPES[kind] });
  };
  const params = Object.hasOwn(NAMING_PARAMS, action) ? NAMING_PARAMS[action] ?? [] : [];
  for (const [param, kind] of params) if (Object.hasOwn(requestParameters, param)) add(requestParameters[param], kind);
  if (responseElements !== undefined) {
    for (const [field, kind] of ANSWERED_FIELDS) if (Object.hasOwn(responseElements, field)) add(responseElements[field], kind);
  }
  return listed;
}
