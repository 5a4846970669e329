import type { Attachment } from '../attachments.js';
import type { NbdAccess } from '../operations/attach.js';
import type { VolumeView } from '../operations/describe.js';
import type { SnapshotRecord, Tag, VolumeRecord } from '../volume-store.js';
import type { Ec2Fields, Ec2Xml } from './ec2-xml.js';

/** `tagSet` items. */
export function tagSet(tags: readonly Tag[]): Ec2Xml {
  return tags.map((t) => ({ key: t.key, value: t.value }));
}

/** The fields EC2 gives a volume (CreateVolume's body, DescribeVolumes' items). */
export function volumeFields(v: VolumeRecord, state: string, attachment?: Attachment): Ec2Fields {
  return {
    volumeId: v.volumeId,
    size: v.sizeGiB,
    snapshotId: v.snapshotId ?? '',
    availabilityZone: v.availabilityZone,
    status: state,
    createTime: v.createdAt,
    attachmentSet: attachment === undefined ? [] : [attachmentFields(attachment, 'attached')],
    tagSet: tagSet(v.tags),
    volumeType: v.volumeType,
    encrypted: true,
    kmsKeyId: v.dataKey.kmsKeyArn,
    multiAttachEnabled: false,
  };
}

/** A volume of DescribeVolumes. */
export function volumeViewFields(v: VolumeView): Ec2Fields {
  return volumeFields(v.volume, v.state, v.attachment);
}

/** An attachment (AttachVolume/DetachVolume bodies, attachmentSet items). */
export function attachmentFields(a: Attachment, status: 'attached' | 'detached'): Ec2Fields {
  return { volumeId: a.volumeId, instanceId: a.instanceId, device: a.device, status, attachTime: a.attachedAt, deleteOnTermination: false };
}

/**
 * Cipherlake's extension element of AttachVolume: how to reach the volume over NBD.
 * EC2 clients ignore elements they do not know; `cipherlake volume attach` reads it. It
 * carries the PSK, so it appears only in the answer to the caller, never in the audit.
 */
export function nbdFields(nbd: NbdAccess): Ec2Fields {
  return { uri: nbd.uri, pskIdentity: nbd.pskIdentity, pskKey: nbd.pskHex };
}

/** The fields EC2 gives a snapshot. */
export function snapshotFields(s: SnapshotRecord, ownerId: string): Ec2Fields {
  return {
    snapshotId: s.snapshotId,
    volumeId: s.volumeId,
    status: 'completed',
    startTime: s.startTime,
    progress: '100%',
    ownerId,
    volumeSize: s.volumeSizeGiB,
    description: s.description,
    encrypted: true,
    kmsKeyId: s.dataKey.kmsKeyArn,
    tagSet: tagSet(s.tags),
    storageTier: 'standard',
  };
}
