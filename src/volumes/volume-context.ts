import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import type { Attachments } from './attachments.js';
import type { VolumeKeys } from './volume-keys.js';
import type { VolumeStore } from './volume-store.js';

/** What the volume operations share: stores, keys, attachments, time, where files live. */
export interface VolumeContext {
  readonly store: VolumeStore;
  readonly keys: VolumeKeys;
  readonly attachments: Attachments;
  readonly clock: Clock;
  /** Directory of volume and snapshot files (`vol-….vol`, `snap-….snap`). */
  readonly dir: string;
  readonly region: string;
  readonly accountId: string;
  /** Where the NBD server listens, when it runs. */
  readonly nbdAddress: () => { readonly host: string; readonly port: number } | undefined;
}

/** 1 GiB: EC2 sizes are in GiB. */
export const GIB = 1024 * 1024 * 1024;

/**
 * EC2's id forms by prefix: the prefix, a dash and 8 (older ids) to 17 lower-case hex digits.
 * The one definition the wire (malformed ids), AttachVolume (InstanceId) and the audit
 * resources list (which ids it files a record under) all test against.
 */
export const EC2_ID_FORMS: Readonly<Record<'vol' | 'snap' | 'i', RegExp>> = { vol: /^vol-[0-9a-f]{8,17}$/, snap: /^snap-[0-9a-f]{8,17}$/, i: /^i-[0-9a-f]{8,17}$/ };

/** A new EC2-style id: prefix, dash, 17 lower-case hex digits. */
export function newId(prefix: 'vol' | 'snap'): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/** The backing file of a volume. */
export function volumePath(ctx: VolumeContext, volumeId: string): string {
  return join(ctx.dir, `${volumeId}.vol`);
}

/** The backing file of a snapshot (same format as a volume file, opened read-only). */
export function snapshotPath(ctx: VolumeContext, snapshotId: string): string {
  return join(ctx.dir, `${snapshotId}.snap`);
}
