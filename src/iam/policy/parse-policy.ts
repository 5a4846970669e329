/**
 * Parsing and validation of a policy document into a compiled `Policy`, following the
 * checks AWS applies when a policy is attached (IAM, KMS PutKeyPolicy, S3 PutBucketPolicy,
 * VPC endpoint policies).
 */
import { isPlainObject, parseConditionBlock } from './condition-operators.js';
import { MalformedPolicyDocumentError } from './errors.js';
import { compileGlob, compileTemplate } from './pattern.js';
import { parsePrincipal } from './principal.js';
import type { ActionMatcher, Policy, PolicyKind, PolicyVersion, ResourceMatcher, Statement } from './types.js';

/** AWS's largest policy size (a KMS key policy): 32 KiB. */
export const MAX_POLICY_BYTES = 32 * 1024;

const TOP_LEVEL = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set([
  'Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition',
]);
const ACTION = /^[A-Za-z0-9-]+:[A-Za-z0-9*?_-]+$/;

/** Options for `parsePolicy`. */
export interface ParsePolicyOptions {
  /** Size limit in UTF-8 bytes; defaults to MAX_POLICY_BYTES. */
  readonly maxBytes?: number;
}

function fail(message: string): never {
  throw new MalformedPolicyDocumentError(message);
}

function stringList(raw: unknown, where: string): string[] {
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (list.length === 0) fail(`${where}: must not be empty`);
  return list.map((v) => (typeof v === 'string' && v !== '' ? v : fail(`${where}: expected strings`)));
}

function parseActions(raw: Record<string, unknown>, where: string): ActionMatcher {
  const hasAction = raw['Action'] !== undefined;
  if (hasAction === (raw['NotAction'] !== undefined)) fail(`${where}: exactly one of Action or NotAction is required`);
  const name = hasAction ? 'Action' : 'NotAction';
  const patterns = stringList(raw[name], `${where} ${name}`).map((a) => {
    if (a !== '*' && !ACTION.test(a)) fail(`${where} ${name}: invalid action ${JSON.stringify(a)}`);
    return compileGlob(a.toLowerCase());
  });
  return { negated: !hasAction, patterns };
}

function resourceRule(kind: PolicyKind): 'required' | 'optional' | 'forbidden' {
  switch (kind) {
    case 'identity':
    case 'resource':
      return 'required';
    case 'endpoint':
      return 'optional';
    case 'trust':
      return 'forbidden';
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

function parseResources(raw: Record<string, unknown>, kind: PolicyKind, variables: boolean, where: string): ResourceMatcher {
  const has = raw['Resource'] !== undefined;
  const hasNot = raw['NotResource'] !== undefined;
  if (has && hasNot) fail(`${where}: Resource and NotResource cannot both be present`);
  const rule = resourceRule(kind);
  if (rule === 'forbidden' && (has || hasNot)) fail(`${where}: a ${kind} policy cannot have Resource or NotResource`);
  if (!has && !hasNot) {
    if (rule === 'required') fail(`${where}: Resource or NotResource is required in a ${kind} policy`);
    return { kind: 'all' };
  }
  const name = has ? 'Resource' : 'NotResource';
  const patterns = stringList(raw[name], `${where} ${name}`).map((r) => {
    if (r !== '*' && !(r.startsWith('arn:') && r.split(':').length >= 6)) {
      fail(`${where} ${name}: ${JSON.stringify(r)} is neither "*" nor an ARN`);
    }
    return compileTemplate(r, variables);
  });
  return { kind: 'list', negated: !has, patterns };
}

function parsePrincipalElement(raw: Record<string, unknown>, kind: PolicyKind, where: string): Statement['principal'] {
  const has = raw['Principal'] !== undefined;
  const hasNot = raw['NotPrincipal'] !== undefined;
  if (has && hasNot) fail(`${where}: Principal and NotPrincipal cannot both be present`);
  if (kind === 'identity') {
    if (has || hasNot) fail(`${where}: an identity policy cannot have Principal or NotPrincipal`);
    return undefined;
  }
  if (!has && !hasNot) {
    // Endpoint policies may omit it; AWS then applies the statement to every principal.
    if (kind === 'endpoint') return parsePrincipal('*', false, where);
    fail(`${where}: Principal or NotPrincipal is required in a ${kind} policy`);
  }
  return parsePrincipal(raw[has ? 'Principal' : 'NotPrincipal'], hasNot, `${where} ${has ? 'Principal' : 'NotPrincipal'}`);
}

function parseStatement(raw: unknown, index: number, kind: PolicyKind, variables: boolean): Statement {
  if (!isPlainObject(raw)) fail(`Statement ${index}: must be an object`);
  const sid = raw['Sid'];
  if (sid !== undefined && typeof sid !== 'string') fail(`Statement ${index}: Sid must be a string`);
  const where = sid === undefined ? `Statement ${index}` : `Statement ${index} (${JSON.stringify(sid)})`;
  for (const key of Object.keys(raw)) {
    if (!STATEMENT_KEYS.has(key)) fail(`${where}: unknown element ${JSON.stringify(key)}`);
  }
  const effect = raw['Effect'];
  if (effect !== 'Allow' && effect !== 'Deny') fail(`${where}: Effect must be "Allow" or "Deny"`);
  const condition = raw['Condition'];
  return {
    sid,
    effect,
    principal: parsePrincipalElement(raw, kind, where),
    actions: parseActions(raw, where),
    resources: parseResources(raw, kind, variables, where),
    conditions: condition === undefined ? [] : parseConditionBlock(condition, variables, where),
  };
}

function parseVersion(raw: unknown): PolicyVersion {
  // AWS treats a missing Version as the 2008 language, in which variables are literal text.
  if (raw === undefined) return '2008-10-17';
  if (raw === '2012-10-17' || raw === '2008-10-17') return raw;
  return fail(`Version must be "2012-10-17" or "2008-10-17", got ${JSON.stringify(raw)}`);
}

function parseDocument(json: string, maxBytes: number): Record<string, unknown> {
  const size = Buffer.byteLength(json, 'utf8');
  if (size > maxBytes) fail(`policy is ${size} bytes, over the ${maxBytes}-byte limit`);
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (cause) {
    throw new MalformedPolicyDocumentError(`policy is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (!isPlainObject(doc)) fail('policy must be a JSON object');
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL.has(key)) fail(`unknown top-level element ${JSON.stringify(key)}`);
  }
  return doc;
}

/**
 * Parses and validates a policy document of the given kind, as AWS would on attach:
 * Version, Statement (object or non-empty array), Effect, exactly one of Action/NotAction,
 * Resource/NotResource (required for identity and resource policies, optional for endpoint
 * policies, forbidden in trust policies), Principal/NotPrincipal (required in resource and
 * trust policies, forbidden in identity policies), the Condition block, unique Sids and
 * the size limit. Returns the compiled policy; raises MalformedPolicyDocumentError with
 * the element at fault. Never evaluates anything and never performs I/O.
 */
export function parsePolicy(json: string, kind: PolicyKind, options: ParsePolicyOptions = {}): Policy {
  const doc = parseDocument(json, options.maxBytes ?? MAX_POLICY_BYTES);
  const version = parseVersion(doc['Version']);
  const id = doc['Id'];
  if (id !== undefined && typeof id !== 'string') fail('Id must be a string');
  const rawStatements = doc['Statement'];
  if (rawStatements === undefined) fail('Statement is required');
  const list = Array.isArray(rawStatements) ? (rawStatements as unknown[]) : [rawStatements];
  if (list.length === 0) fail('Statement must not be empty');
  const statements = list.map((s, i) => parseStatement(s, i, kind, version === '2012-10-17'));
  const sids = new Set<string>();
  for (const s of statements) {
    if (s.sid === undefined || s.sid === '') continue;
    if (sids.has(s.sid)) fail(`Sid ${JSON.stringify(s.sid)} is used by more than one statement`);
    sids.add(s.sid);
  }
  return { kind, version, id, statements };
}
