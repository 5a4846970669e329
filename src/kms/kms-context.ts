import type { Clock } from '../common/clock.js';
import type { Policy } from '../iam/policy/index.js';
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
  /** The negotiated protocol when secureTransport, e.g. `TLSv1.3` (feeds s3:TlsVersion, audit tlsDetails). */
  readonly tlsVersion?: string;
  /** The negotiated suite in OpenSSL naming, e.g. `TLS_AES_256_GCM_SHA384` or `ECDHE-ECDSA-AES128-GCM-SHA256`. */
  readonly cipherSuite?: string;
  /** Set only for requests that arrived through a private endpoint (`vpce-…`); feeds aws:SourceVpce. */
  readonly vpcEndpointId?: string;
  /** That private endpoint's parsed endpoint policy, when it has one; requests must also satisfy it. */
  readonly endpointPolicy?: Policy;
  /** Set when another part (s3, volumes) calls KMS on the caller's behalf, e.g. `s3.amazonaws.com`. */
  readonly viaService?: string;
}

/**
 * A KMS call another part (S3's SSE-KMS, volumes) made on a caller's behalf, as that part
 * reports it for the audit trail (net/edge-ec2 kmsCallAuditor turns it into a KMS record).
 * Never carries key material.
 */
export interface OnBehalfKmsCall<Operation extends string = string> {
  readonly operation: Operation;
  readonly keyIdentifier: string;
  /** The original caller, with `viaService` set to the part's service (CloudTrail's invokedBy). */
  readonly call: CallContext;
  readonly requestParameters: Record<string, unknown>;
  /**
   * On success only: the key material version the call used (a GenerateDataKey*: the key's
   * current one; Decrypt: the one that opened the blob), by key id and version number; the
   * record names it by its keyMaterialId. Never the material itself.
   */
  readonly material?: { readonly keyId: string; readonly version: number };
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

/** What KMS operations are given: stores, root of trust, time. */
export interface KmsDeps {
  readonly store: KeyStore;
  readonly rootKey: RootKeyProvider;
  readonly clock: Clock;
  readonly settings: KmsSettings;
}
