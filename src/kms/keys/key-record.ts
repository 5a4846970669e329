/** Key specs KMS offers. */
export const KEY_SPECS = [
  'SYMMETRIC_DEFAULT',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
] as const;
export type KeySpec = (typeof KEY_SPECS)[number];

export const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC'] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';
export type KeyManager = 'AWS' | 'CUSTOMER';

/** One generation of key material. Material is wrapped by the root key, never stored plain. */
export interface KeyVersion {
  /** 1 for the original material, +1 per rotation. Bound into every ciphertext blob. */
  readonly version: number;
  readonly createdAt: Date;
  /** Root-wrapped material (label `kms-key:<keyId>:<version>`). */
  readonly wrappedMaterial: Buffer;
  /** SubjectPublicKeyInfo DER of asymmetric keys (not secret). */
  readonly publicKey?: Buffer;
  readonly rotationType?: 'AUTOMATIC' | 'ON_DEMAND';
}

export interface Tag {
  readonly key: string;
  readonly value: string;
}

export interface RotationState {
  readonly enabled: boolean;
  readonly periodDays: number;
  readonly nextRotationDate?: Date;
}

/** A KMS key as stored. `revision` increases with every update (optimistic concurrency). */
export interface KeyRecord {
  readonly keyId: string;
  readonly accountId: string;
  readonly region: string;
  readonly createdAt: Date;
  readonly description: string;
  readonly keySpec: KeySpec;
  readonly keyUsage: KeyUsage;
  readonly keyState: KeyState;
  readonly keyManager: KeyManager;
  readonly deletionDate?: Date;
  readonly pendingWindowDays?: number;
  readonly policy: string;
  readonly tags: readonly Tag[];
  readonly rotation: RotationState;
  readonly versions: readonly KeyVersion[];
  readonly revision: number;
}

export interface AliasRecord {
  readonly aliasName: string;
  readonly targetKeyId: string;
  readonly createdAt: Date;
  readonly lastUpdatedAt: Date;
}

export interface GrantRecord {
  readonly grantId: string;
  readonly keyId: string;
  readonly name?: string;
  readonly granteePrincipal: string;
  readonly retiringPrincipal?: string;
  readonly issuingAccount: string;
  readonly operations: readonly string[];
  readonly constraints?: {
    readonly encryptionContextEquals?: Readonly<Record<string, string>>;
    readonly encryptionContextSubset?: Readonly<Record<string, string>>;
  };
  readonly createdAt: Date;
  /** SHA-256 of the grant token; the token itself is returned once and never stored. */
  readonly tokenHash: string;
}

/** `arn:aws:kms:REGION:ACCOUNT:key/UUID` */
export function keyArn(key: Pick<KeyRecord, 'region' | 'accountId' | 'keyId'>): string {
  return `arn:aws:kms:${key.region}:${key.accountId}:key/${key.keyId}`;
}

/** `arn:aws:kms:REGION:ACCOUNT:alias/NAME` */
export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}

/** The root-key label of one version's material; binds wrapped material to its record. */
export function materialLabel(keyId: string, version: number): string {
  return `kms-key:${keyId}:${version}`;
}

/** The newest material version. */
export function currentVersion(key: KeyRecord): KeyVersion {
  const v = key.versions[key.versions.length - 1];
  if (v === undefined) throw new Error(`key ${key.keyId} has no material`);
  return v;
}

/** JSON form of a key record for storage: Buffers as base64, Dates as ISO strings. */
export function encodeKeyRecord(key: KeyRecord): string {
  return JSON.stringify(key, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return { $b64: Buffer.from((v as { data: number[] }).data).toString('base64') };
    }
    return v;
  });
}

const DATE_FIELDS = new Set(['createdAt', 'deletionDate', 'nextRotationDate', 'lastUpdatedAt']);

/** Inverse of encodeKeyRecord (also used for grants and aliases). */
export function decodeRecord<T>(json: string): T {
  return JSON.parse(json, (k, v: unknown) => {
    if (v !== null && typeof v === 'object' && typeof (v as { $b64?: unknown }).$b64 === 'string') {
      return Buffer.from((v as { $b64: string }).$b64, 'base64');
    }
    if (DATE_FIELDS.has(k) && typeof v === 'string') return new Date(v);
    return v;
  }) as T;
}
