import type { CallContext } from '../../kms/index.js';
import { echoed } from '../../common/bounded-echo.js';
import { Ec2InvalidParameterCombinationError, Ec2InvalidParameterValueError, Ec2MissingParameterError } from '../errors.js';
import { attachVolume, detachVolume } from '../operations/attach.js';
import { describeSnapshots, describeVolumes, type DescribeRequest } from '../operations/describe.js';
import { getDefaultKmsKeyId, getEncryptionByDefault, modifyDefaultKmsKeyId, resetDefaultKmsKeyId, setEncryptionByDefault } from '../operations/ebs-defaults.js';
import { copySnapshot, createSnapshot, deleteSnapshot } from '../operations/snapshots.js';
import { createVolume, deleteVolume } from '../operations/volumes.js';
import type { VolumeContext } from '../volume-context.js';
import type { Ec2Params } from './ec2-params.js';
import type { Ec2Fields } from './ec2-xml.js';
import { attachmentFields, nbdFields, snapshotFields, volumeFields, volumeViewFields } from './views.js';

/**
 * One EC2 action, declared as data: whether it only reads, how to read the request, the
 * operation, and how to write the response. The handler wraps every route with the same
 * authorization, dry-run, error mapping and audit. `secretFields` names response fields
 * kept out of the audit record.
 */
export interface Ec2Route<Req = unknown, Res = unknown> {
  readonly readOnly: boolean;
  readonly parse: (p: Ec2Params) => Req;
  readonly operate: (ctx: VolumeContext, req: Req, call: CallContext) => Promise<Res>;
  readonly respond: (res: Res, ctx: VolumeContext) => Ec2Fields;
  readonly secretFields?: readonly string[];
}

function route<Req, Res>(r: Ec2Route<Req, Res>): Ec2Route {
  return r as unknown as Ec2Route;
}

function describeRequest(p: Ec2Params, idList: string, kind: 'vol' | 'snap'): DescribeRequest {
  const maxResults = p.integer('MaxResults');
  const nextToken = p.optional('NextToken');
  const ids = p.resourceIds(idList, kind);
  // The API reference: "You cannot specify this parameter and the volume IDs parameter in
  // the same request" (EC2's answer, quoted in aws-cli#1976; the same for snapshot ids).
  if (maxResults !== undefined && ids.length > 0) {
    throw new Ec2InvalidParameterCombinationError(`The parameter ${kind === 'vol' ? 'volumeSet' : 'snapshotSet'} cannot be used with the parameter maxResults`);
  }
  return { ids, filters: p.filters(), ...(maxResults !== undefined ? { maxResults } : {}), ...(nextToken !== undefined ? { nextToken } : {}) };
}

/** Optional fields spread only when present (exactOptionalPropertyTypes). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

const ok = (): Ec2Fields => ({ return: true });

/**
 * CreateVolume's zone. EC2 requires AvailabilityZone or AvailabilityZoneId, not both (API
 * reference), and answers neither with "MissingParameter: The request must contain the
 * parameter zone" (EC2's wording, quoted in terraform-provider-aws#13990 and
 * apache/libcloud#1422); a volume with an empty zone was stored before. Cipherlake has no
 * zone catalogue to turn a zone id (use1-az1) into its name, so AvailabilityZoneId is
 * refused rather than stored as a name it is not, or dropped. Raises MissingParameter,
 * InvalidParameterCombination, InvalidParameterValue.
 */
function createVolumeZone(p: Ec2Params): string {
  const zone = p.optional('AvailabilityZone') ?? '';
  const zoneId = p.optional('AvailabilityZoneId') ?? '';
  if (zone !== '' && zoneId !== '') {
    throw new Ec2InvalidParameterCombinationError("AvailabilityZone and AvailabilityZoneId can't be used together. Specify only one of these parameters.");
  }
  if (zoneId !== '') {
    throw new Ec2InvalidParameterValueError(`Value (${echoed(zoneId)}) for parameter availabilityZoneId is invalid. Cipherlake does not support zone ids: use AvailabilityZone.`);
  }
  if (zone === '') throw new Ec2MissingParameterError('The request must contain the parameter zone');
  return zone;
}

/** The EC2 actions Cipherlake serves, by their Action name. */
export const EC2_ROUTES: Readonly<Record<string, Ec2Route>> = {
  CreateVolume: route({
    readOnly: false,
    parse: (p) => ({
      // Encrypted=false is accepted and means "the default": there are no plaintext volumes.
      encrypted: p.boolean('Encrypted'),
      availabilityZone: createVolumeZone(p),
      tags: p.tags('volume'),
      ...opt('sizeGiB', p.integer('Size')),
      ...opt('volumeType', p.optional('VolumeType')),
      ...opt('kmsKeyId', p.optional('KmsKeyId')),
      ...opt('snapshotId', p.optionalResourceId('SnapshotId', 'snap')),
      ...opt('clientToken', p.optional('ClientToken')),
    }),
    operate: (ctx, r, call) => createVolume(ctx, call, r),
    respond: (v) => volumeFields(v, 'available'),
  }),
  DescribeVolumes: route({
    readOnly: true,
    parse: (p) => describeRequest(p, 'VolumeId', 'vol'),
    operate: (ctx, r) => describeVolumes(ctx, r),
    respond: (page) => ({ volumeSet: page.items.map(volumeViewFields), nextToken: page.nextToken }),
  }),
  DeleteVolume: route({
    readOnly: false,
    parse: (p) => p.resourceId('VolumeId', 'vol'),
    operate: (ctx, id) => deleteVolume(ctx, id),
    respond: ok,
  }),
  AttachVolume: route({
    readOnly: false,
    parse: (p) => ({ volumeId: p.resourceId('VolumeId', 'vol'), instanceId: p.required('InstanceId'), device: p.required('Device') }),
    operate: (ctx, r, call) => attachVolume(ctx, call, r),
    respond: (r) => ({ ...attachmentFields(r.attachment, 'attached'), cipherlakeNbd: r.nbd === undefined ? undefined : nbdFields(r.nbd) }),
    secretFields: ['cipherlakeNbd'],
  }),
  DetachVolume: route({
    readOnly: false,
    parse: (p) => ({ volumeId: p.resourceId('VolumeId', 'vol'), ...opt('instanceId', p.optional('InstanceId')) }),
    operate: (ctx, r) => detachVolume(ctx, r),
    respond: (a) => attachmentFields(a, 'detached'),
  }),
  CreateSnapshot: route({
    readOnly: false,
    parse: (p) => ({ volumeId: p.resourceId('VolumeId', 'vol'), description: p.optional('Description') ?? '', tags: p.tags('snapshot') }),
    operate: (ctx, r, call) => createSnapshot(ctx, call, r),
    respond: (s, ctx) => snapshotFields(s, ctx.accountId),
  }),
  DescribeSnapshots: route({
    readOnly: true,
    parse: (p) => describeRequest(p, 'SnapshotId', 'snap'),
    operate: (ctx, r) => describeSnapshots(ctx, r),
    respond: (page, ctx) => ({ snapshotSet: page.items.map((s) => snapshotFields(s, ctx.accountId)), nextToken: page.nextToken }),
  }),
  DeleteSnapshot: route({
    readOnly: false,
    parse: (p) => p.resourceId('SnapshotId', 'snap'),
    operate: (ctx, id) => deleteSnapshot(ctx, id),
    respond: ok,
  }),
  CopySnapshot: route({
    readOnly: false,
    parse: (p) => ({
      sourceSnapshotId: p.resourceId('SourceSnapshotId', 'snap'),
      sourceRegion: p.required('SourceRegion'),
      // Encrypted=false is accepted and means "the default": every copy is encrypted.
      encrypted: p.boolean('Encrypted'),
      tags: p.tags('snapshot'),
      ...opt('description', p.optional('Description')),
      ...opt('kmsKeyId', p.optional('KmsKeyId')),
    }),
    operate: (ctx, r, call) => copySnapshot(ctx, call, r),
    respond: (s) => ({ snapshotId: s.snapshotId, tagSet: s.tags.map((t) => ({ key: t.key, value: t.value })) }),
  }),
  EnableEbsEncryptionByDefault: route({
    readOnly: false,
    parse: () => undefined,
    operate: (ctx) => setEncryptionByDefault(ctx, true),
    respond: (v) => ({ ebsEncryptionByDefault: v }),
  }),
  DisableEbsEncryptionByDefault: route({
    readOnly: false,
    parse: () => undefined,
    operate: (ctx) => setEncryptionByDefault(ctx, false),
    respond: (v) => ({ ebsEncryptionByDefault: v }),
  }),
  GetEbsEncryptionByDefault: route({
    readOnly: true,
    parse: () => undefined,
    operate: (ctx) => getEncryptionByDefault(ctx),
    respond: (v) => ({ ebsEncryptionByDefault: v, sseType: 'sse-ebs' }),
  }),
  ModifyEbsDefaultKmsKeyId: route({
    readOnly: false,
    parse: (p) => p.required('KmsKeyId'),
    operate: (ctx, id) => modifyDefaultKmsKeyId(ctx, id),
    respond: (arn) => ({ kmsKeyId: arn }),
  }),
  GetEbsDefaultKmsKeyId: route({
    readOnly: true,
    parse: () => undefined,
    operate: (ctx) => getDefaultKmsKeyId(ctx),
    respond: (id) => ({ kmsKeyId: id }),
  }),
  ResetEbsDefaultKmsKeyId: route({
    readOnly: false,
    parse: () => undefined,
    operate: (ctx) => resetDefaultKmsKeyId(ctx),
    respond: (arn) => ({ kmsKeyId: arn }),
  }),
};
