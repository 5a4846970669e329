/**
 * The table of condition operators and the parsing of a Condition block into compiled
 * `Condition` entries. Operator names are matched exactly as AWS spells them; unknown
 * operators and values of the wrong shape are rejected, as AWS rejects them.
 */
import { MalformedPolicyDocumentError } from './errors.js';
import { parseCidr } from './ip-address.js';
import { compileTemplate } from './pattern.js';
import type { Comparison, Condition, ConditionOperand, OperatorFamily } from './types.js';

interface OperatorSpec {
  readonly family: OperatorFamily;
  readonly comparison: Comparison;
  readonly negated: boolean;
}

function op(family: OperatorFamily, comparison: Comparison = 'eq', negated = false): OperatorSpec {
  return { family, comparison, negated };
}

/** Every base operator AWS documents; `...IfExists` and set qualifiers are layered on top. */
const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map([
  ['StringEquals', op('String')],
  ['StringNotEquals', op('String', 'eq', true)],
  ['StringEqualsIgnoreCase', op('StringIgnoreCase')],
  ['StringNotEqualsIgnoreCase', op('StringIgnoreCase', 'eq', true)],
  ['StringLike', op('StringLike')],
  ['StringNotLike', op('StringLike', 'eq', true)],
  ['NumericEquals', op('Numeric')],
  ['NumericNotEquals', op('Numeric', 'eq', true)],
  ['NumericLessThan', op('Numeric', 'lt')],
  ['NumericLessThanEquals', op('Numeric', 'lte')],
  ['NumericGreaterThan', op('Numeric', 'gt')],
  ['NumericGreaterThanEquals', op('Numeric', 'gte')],
  ['DateEquals', op('Date')],
  ['DateNotEquals', op('Date', 'eq', true)],
  ['DateLessThan', op('Date', 'lt')],
  ['DateLessThanEquals', op('Date', 'lte')],
  ['DateGreaterThan', op('Date', 'gt')],
  ['DateGreaterThanEquals', op('Date', 'gte')],
  ['Bool', op('Bool')],
  ['BinaryEquals', op('Binary')],
  ['IpAddress', op('IpAddress')],
  ['NotIpAddress', op('IpAddress', 'eq', true)],
  ['ArnEquals', op('Arn')],
  ['ArnLike', op('Arn')],
  ['ArnNotEquals', op('Arn', 'eq', true)],
  ['ArnNotLike', op('Arn', 'eq', true)],
  ['Null', op('Null')],
]);

/**
 * Parses a number as AWS numeric operators accept it (integer or decimal, optional sign).
 * Returns undefined for anything else, including empty text.
 */
export function parseNumber(text: string): number | undefined {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text.trim()) ? Number(text) : undefined;
}

/**
 * Parses a date as AWS date operators accept it: epoch seconds (digits) or ISO 8601.
 * Returns milliseconds since the epoch, or undefined when unparseable.
 */
export function parseDate(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^-?\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}/.test(trimmed)) return undefined;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Decodes standard base64; undefined when the text is not base64. */
export function parseBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function fail(where: string, message: string): never {
  throw new MalformedPolicyDocumentError(`${where}: ${message}`);
}

function operandFor(family: OperatorFamily, text: string, variables: boolean, where: string): ConditionOperand {
  const bad = (what: string): never => fail(where, `${JSON.stringify(text)} is not ${what}`);
  switch (family) {
    case 'String':
    case 'StringIgnoreCase':
    case 'StringLike':
    case 'Arn':
      return { kind: 'text', template: compileTemplate(text, variables) };
    case 'Numeric':
      return { kind: 'number', value: parseNumber(text) ?? bad('a number') };
    case 'Date':
      return { kind: 'number', value: parseDate(text) ?? bad('an ISO 8601 date or epoch seconds') };
    case 'Bool':
    case 'Null': {
      const lower = text.toLowerCase();
      if (lower !== 'true' && lower !== 'false') bad('true or false');
      return { kind: 'flag', value: lower === 'true' };
    }
    case 'Binary':
      return { kind: 'bytes', value: parseBase64(text) ?? bad('base64') };
    case 'IpAddress':
      return { kind: 'cidr', value: parseCidr(text) ?? bad('an IP address or CIDR block') };
    default: {
      const unreachable: never = family;
      return unreachable;
    }
  }
}

function conditionValues(raw: unknown, where: string): string[] {
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (list.length === 0) fail(where, 'a condition needs at least one value');
  return list.map((v) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return fail(where, 'condition values must be strings, numbers or booleans');
  });
}

function parseOperatorName(name: string, where: string): Omit<Condition, 'key' | 'lowerKey' | 'operands'> {
  const colon = name.indexOf(':');
  const prefix = colon < 0 ? undefined : name.slice(0, colon);
  if (prefix !== undefined && prefix !== 'ForAnyValue' && prefix !== 'ForAllValues') {
    fail(where, `unknown set qualifier ${JSON.stringify(prefix)}`);
  }
  let base = colon < 0 ? name : name.slice(colon + 1);
  const ifExists = base.endsWith('IfExists');
  if (ifExists) base = base.slice(0, -'IfExists'.length);
  const spec = OPERATORS.get(base);
  if (spec === undefined || (ifExists && spec.family === 'Null')) {
    fail(where, `unknown condition operator ${JSON.stringify(name)}`);
  }
  return { operator: name, ...spec, ifExists, qualifier: prefix };
}

/**
 * Parses a statement's Condition element: an object of operator → { key: value(s) }.
 * `variables` says whether policy variables are live (Version 2012-10-17); they apply
 * only to the string and ARN operators, as in AWS. Raises MalformedPolicyDocumentError
 * naming the operator or key at fault.
 */
export function parseConditionBlock(raw: unknown, variables: boolean, where: string): Condition[] {
  if (!isPlainObject(raw)) fail(where, 'Condition must be an object of operators');
  const out: Condition[] = [];
  for (const [name, entries] of Object.entries(raw)) {
    const spot = `${where} Condition ${name}`;
    const base = parseOperatorName(name, spot);
    if (!isPlainObject(entries) || Object.keys(entries).length === 0) {
      fail(spot, 'an operator needs an object of condition keys');
    }
    for (const [key, value] of Object.entries(entries)) {
      if (key === '') fail(spot, 'condition key names cannot be empty');
      const operands = conditionValues(value, `${spot} ${key}`).map((text) =>
        operandFor(base.family, text, variables, `${spot} ${key}`),
      );
      out.push({ ...base, key, lowerKey: key.toLowerCase(), operands });
    }
  }
  return out;
}

/** True for a JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
