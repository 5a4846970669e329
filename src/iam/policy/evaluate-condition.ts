/**
 * Evaluation of one compiled Condition entry against a prepared request, with AWS's
 * rules for absent keys, IfExists, negated operators and the ForAnyValue / ForAllValues
 * set qualifiers.
 */
import { cidrContains, parseIpAddress } from './ip-address.js';
import { parseBase64, parseDate, parseNumber } from './condition-operators.js';
import { globMatches, globUnits, matchUnits, resolveGlob, resolveText } from './pattern.js';
import type { Glob, VariableLookup } from './pattern.js';
import type { PreparedRequest } from './request-context.js';
import type { Comparison, Condition, ConditionOperand } from './types.js';

/** An operand ready to compare: policy variables substituted. */
type Resolved =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'glob'; readonly value: Glob }
  | ConditionOperand;

function compare(comparison: Comparison, a: number, b: number): boolean {
  switch (comparison) {
    case 'eq':
      return a === b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
    default: {
      const unreachable: never = comparison;
      return unreachable;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** ARN segments: the first five colons split; the resource part keeps its own colons. */
function arnSegments(length: number, at: (i: number) => number | undefined): number[] | undefined {
  const bounds = [0];
  for (let i = 0; i < length && bounds.length < 6; i += 1) {
    if (at(i) === 58) bounds.push(i + 1);
  }
  return bounds.length < 6 ? undefined : bounds;
}

/** ArnLike / ArnEquals: each of the six colon-separated parts matched on its own. */
function arnMatches(glob: Glob, subject: string): boolean {
  const units = globUnits(glob);
  const p = arnSegments(units.length, (i) => units[i]);
  const s = arnSegments(subject.length, (i) => subject.charCodeAt(i));
  if (p === undefined || s === undefined) return glob.kind === 'all';
  for (let k = 0; k < 6; k += 1) {
    const pEnd = k < 5 ? (p[k + 1] ?? 0) - 1 : units.length;
    const sEnd = k < 5 ? (s[k + 1] ?? 0) - 1 : subject.length;
    if (!matchUnits(units, p[k] ?? 0, pEnd, subject, s[k] ?? 0, sEnd)) return false;
  }
  return true;
}

function textMatches(condition: Condition, operand: Resolved, value: string): boolean {
  if (operand.kind === 'glob') {
    return condition.family === 'Arn' ? arnMatches(operand.value, value) : globMatches(operand.value, value);
  }
  if (operand.kind !== 'string') return false;
  return condition.family === 'StringIgnoreCase'
    ? operand.value.toLowerCase() === value.toLowerCase()
    : operand.value === value;
}

/** The positive (un-negated) test of one request value against one policy operand. */
function operandMatches(condition: Condition, operand: Resolved, value: string): boolean {
  switch (operand.kind) {
    case 'string':
    case 'glob':
      return textMatches(condition, operand, value);
    case 'number': {
      const parsed = condition.family === 'Date' ? parseDate(value) : parseNumber(value);
      return parsed !== undefined && compare(condition.comparison, parsed, operand.value);
    }
    case 'flag':
      return value.toLowerCase() === String(operand.value);
    case 'bytes': {
      const bytes = parseBase64(value);
      return bytes !== undefined && sameBytes(bytes, operand.value);
    }
    case 'cidr': {
      const address = parseIpAddress(value);
      return address !== undefined && cidrContains(operand.value, address);
    }
    case 'text':
      return false; // always resolved before matching
    default: {
      const unreachable: never = operand;
      return unreachable;
    }
  }
}

/** Operands of conditions without policy variables, resolved once. */
const staticOperands = new WeakMap<Condition, readonly Resolved[]>();

/** Substitutes policy variables; undefined when one cannot be resolved. */
function resolveOperands(condition: Condition, lookup: VariableLookup): readonly Resolved[] | undefined {
  const cached = staticOperands.get(condition);
  if (cached !== undefined) return cached;
  const resolved = substitute(condition, lookup);
  const isStatic = condition.operands.every((o) => o.kind !== 'text' || !o.template.hasVariables);
  if (isStatic && resolved !== undefined) staticOperands.set(condition, resolved);
  return resolved;
}

function substitute(condition: Condition, lookup: VariableLookup): Resolved[] | undefined {
  const out: Resolved[] = [];
  const wild = condition.family === 'StringLike' || condition.family === 'Arn';
  for (const operand of condition.operands) {
    if (operand.kind !== 'text') {
      out.push(operand);
      continue;
    }
    if (wild) {
      const glob = resolveGlob(operand.template, lookup);
      if (glob === undefined) return undefined;
      out.push({ kind: 'glob', value: glob });
    } else {
      const text = resolveText(operand.template, lookup);
      if (text === undefined) return undefined;
      out.push({ kind: 'string', value: text });
    }
  }
  return out;
}

function requestValues(request: PreparedRequest, lowerKey: string): readonly string[] {
  const raw = request.values.get(lowerKey);
  if (raw === undefined) return [];
  return typeof raw === 'string' ? [raw] : raw;
}

/**
 * True when the condition holds for the request. Rules (AWS's):
 * - Null: `true` holds when the key is absent (or an empty set), `false` when present.
 * - Absent key, no qualifier: IfExists and negated operators hold, others do not.
 * - ForAllValues: holds for an absent or empty set; else every request value must pass.
 * - ForAnyValue: fails for an absent or empty set (unless IfExists); else one value must pass.
 * - Several policy values are OR'ed; a negated operator holds when none matches (NOR).
 * - Without a qualifier a multi-valued key passes when any value matches (negated: none).
 * - A policy variable that cannot be resolved makes the condition fail.
 * Never throws.
 */
export function conditionHolds(condition: Condition, request: PreparedRequest): boolean {
  const values = requestValues(request, condition.lowerKey);
  if (condition.family === 'Null') {
    const absent = values.length === 0;
    for (const operand of condition.operands) if (operand.kind === 'flag' && operand.value === absent) return true;
    return false;
  }
  if (values.length === 0) {
    if (condition.qualifier === 'ForAllValues' || condition.ifExists) return true;
    return condition.qualifier === undefined && condition.negated;
  }
  const operands = resolveOperands(condition, request.values);
  if (operands === undefined) return false;
  switch (condition.qualifier) {
    case 'ForAllValues':
      for (const value of values) if (anyOperand(condition, operands, value) === condition.negated) return false;
      return true;
    case 'ForAnyValue':
      for (const value of values) if (anyOperand(condition, operands, value) !== condition.negated) return true;
      return false;
    case undefined: {
      let hit = false;
      for (const value of values) if ((hit = anyOperand(condition, operands, value))) break;
      return hit !== condition.negated;
    }
    default: {
      const unreachable: never = condition.qualifier;
      return unreachable;
    }
  }
}

/** True when the request value matches at least one policy value (the OR over values). */
function anyOperand(condition: Condition, operands: readonly Resolved[], value: string): boolean {
  for (const operand of operands) if (operandMatches(condition, operand, value)) return true;
  return false;
}
