/**
 * The typed, compiled form of a policy document. Produced only by `parsePolicy`; patterns
 * and condition values are compiled once so evaluation does no parsing.
 */
import type { Cidr } from './ip-address.js';
import type { Glob, Template } from './pattern.js';

/** Where a policy is attached; it decides which elements are required or forbidden. */
export type PolicyKind = 'identity' | 'resource' | 'endpoint' | 'trust';

/** The two policy language versions AWS accepts; only 2012-10-17 has policy variables. */
export type PolicyVersion = '2012-10-17' | '2008-10-17';

/** A parsed policy document. */
export interface Policy {
  readonly kind: PolicyKind;
  readonly version: PolicyVersion;
  readonly id: string | undefined;
  readonly statements: readonly Statement[];
}

/** One statement; `principal` undefined means "the caller" (identity policies). */
export interface Statement {
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  readonly principal: PrincipalMatcher | undefined;
  readonly actions: ActionMatcher;
  readonly resources: ResourceMatcher;
  readonly conditions: readonly Condition[];
}

/** Action or NotAction: lower-cased patterns, matched case-insensitively. */
export interface ActionMatcher {
  readonly negated: boolean;
  readonly patterns: readonly Glob[];
}

/** Resource or NotResource; `all` when the element is absent where AWS allows that. */
export type ResourceMatcher =
  | { readonly kind: 'all' }
  | { readonly kind: 'list'; readonly negated: boolean; readonly patterns: readonly Template[] };

/** Principal or NotPrincipal, indexed for lookup. */
export interface PrincipalMatcher {
  readonly negated: boolean;
  /** `"*"` or `{"AWS": "*"}`: everyone, anonymous included. */
  readonly everyone: boolean;
  readonly accounts: ReadonlySet<string>;
  readonly arns: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
  readonly federated: ReadonlySet<string>;
  readonly canonicalUsers: ReadonlySet<string>;
}

/** The family of a condition operator: how its values are parsed and compared. */
export type OperatorFamily =
  | 'String'
  | 'StringIgnoreCase'
  | 'StringLike'
  | 'Numeric'
  | 'Date'
  | 'Bool'
  | 'Binary'
  | 'IpAddress'
  | 'Arn'
  | 'Null';

/** How a value compares: equality (or pattern match) or an ordering. */
export type Comparison = 'eq' | 'lt' | 'lte' | 'gt' | 'gte';

/** A compiled condition value, one variant per family group. */
export type ConditionOperand =
  | { readonly kind: 'text'; readonly template: Template }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'cidr'; readonly value: Cidr }
  | { readonly kind: 'flag'; readonly value: boolean };

/** One operator × key entry of a Condition block, e.g. `ForAnyValue:StringLike` on `kms:EncryptionContextKeys`. */
export interface Condition {
  /** The operator as written, for reasons in logs. */
  readonly operator: string;
  /** The key as written; `lowerKey` is what is looked up. */
  readonly key: string;
  readonly lowerKey: string;
  readonly family: OperatorFamily;
  readonly comparison: Comparison;
  readonly negated: boolean;
  readonly ifExists: boolean;
  readonly qualifier: 'ForAnyValue' | 'ForAllValues' | undefined;
  readonly operands: readonly ConditionOperand[];
}
