/** The S3 part's public surface: what main.ts (and later the CLI) may use. */
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { CredentialLookup } from '../iam/index.js';
import type { KeyService } from '../kms/index.js';
import type { S3MetadataStore } from './metadata-store.js';
import type { ObjectBackend } from './object-backend.js';
import type { BucketAccessStore } from './access/bucket-access-store.js';
import { KmsDataKeyProvider, type KmsOnBehalf } from './sse/kms-data-key-provider.js';
import type { S3Authorizer } from './wire/authorize.js';
import { S3Handler, type S3HandlerSettings } from './wire/handler.js';

export { S3Handler, type S3HttpRequest, type S3Outcome, type S3HandlerSettings } from './wire/handler.js';
export type { S3Deps } from './s3-deps.js';
export type { S3MetadataStore, BucketRecord, ObjectRecord, BucketEncryption } from './metadata-store.js';
export type { ObjectBackend, PendingObject } from './object-backend.js';
export type { DataKeyProvider, DataKey } from './sse/data-key-provider.js';
export { KmsDataKeyProvider, type KmsOnBehalf, type S3KmsCall } from './sse/kms-data-key-provider.js';
export type { BucketAccessStore, PublicAccessBlock } from './access/bucket-access-store.js';
export { isPublicPolicy, parseBucketPolicy, effectiveBucketPolicy } from './access/bucket-policy.js';
export type { S3Authorizer } from './wire/authorize.js';
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
  /** Bucket policies and public access blocks. */
  readonly bucketAccess: BucketAccessStore;
  /** IAM's access control (RunningCipherlake.iam.access): every request is authorized through it. */
  readonly authorizer: S3Authorizer;
  /** KMS authorization of the caller for SSE-KMS (kms:ViaService), and the audit hook for those calls. */
  readonly kmsOnBehalf: KmsOnBehalf;
  /** The access keys a POST Object form may be signed with (IAM's lookup, as the edge's); without it signed forms are refused. */
  readonly credentials?: CredentialLookup;
}

/** Builds the S3 endpoint (an S3EdgeHandler for the edge) over its stores and the in-process KMS. */
export function createS3Service(o: S3ServiceOptions): S3Handler {
  const kms = new KmsDataKeyProvider(o.keys);
  return new S3Handler(
    { store: o.store, backend: o.backend, kms, bucketAccess: o.bucketAccess, clock: o.clock, region: o.region, accountId: o.accountId, log: o.log },
    o.settings,
    o.log,
    { authorizer: o.authorizer, kmsForCaller: (call) => kms.forCaller(call, o.kmsOnBehalf), ...(o.credentials !== undefined ? { credentials: o.credentials } : {}) },
  );
}
