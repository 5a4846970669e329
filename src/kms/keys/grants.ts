import { createHash, randomBytes } from 'node:crypto';
import type { EncryptionContext } from '../encryption-context.js';
import type { GrantRecord, KeySpec, KeyUsage } from './key-record.js';

/** The operations a grant may allow, as AWS lists them (GrantOperation). */
export const GRANT_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
  'Encapsulate',
  'Decapsulate',
] as const;
export type GrantOperation = (typeof GRANT_OPERATIONS)[number];

/** Operations that take an encryption context, the only ones grant constraints may accompany (besides the grant/describe ones). */
const CONTEXT_OPERATIONS: ReadonlySet<GrantOperation> = new Set([
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo',
  'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'CreateGrant', 'RetireGrant', 'DescribeKey',
]);

/** True if encryption context constraints may be used with all of `operations`. */
export function constraintsAllowedWith(operations: readonly GrantOperation[]): boolean {
  return operations.every((op) => CONTEXT_OPERATIONS.has(op));
}

const COMMON: readonly GrantOperation[] = ['CreateGrant', 'RetireGrant', 'DescribeKey'];

/** The grant operations a key of this spec and usage supports (AWS refuses the others). */
export function grantOperationsFor(spec: KeySpec, usage: KeyUsage): readonly GrantOperation[] {
  if (usage === 'GENERATE_VERIFY_MAC') return [...COMMON, 'GenerateMac', 'VerifyMac'];
  if (usage === 'SIGN_VERIFY') return [...COMMON, 'Sign', 'Verify', 'GetPublicKey'];
  if (spec === 'SYMMETRIC_DEFAULT') {
    return [...COMMON, 'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext'];
  }
  return [...COMMON, 'Decrypt', 'Encrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GetPublicKey'];
}

/**
 * Whether `grant` allows `operation` for a request with `encryptionContext`: the operation is
 * listed, and the context satisfies the grant's constraints (EncryptionContextEquals: exactly
 * the same pairs; EncryptionContextSubset: at least the constraint's pairs). Pure: no I/O,
 * no clock; it does not check the grantee (the caller matches the principal).
 */
export function grantAllows(grant: GrantRecord, operation: string, encryptionContext: EncryptionContext | undefined): boolean {
  if (!grant.operations.includes(operation)) return false;
  const context = encryptionContext ?? {};
  const equals = grant.constraints?.encryptionContextEquals;
  if (equals !== undefined) {
    const want = Object.entries(equals);
    if (want.length !== Object.keys(context).length) return false;
    if (!want.every(([k, v]) => Object.hasOwn(context, k) && context[k] === v)) return false;
  }
  const subset = grant.constraints?.encryptionContextSubset;
  if (subset !== undefined) {
    if (!Object.entries(subset).every(([k, v]) => Object.hasOwn(context, k) && context[k] === v)) return false;
  }
  return true;
}

/** A new random grant token (returned once to the caller) and the SHA-256 hash we store instead. */
export function newGrantToken(): { token: string; tokenHash: string } {
  const token = randomBytes(48).toString('base64url');
  return { token, tokenHash: grantTokenHash(token) };
}

/** The stored form of a grant token: hex SHA-256. Never store or log the token itself. */
export function grantTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new grant id: 64 hex characters, as AWS's. */
export function newGrantId(): string {
  return randomBytes(32).toString('hex');
}
