import { isDeepStrictEqual } from 'node:util';
import type { EncryptionContext } from '../encryption-context.js';
import type { Page } from '../key-store.js';
import type { KeyService } from '../keys/key-service.js';
import type { CallContext } from '../kms-context.js';
import { keyArn, type GrantRecord, type KeyRecord } from '../keys/key-record.js';
import { constraintsAllowedWith, grantOperationsFor, grantTokenHash, newGrantId, newGrantToken, type GrantOperation } from '../keys/grants.js';
import { InvalidGrantIdError, InvalidGrantTokenError, KeyInvalidStateError, NotFoundError, ValidationError } from '../errors.js';

/**
 * Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant. Grants are
 * recorded here; enforcing them in cryptographic operations uses `grantAllows`.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html (and siblings)
 */

export interface GrantConstraints {
  readonly encryptionContextEquals?: EncryptionContext;
  readonly encryptionContextSubset?: EncryptionContext;
}

export interface CreateGrantRequest {
  readonly keyId: string;
  readonly granteePrincipal: string;
  readonly retiringPrincipal?: string;
  readonly operations: readonly GrantOperation[];
  readonly constraints?: GrantConstraints;
  readonly name?: string;
}

export interface CreateGrantResult {
  readonly grantId: string;
  /** Returned once; only its hash is stored. */
  readonly grantToken: string;
}

const GRANT_ID = /^[0-9a-f]{64}$/;

function checkOperations(key: KeyRecord, req: CreateGrantRequest): void {
  if (req.operations.length === 0) throw new ValidationError('1 validation error detected: Value at \'operations\' failed to satisfy constraint: Member must have length greater than or equal to 1');
  const supported = grantOperationsFor(key.keySpec, key.keyUsage);
  const unsupported = req.operations.filter((op) => !supported.includes(op));
  if (unsupported.length > 0) throw new ValidationError(`${unsupported.join(', ')} ${unsupported.length === 1 ? 'is' : 'are'} not a valid grant operation for ${keyArn(key)} (${key.keySpec}, ${key.keyUsage}).`);
  const c = req.constraints;
  if (key.keySpec !== 'SYMMETRIC_DEFAULT' && (c?.encryptionContextEquals !== undefined || c?.encryptionContextSubset !== undefined)) {
    // AWS: operations with asymmetric and HMAC keys take no encryption context, so a grant on one
    // cannot carry a context constraint (CreateGrant, Constraints). Refused, not stored unenforceable.
    throw new ValidationError(`Encryption context grant constraints are not supported for ${keyArn(key)} (${key.keySpec}): asymmetric and HMAC KMS keys don't support an encryption context.`);
  }
  if (req.constraints !== undefined && !constraintsAllowedWith(req.operations)) {
    throw new ValidationError('Grant constraints are only allowed with grant operations that accept an encryption context.');
  }
}

function sameGrant(g: GrantRecord, req: CreateGrantRequest): boolean {
  return (
    g.granteePrincipal === req.granteePrincipal &&
    g.retiringPrincipal === req.retiringPrincipal &&
    isDeepStrictEqual([...g.operations].sort(), [...req.operations].sort()) &&
    isDeepStrictEqual(g.constraints ?? {}, req.constraints ?? {})
  );
}

async function findNamedGrant(keys: KeyService, keyId: string, req: CreateGrantRequest): Promise<GrantRecord | undefined> {
  let marker: string | undefined;
  do {
    const page = await keys.deps.store.listGrants(1000, marker, { keyId });
    const hit = page.items.find((g) => g.name === req.name && sameGrant(g, req));
    if (hit !== undefined) return hit;
    marker = page.nextMarker;
  } while (marker !== undefined);
  return undefined;
}

/**
 * CreateGrant. With a Name, retrying with identical parameters returns the same GrantId
 * (and, as on AWS, a new token; the new token replaces the previous one). Raises
 * ValidationError (operations not valid for the key's spec and usage, an encryption context
 * constraint on an asymmetric or HMAC key, constraints with operations that take no context),
 * NotFoundError, KeyInvalidStateError (pending deletion). Stores nothing when it raises.
 */
export async function createGrant(keys: KeyService, req: CreateGrantRequest): Promise<CreateGrantResult> {
  const key = await checkCreateGrant(keys, req);
  const { store, clock, settings } = keys.deps;
  const { token, tokenHash } = newGrantToken();
  if (req.name !== undefined) {
    const existing = await findNamedGrant(keys, key.keyId, req);
    if (existing !== undefined) {
      await store.deleteGrant(key.keyId, existing.grantId);
      await store.createGrant({ ...existing, tokenHash });
      return { grantId: existing.grantId, grantToken: token };
    }
  }
  const grant: GrantRecord = {
    grantId: newGrantId(),
    keyId: key.keyId,
    ...(req.name !== undefined ? { name: req.name } : {}),
    granteePrincipal: req.granteePrincipal,
    ...(req.retiringPrincipal !== undefined ? { retiringPrincipal: req.retiringPrincipal } : {}),
    issuingAccount: `arn:aws:iam::${settings.accountId}:root`,
    operations: [...req.operations],
    ...(req.constraints !== undefined ? { constraints: req.constraints } : {}),
    createdAt: clock.now(),
    tokenHash,
  };
  await store.createGrant(grant);
  return { grantId: grant.grantId, grantToken: token };
}

/**
 * Every check CreateGrant makes before it stores anything (its DryRun): resolves the key the
 * grant would be on. Raises what createGrant raises for the same request; never stores.
 */
export async function checkCreateGrant(keys: KeyService, req: CreateGrantRequest): Promise<KeyRecord> {
  const key = await keys.resolve(req.keyId);
  if (key.keyState === 'PendingDeletion') throw new KeyInvalidStateError(`${keyArn(key)} is pending deletion.`);
  checkOperations(key, req);
  return key;
}

/** A grant listing together with the key it belongs to (for the KeyId ARN on the wire). */
export interface GrantPage extends Page<GrantRecord> {
  readonly region: string;
  readonly accountId: string;
}

/**
 * ListGrants: the grants of one key, optionally one grant (`grantId`) or one grantee.
 * NotFoundError for an unknown key; InvalidGrantIdError for a malformed grant id.
 */
export async function listGrants(keys: KeyService, keyId: string, limit: number, marker?: string, filter: { grantId?: string; granteePrincipal?: string } = {}): Promise<GrantPage> {
  const key = await keys.resolve(keyId);
  const where = { region: key.region, accountId: key.accountId };
  if (filter.grantId !== undefined) {
    if (!GRANT_ID.test(filter.grantId)) throw new InvalidGrantIdError(`Invalid grant ID: ${filter.grantId.slice(0, 128)}`);
    const g = await keys.deps.store.getGrant(key.keyId, filter.grantId);
    const items = g !== undefined && (filter.granteePrincipal === undefined || g.granteePrincipal === filter.granteePrincipal) ? [g] : [];
    return { ...where, items };
  }
  const page = await keys.deps.store.listGrants(limit, marker, { keyId: key.keyId, ...(filter.granteePrincipal !== undefined ? { granteePrincipal: filter.granteePrincipal } : {}) });
  return { ...where, ...page };
}

/** ListRetirableGrants: grants (on any key) whose retiring principal is `retiringPrincipal`. */
export async function listRetirableGrants(keys: KeyService, retiringPrincipal: string, limit: number, marker?: string): Promise<GrantPage> {
  const page = await keys.deps.store.listGrants(limit, marker, { retiringPrincipal });
  return { region: keys.deps.settings.region, accountId: keys.deps.settings.accountId, ...page };
}

/**
 * The grant RevokeGrant (or RetireGrant by KeyId and GrantId) names, with its key: what
 * either checks before it deletes (their DryRun). Raises NotFoundError (unknown key or grant),
 * InvalidGrantIdError (malformed id); never deletes.
 */
export async function findGrant(keys: KeyService, keyId: string, grantId: string): Promise<{ key: KeyRecord; grant: GrantRecord }> {
  const key = await keys.resolve(keyId);
  if (!GRANT_ID.test(grantId)) throw new InvalidGrantIdError(`Invalid grant ID: ${grantId.slice(0, 128)}`);
  const grant = await keys.deps.store.getGrant(key.keyId, grantId);
  if (grant === undefined) throw new NotFoundError(`Grant ID ${grantId} not found for ${keyArn(key)}.`);
  return { key, grant };
}

/**
 * RetireGrant, by grant token or by key + grant id. Raises InvalidGrantTokenError (unknown
 * token, or one of another grant than the KeyId or GrantId also given), InvalidGrantIdError
 * (malformed id), NotFoundError (unknown key or grant), ValidationError when neither form is
 * given. Who may retire is decided before (grantLetsRetire, then the policies). Returns the
 * retired grant's key ARN and id.
 */
export async function retireGrant(keys: KeyService, req: RetireGrantRequest): Promise<RetiredGrant> {
  const grant = await grantToRetire(keys, req);
  await keys.deps.store.deleteGrant(grant.keyId, grant.grantId);
  const { region, accountId } = keys.deps.settings;
  return { keyArn: keyArn({ region, accountId, keyId: grant.keyId }), grantId: grant.grantId };
}

/** The grant RetireGrant retired: for its record, which names them even when a token alone named the grant. */
export interface RetiredGrant {
  readonly keyArn: string;
  readonly grantId: string;
}

/** What RetireGrant names its grant by: a grant token, or a key and a grant id (or both). */
export interface RetireGrantRequest {
  readonly grantToken?: string;
  readonly keyId?: string;
  readonly grantId?: string;
}

/**
 * Whether the grant a RetireGrant names lets `call` retire it whatever the policies allow
 * (an explicit Deny aside, decided by the caller): the caller is its retiring principal, or
 * its grantee and the grant allows RetireGrant ("Permission to retire a grant is determined
 * primarily by the grant", https://docs.aws.amazon.com/kms/latest/APIReference/API_RetireGrant.html).
 * That grant only, found exactly as retireGrant finds it. False when it is not found or the
 * request is malformed: retireGrant then answers its own error. Never deletes anything.
 */
export async function grantLetsRetire(keys: KeyService, req: RetireGrantRequest, call: CallContext): Promise<boolean> {
  const grant = await grantToRetire(keys, req).catch(() => undefined);
  if (grant === undefined) return false;
  const names = [call.principal.arn, call.principal.roleArn];
  return names.some((n) => n !== undefined && (n === grant.retiringPrincipal || (n === grant.granteePrincipal && grant.operations.includes('RetireGrant'))));
}

/**
 * The grant a RetireGrant names, found as retireGrant finds it (its DryRun's check). Raises
 * what retireGrant raises before it deletes; never deletes.
 */
// A token names its grant on its own; a KeyId or GrantId given with it must name the same
// grant, or a caller allowed RetireGrant on one key could retire another key's grant by token.
export async function grantToRetire(keys: KeyService, req: RetireGrantRequest): Promise<GrantRecord> {
  if (req.grantToken === undefined) {
    if (req.keyId === undefined || req.grantId === undefined) throw new ValidationError('Either GrantToken, or both KeyId and GrantId, must be specified.');
    return (await findGrant(keys, req.keyId, req.grantId)).grant;
  }
  const grant = await keys.deps.store.findGrantByTokenHash(grantTokenHash(req.grantToken));
  if (grant === undefined) throw new InvalidGrantTokenError('Grant token is not valid.');
  const otherKey = req.keyId !== undefined && (await keys.resolve(req.keyId)).keyId !== grant.keyId;
  if (otherKey || (req.grantId !== undefined && req.grantId !== grant.grantId)) throw new InvalidGrantTokenError('The grant token does not identify the grant of the KeyId and GrantId given.');
  return grant;
}

/** RevokeGrant. Raises InvalidGrantIdError (malformed id), NotFoundError (unknown key or grant). */
export async function revokeGrant(keys: KeyService, keyId: string, grantId: string): Promise<void> {
  const { grant } = await findGrant(keys, keyId, grantId);
  await keys.deps.store.deleteGrant(grant.keyId, grant.grantId);
}
