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
