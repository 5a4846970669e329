import type { Clock } from '../common/clock.js';
import type { BucketAccessStore } from './access/bucket-access-store.js';
import type { S3MetadataStore } from './metadata-store.js';
import type { ObjectBackend } from './object-backend.js';
import type { DataKeyProvider } from './sse/data-key-provider.js';

/** What the S3 operations work with; built once in main.ts. */
export interface S3Deps {
  readonly store: S3MetadataStore;
  readonly backend: ObjectBackend;
  /** S3's own use of KMS: SSE-S3, whose AWS managed key S3 uses as itself (no caller permission needed, as on AWS). */
  readonly kms: DataKeyProvider;
  /**
   * SSE-KMS data keys, authorized as the request's caller with kms:ViaService (set per
   * request by the wire handler). Absent outside a request: `kms` is used.
   */
  readonly callerKms?: DataKeyProvider;
  /** Bucket policies and public access blocks. */
  readonly bucketAccess: BucketAccessStore;
  readonly clock: Clock;
  readonly region: string;
  readonly accountId: string;
  /** Plaintext bytes per sealed segment; default 64 KiB (the format's reference size). */
  readonly segmentSize?: number;
  /**
   * Where work that goes on after an answer reports its failures (a replaced body's removal,
   * at warn; see removeUnreferencedBodies). A pino Logger fits. Absent: such failures are
   * left to the orphan sweep without a word.
   */
  readonly log?: { warn(fields: object, message: string): void };
}
