import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { CallContext, KeyService } from '../kms/index.js';
import { Attachments } from './attachments.js';
import type { VolumeContext } from './volume-context.js';
import { VolumeKeys, type VolumeKeysDeps } from './volume-keys.js';
import type { VolumeStore } from './volume-store.js';
import { handleEc2Request, type Ec2Authorizer, type Ec2Outcome } from './wire/handler.js';

/** What the volumes part is built from. */
export interface VolumeServiceDeps {
  readonly store: VolumeStore;
  readonly keys: KeyService;
  readonly clock: Clock;
  /** Directory for volume and snapshot files (created 0700 if absent). */
  readonly dir: string;
  readonly region: string;
  readonly accountId: string;
  readonly log: Logger;
  /** IAM authorization of EC2 actions; absent allows every authenticated caller. */
  readonly authorize?: Ec2Authorizer;
  readonly authorizeKmsOnBehalf?: VolumeKeysDeps['authorizeOnBehalf'];
  readonly recordKmsCall?: VolumeKeysDeps['recordKmsCall'];
}

/** The volumes part as the rest of the program sees it. */
export interface VolumeService {
  /** The NBD export registry (attached volumes only) and TLS-PSK lookup. */
  readonly attachments: Attachments;
  /** Serves one authenticated EC2 Query request; never throws. */
  handle(body: string, rawQuery: string, call: CallContext, requestId: string): Promise<Ec2Outcome>;
  /** Tells the service where the NBD server listens (AttachVolume's URI uses it). */
  setNbdAddress(address: { host: string; port: number }): void;
  /** Detaches every volume (zeroing their keys). */
  close(): Promise<void>;
}

/**
 * Builds the EBS analogue: EC2 volume and snapshot actions over `store` and files in
 * `dir`, keys through the in-process KMS, attachments exported over NBD.
 */
export function createVolumeService(deps: VolumeServiceDeps): VolumeService {
  mkdirSync(deps.dir, { recursive: true, mode: 0o700 });
  const attachments = new Attachments();
  let nbd: { host: string; port: number } | undefined;
  const ctx: VolumeContext = {
    store: deps.store,
    keys: new VolumeKeys({
      keys: deps.keys,
      region: deps.region,
      ...(deps.authorizeKmsOnBehalf !== undefined ? { authorizeOnBehalf: deps.authorizeKmsOnBehalf } : {}),
      ...(deps.recordKmsCall !== undefined ? { recordKmsCall: deps.recordKmsCall } : {}),
    }),
    attachments,
    clock: deps.clock,
    dir: deps.dir,
    region: deps.region,
    accountId: deps.accountId,
    nbdAddress: () => nbd,
  };
  return {
    attachments,
    handle: (body, rawQuery, call, requestId) => handleEc2Request(ctx, body, rawQuery, call, requestId, deps.authorize, deps.log),
    setNbdAddress: (address) => {
      nbd = address;
    },
    close: () => attachments.closeAll(),
  };
}
