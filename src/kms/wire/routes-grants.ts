import { grantFacts } from './request-tag-facts.js';
import { ValidationError } from '../errors.js';
import { GRANT_OPERATIONS, type GrantOperation } from '../keys/grants.js';
import { keyArn, type GrantRecord } from '../keys/key-record.js';
import { checkCreateGrant, createGrant, findGrant, grantLetsRetire, grantToRetire, listGrants, listRetirableGrants, retireGrant, revokeGrant, type GrantConstraints, type GrantPage } from '../operations/grants.js';
import { epochSeconds, type Fields, type JsonObject } from './fields.js';
import { route, type KmsRoute } from './route.js';

const PRINCIPAL = /^[\w+=,.@:/-]+$/;
const GRANT_NAME = /^[a-zA-Z0-9:/_-]+$/;

function principal(f: Fields, name: string, required: boolean): string | undefined {
  const v = required ? f.requiredString(name, { max: 256 }) : f.string(name, { min: 1, max: 256 });
  if (v !== undefined && !PRINCIPAL.test(v)) patternFail(name, v, PRINCIPAL);
  return v;
}

function patternFail(name: string, value: string, pattern: RegExp): never {
  throw new ValidationError(`1 validation error detected: Value '${value.slice(0, 64)}' at '${name.charAt(0).toLowerCase() + name.slice(1)}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`);
}

function operations(f: Fields): GrantOperation[] {
  const list = f.stringList('Operations');
  if (list === undefined) throw new ValidationError("1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null");
  return list.map((op, i) => {
    if (!(GRANT_OPERATIONS as readonly string[]).includes(op)) {
      throw new ValidationError(`1 validation error detected: Value '${op.slice(0, 64)}' at 'operations.${i + 1}.member' failed to satisfy constraint: Member must satisfy enum value set: [${GRANT_OPERATIONS.join(', ')}]`);
    }
    return op as GrantOperation;
  });
}

/** AWS's limits on a grant constraint: at most 8 pairs, no value over 384 characters (CreateGrant, Constraints). */
const MAX_CONSTRAINT_PAIRS = 8;
const MAX_CONSTRAINT_VALUE = 384;

function checkConstraintSize(f: Fields, context: Readonly<Record<string, string>> | undefined, name: string): void {
  if (context === undefined) return;
  const pairs = Object.entries(context);
  if (pairs.length > MAX_CONSTRAINT_PAIRS) f.violation(new ValidationError(`${name} can include at most ${MAX_CONSTRAINT_PAIRS} encryption context pairs`));
  else if (pairs.some(([, v]) => v.length > MAX_CONSTRAINT_VALUE)) f.violation(new ValidationError(`${name} values cannot exceed ${MAX_CONSTRAINT_VALUE} characters`));
}

/**
 * CreateGrant's Constraints. Read through Fields, so a member of the wrong JSON type
 * (Constraints not a structure, a context not a map of strings) is SerializationError as
 * elsewhere in the body, and a broken constraint ValidationError.
 */
function constraints(f: Fields): GrantConstraints | undefined {
  const c = f.structure('Constraints');
  if (c === undefined) return undefined;
  const unknown = c.memberNames().filter((k) => k !== 'EncryptionContextEquals' && k !== 'EncryptionContextSubset');
  if (unknown.length > 0) f.violation(new ValidationError(`Unknown grant constraint: ${unknown[0]!.slice(0, 64)}`));
  const equals = c.context('EncryptionContextEquals');
  const subset = c.context('EncryptionContextSubset');
  checkConstraintSize(f, equals, 'EncryptionContextEquals');
  checkConstraintSize(f, subset, 'EncryptionContextSubset');
  return { ...(equals !== undefined ? { encryptionContextEquals: equals } : {}), ...(subset !== undefined ? { encryptionContextSubset: subset } : {}) };
}

function grantTokens(f: Fields): void {
  const tokens = f.stringList('GrantTokens', { max: 10 });
  if (tokens?.some((t) => t.length < 1 || t.length > 8192)) throw new ValidationError("1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length between 1 and 8192");
}

function grantEntry(page: GrantPage, g: GrantRecord): JsonObject {
  const c = g.constraints;
  return {
    KeyId: keyArn({ region: page.region, accountId: page.accountId, keyId: g.keyId }),
    GrantId: g.grantId,
    ...(g.name !== undefined ? { Name: g.name } : {}),
    CreationDate: epochSeconds(g.createdAt),
    GranteePrincipal: g.granteePrincipal,
    ...(g.retiringPrincipal !== undefined ? { RetiringPrincipal: g.retiringPrincipal } : {}),
    IssuingAccount: g.issuingAccount,
    Operations: g.operations,
    ...(c !== undefined
      ? {
          Constraints: {
            ...(c.encryptionContextEquals !== undefined ? { EncryptionContextEquals: c.encryptionContextEquals } : {}),
            ...(c.encryptionContextSubset !== undefined ? { EncryptionContextSubset: c.encryptionContextSubset } : {}),
          },
        }
      : {}),
  };
}

function grantList(page: GrantPage): JsonObject {
  return {
    Grants: page.items.map((g) => grantEntry(page, g)),
    Truncated: page.nextMarker !== undefined,
    ...(page.nextMarker !== undefined ? { NextMarker: page.nextMarker } : {}),
  };
}

function paging(f: Fields): { limit: number; marker: string | undefined } {
  return { limit: f.integer('Limit', 1, 100) ?? 50, marker: f.string('Marker', { min: 1, max: 1024 }) };
}

/** Grant targets. https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html */
export const grantRoutes: Record<string, KmsRoute> = {
  CreateGrant: route({
    action: 'kms:CreateGrant',
    readOnly: false,
    // DryRun on CreateGrant, RetireGrant and RevokeGrant: listed in their API references and
    // in the developer guide's "Testing your permissions"; checked, never stored or deleted.
    takesDryRun: true,
    parse: (f) => {
      grantTokens(f);
      const name = f.string('Name', { min: 1, max: 256 });
      if (name !== undefined && !GRANT_NAME.test(name)) patternFail('Name', name, GRANT_NAME);
      const retiringPrincipal = principal(f, 'RetiringPrincipal', false);
      const c = constraints(f);
      return {
        keyId: f.keyId(),
        granteePrincipal: principal(f, 'GranteePrincipal', true)!,
        operations: operations(f),
        ...(retiringPrincipal !== undefined ? { retiringPrincipal } : {}),
        ...(c !== undefined ? { constraints: c } : {}),
        ...(name !== undefined ? { name } : {}),
      };
    },
    keyOf: (r) => r.keyId,
    conditions: (r) => grantFacts(r),
    checkDryRun: async (keys, r) => void (await checkCreateGrant(keys, r)),
    operate: (keys, r) => createGrant(keys, r),
    respond: (r) => ({ GrantToken: r.grantToken, GrantId: r.grantId }),
  }),

  ListGrants: route({
    action: 'kms:ListGrants',
    readOnly: true,
    parse: (f) => {
      const grantId = f.string('GrantId', { min: 1, max: 128 });
      const granteePrincipal = principal(f, 'GranteePrincipal', false);
      return { keyId: f.keyId(), ...paging(f), filter: { ...(grantId !== undefined ? { grantId } : {}), ...(granteePrincipal !== undefined ? { granteePrincipal } : {}) } };
    },
    keyOf: (r) => r.keyId,
    operate: (keys, r) => listGrants(keys, r.keyId, r.limit, r.marker, r.filter),
    respond: grantList,
  }),

  ListRetirableGrants: route({
    action: 'kms:ListRetirableGrants',
    readOnly: true,
    parse: (f) => ({ retiringPrincipal: principal(f, 'RetiringPrincipal', true)!, ...paging(f) }),
    operate: (keys, r) => listRetirableGrants(keys, r.retiringPrincipal, r.limit, r.marker),
    respond: grantList,
  }),

  RetireGrant: route({
    action: 'kms:RetireGrant',
    readOnly: false,
    takesDryRun: true,
    parse: (f) => {
      const grantToken = f.string('GrantToken', { min: 1, max: 8192 });
      const keyId = f.optionalKeyId();
      const grantId = f.string('GrantId', { min: 1, max: 128 });
      return { ...(grantToken !== undefined ? { grantToken } : {}), ...(keyId !== undefined ? { keyId } : {}), ...(grantId !== undefined ? { grantId } : {}) };
    },
    keyOf: (r) => r.keyId,
    allowedByResource: (keys, r, call) => grantLetsRetire(keys, r, call),
    checkDryRun: async (keys, r) => void (await grantToRetire(keys, r)),
    operate: (keys, r) => retireGrant(keys, r),
    // CloudTrail's RetireGrant entry (developer guide, RetireGrant log example): the grant's key
    // in resources and additionalEventData.grantId, requestParameters and responseElements null;
    // so a retirement by token alone is found by its key and grant like any other.
    resultKeys: (r) => [r.keyArn],
    auditData: (_req, r) => ({ grantId: r.grantId }),
    respond: () => ({}),
  }),

  RevokeGrant: route({
    action: 'kms:RevokeGrant',
    readOnly: false,
    takesDryRun: true,
    parse: (f) => {
      return { keyId: f.keyId(), grantId: f.requiredString('GrantId', { max: 128 }) };
    },
    keyOf: (r) => r.keyId,
    checkDryRun: async (keys, r) => void (await findGrant(keys, r.keyId, r.grantId)),
    operate: (keys, r) => revokeGrant(keys, r.keyId, r.grantId),
    respond: () => ({}),
  }),
};
