/**
 * The Principal / NotPrincipal element: parsing and matching.
 *
 * Naming an account (`"111122223333"` or `arn:aws:iam::111122223333:root`) matches every
 * principal of that account, but as AWS does it only *delegates* to the account: the
 * match is reported as `account` so the combiner can still require an identity-policy
 * allow for anyone but the account root itself.
 */
import { MalformedPolicyDocumentError } from './errors.js';
import { isPlainObject } from './condition-operators.js';
import type { RequestPrincipal } from './request-context.js';
import type { PrincipalMatcher } from './types.js';

/** How a principal matched: named directly (or everyone), or through its account. */
export type PrincipalMatch = 'direct' | 'account';

const ACCOUNT_ID = /^\d{12}$/;
const ACCOUNT_ROOT = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;
const PRINCIPAL_KEYS = ['AWS', 'Service', 'Federated', 'CanonicalUser'] as const;

function stringList(raw: unknown, where: string): string[] {
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (list.length === 0 || !list.every((v): v is string => typeof v === 'string' && v !== '')) {
    throw new MalformedPolicyDocumentError(`${where}: expected a non-empty string or array of strings`);
  }
  return list;
}

function addAws(value: string, m: { everyone: boolean; accounts: Set<string>; arns: Set<string> }, where: string): void {
  if (value === '*') {
    m.everyone = true;
    return;
  }
  const root = ACCOUNT_ROOT.exec(value);
  if (ACCOUNT_ID.test(value) || root !== null) {
    m.accounts.add(root?.[1] ?? value);
  } else if (value.startsWith('arn:')) {
    m.arns.add(value);
  } else {
    throw new MalformedPolicyDocumentError(`${where}: invalid principal ${JSON.stringify(value)}`);
  }
}

/**
 * Parses a Principal or NotPrincipal value: `"*"` or an object with any of AWS, Service,
 * Federated, CanonicalUser. Raises MalformedPolicyDocumentError for other shapes, unknown
 * keys, or an AWS value that is not `*`, an account id or an ARN.
 */
export function parsePrincipal(raw: unknown, negated: boolean, where: string): PrincipalMatcher {
  const m = { everyone: false, accounts: new Set<string>(), arns: new Set<string>() };
  const sets = { Service: new Set<string>(), Federated: new Set<string>(), CanonicalUser: new Set<string>() };
  if (raw === '*') return { negated, ...m, everyone: true, services: sets.Service, federated: sets.Federated, canonicalUsers: sets.CanonicalUser };
  if (!isPlainObject(raw) || Object.keys(raw).length === 0) {
    throw new MalformedPolicyDocumentError(`${where}: must be "*" or an object of AWS/Service/Federated/CanonicalUser`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!(PRINCIPAL_KEYS as readonly string[]).includes(key)) {
      throw new MalformedPolicyDocumentError(`${where}: unknown principal type ${JSON.stringify(key)}`);
    }
    for (const item of stringList(value, `${where} ${key}`)) {
      if (key === 'AWS') addAws(item, m, where);
      else sets[key as keyof typeof sets].add(item);
    }
  }
  return { negated, ...m, services: sets.Service, federated: sets.Federated, canonicalUsers: sets.CanonicalUser };
}

function positiveMatch(m: PrincipalMatcher, p: RequestPrincipal): PrincipalMatch | undefined {
  if (m.everyone) return 'direct';
  if (p.arn !== undefined && m.arns.has(p.arn)) return 'direct';
  if (p.roleArn !== undefined && m.arns.has(p.roleArn)) return 'direct';
  if (p.service !== undefined && p.type === 'Service' && m.services.has(p.service)) return 'direct';
  if (p.federatedProvider !== undefined && m.federated.has(p.federatedProvider)) return 'direct';
  if (p.canonicalUserId !== undefined && m.canonicalUsers.has(p.canonicalUserId)) return 'direct';
  if (p.account !== undefined && p.type !== 'Service' && m.accounts.has(p.account)) {
    return p.type === 'Account' ? 'direct' : 'account';
  }
  return undefined;
}

/**
 * Whether the statement's principal element covers the caller. For NotPrincipal the
 * statement covers everyone the list does not name (through the account or directly),
 * and such a match counts as direct. Never throws.
 */
export function matchPrincipal(m: PrincipalMatcher, p: RequestPrincipal): PrincipalMatch | undefined {
  const hit = positiveMatch(m, p);
  if (!m.negated) return hit;
  return hit === undefined ? 'direct' : undefined;
}
