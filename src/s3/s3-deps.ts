import type { Clock } from '../common/clock.js';
import type { S3MetadataStore } from './metadata-store.js';
import type { ObjectBackend } from './object-backend.js';
import type { DataKeyProvider } from './sse/data-key-provider.js';

/** What the S3 operations work with; built once in main.ts. */
export interface S3Deps {
  readonly store: S3MetadataStore;
  readonly backend: ObjectBackend;
  readonly kms: DataKeyProvider;
  readonly clock: Clock;
  readonly region: string;
  readonly accountId: string;
  /** Plaintext bytes per sealed segment; default 64 KiB (the format's reference size). */
  readonly segmentSize?: number;
}
