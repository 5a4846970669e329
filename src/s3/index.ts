/** The S3 part's public surface: what main.ts (and later the CLI) may use. */
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { KeyService } from '../kms/index.js';
import type { S3MetadataStore } from './metadata-store.js';
import type { ObjectBackend } from './object-backend.js';
import { KmsDataKeyProvider } from './sse/kms-data-key-provider.js';
import { S3Handler, type S3HandlerSettings } from './wire/handler.js';

export { S3Handler, type S3HttpRequest, type S3Outcome, type S3HandlerSettings } from './wire/handler.js';
export type { S3Deps } from './s3-deps.js';
export type { S3MetadataStore, BucketRecord, ObjectRecord, BucketEncryption } from './metadata-store.js';
export type { ObjectBackend, PendingObject } from './object-backend.js';
export type { DataKeyProvider, DataKey } from './sse/data-key-provider.js';
export { KmsDataKeyProvider } from './sse/kms-data-key-provider.js';
export { derivePartKey, type SseMode, type ObjectBinding, type SealedObjectKey } from './sse/sealing.js';

/** What createS3Service needs. */
export interface S3ServiceOptions {
  readonly store: S3MetadataStore;
  readonly backend: ObjectBackend;
  readonly keys: KeyService;
  readonly clock: Clock;
  readonly region: string;
  readonly accountId: string;
  readonly log: Logger;
  readonly settings: S3HandlerSettings;
}

/** Builds the S3 endpoint (an S3EdgeHandler for the edge) over its stores and the in-process KMS. */
export function createS3Service(o: S3ServiceOptions): S3Handler {
  return new S3Handler(
    { store: o.store, backend: o.backend, kms: new KmsDataKeyProvider(o.keys), clock: o.clock, region: o.region, accountId: o.accountId },
    o.settings,
    o.log,
  );
}
