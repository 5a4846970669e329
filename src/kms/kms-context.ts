import type { Clock } from '../common/clock.js';
import type { Principal } from '../iam/principals.js';
import type { KeyStore } from './key-store.js';
import type { RootKeyProvider } from './root-key/root-key-provider.js';

/** Installation-wide KMS settings. */
export interface KmsSettings {
  readonly region: string;
  readonly accountId: string;
  /** How long unwrapped key material may stay cached in memory (ms). */
  readonly materialCacheTtlMs: number;
}

/** Who is calling, and how: what operations need to know about the request besides its fields. */
export interface CallContext {
  readonly principal: Principal;
  readonly accessKeyId?: string;
  readonly sourceIp: string;
  readonly secureTransport: boolean;
  /** Set when another part (s3, volumes) calls KMS on the caller's behalf, e.g. `s3.amazonaws.com`. */
  readonly viaService?: string;
}

/** What KMS operations are given: stores, root of trust, time. */
export interface KmsDeps {
  readonly store: KeyStore;
  readonly rootKey: RootKeyProvider;
  readonly clock: Clock;
  readonly settings: KmsSettings;
}
