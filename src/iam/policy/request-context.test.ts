import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePreparedPolicy } from './evaluate-policy.js';
import { parsePolicy } from './parse-policy.js';
import { prepareRequest } from './request-context.js';
import type { ContextValue, PreparedRequest, RequestContext, RequestPrincipal } from './request-context.js';
import type { Policy, PolicyKind } from './types.js';
import { seededRandom } from '../../common/seeded-random.js';

/**
 * The eager reference map (prepareRequest as it was before the map became lazy, 817acdb, but
 * with the principal-derived keys from DERIVED below): the lazy request must give every policy
 * the same map and the same decision.
 */
function eagerPrepare(request: RequestContext): PreparedRequest {
  // The principal-derived keys are the written-out expectations in DERIVED, not a copy of the
  // code's derivation, so a wrong derivation in request-context.ts fails here.
  const derived = DERIVED.get(request.principal);
  if (derived === undefined) throw new Error('eagerPrepare: a principal without written-out derived keys');
  const values = new Map<string, string | readonly string[]>();
  for (const [key, value] of Object.entries(request.context ?? {})) {
    if (value !== undefined) values.set(key.toLowerCase(), value);
  }
  for (const key of PRINCIPAL_KEYS) values.delete(key);
  for (const [key, value] of Object.entries(derived)) values.set(key, value);
  const time = request.time ?? new Date();
  if (!values.has('aws:currenttime')) values.set('aws:currenttime', time.toISOString());
  if (!values.has('aws:epochtime')) values.set('aws:epochtime', String(Math.floor(time.getTime() / 1000)));
  return { principal: request.principal, action: request.action.toLowerCase(), resource: request.resource, values };
}

/** A small seeded PRNG (mulberry32): the same cases on every run, reproducible from the seed. */
function rng(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  const next = seededRandom(seed);
  return {
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)] as (typeof xs)[number],
    chance: (p) => next() < p,
  };
}
type Rng = ReturnType<typeof rng>;

const ACCOUNT = '111122223333';
const T0 = Date.parse('2026-06-01T12:00:00Z');

const ALICE: RequestPrincipal = { type: 'User', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, account: ACCOUNT, username: 'alice', userid: 'AIDAALICE', tags: { Team: 'red' } };
const BOB: RequestPrincipal = { type: 'User', arn: `arn:aws:iam::${ACCOUNT}:user/bob`, account: ACCOUNT, username: 'bob' };
const ROLE: RequestPrincipal = { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/r/s`, roleArn: `arn:aws:iam::${ACCOUNT}:role/r`, account: ACCOUNT, userid: 'AROAR:s', username: 'ignored', tags: { team: 'blue' } };
const ROOT: RequestPrincipal = { type: 'Account', arn: `arn:aws:iam::${ACCOUNT}:root`, account: ACCOUNT };
const SERVICE: RequestPrincipal = { type: 'Service', service: 's3.amazonaws.com' };
const ANONYMOUS: RequestPrincipal = { type: 'Anonymous' };
const PRINCIPALS: readonly RequestPrincipal[] = [ALICE, BOB, ROLE, ROOT, SERVICE, ANONYMOUS];

/** The keys AWS derives from the principal; a caller's value for any of them never stands (nor for aws:PrincipalTag/…). */
const PRINCIPAL_KEYS = ['aws:username', 'aws:userid', 'aws:principalaccount', 'aws:principalarn', 'aws:principaltype', 'aws:principalservicename', 'aws:principaltag/team'] as const;

/**
 * What each principal must give, written out: an assumed role's aws:PrincipalArn is its role's
 * ARN and it has no aws:username; only a Service has aws:PrincipalServiceName.
 */
const DERIVED: ReadonlyMap<RequestPrincipal, Readonly<Record<string, string>>> = new Map([
  [ALICE, { 'aws:username': 'alice', 'aws:userid': 'AIDAALICE', 'aws:principalaccount': ACCOUNT, 'aws:principalarn': `arn:aws:iam::${ACCOUNT}:user/alice`, 'aws:principaltype': 'User', 'aws:principaltag/team': 'red' }],
  [BOB, { 'aws:username': 'bob', 'aws:principalaccount': ACCOUNT, 'aws:principalarn': `arn:aws:iam::${ACCOUNT}:user/bob`, 'aws:principaltype': 'User' }],
  [ROLE, { 'aws:userid': 'AROAR:s', 'aws:principalaccount': ACCOUNT, 'aws:principalarn': `arn:aws:iam::${ACCOUNT}:role/r`, 'aws:principaltype': 'AssumedRole', 'aws:principaltag/team': 'blue' }],
  [ROOT, { 'aws:principalaccount': ACCOUNT, 'aws:principalarn': `arn:aws:iam::${ACCOUNT}:root`, 'aws:principaltype': 'Account' }],
  [SERVICE, { 'aws:principaltype': 'Service', 'aws:principalservicename': 's3.amazonaws.com' }],
  [ANONYMOUS, { 'aws:principaltype': 'Anonymous' }],
]);

/** Condition keys, in the spellings policies and callers use (mixed case on purpose). */
const KEYS = [
  'aws:SecureTransport', 'AWS:securetransport', 'aws:username', 'aws:UserName', 'aws:userid', 'aws:PrincipalArn', 'aws:PrincipalType',
  'aws:PrincipalAccount', 'aws:PrincipalServiceName', 'aws:CurrentTime', 'aws:EpochTime', 'aws:SourceIp', 'aws:SourceVpce',
  's3:prefix', 'S3:Prefix', 's3:x-amz-server-side-encryption', 's3:x-amz-server-side-encryption-aws-kms-key-id', 's3:TlsVersion',
  's3:ExistingObjectTag/team', 'aws:PrincipalTag/team', 'kms:EncryptionContextKeys', 'missing:key',
] as const;

const VALUES: Readonly<Record<string, readonly string[]>> = {
  'aws:securetransport': ['true', 'false', 'TRUE'],
  'aws:username': ['alice', 'bob', 'mallory'],
  'aws:userid': ['AIDAALICE', 'AROAR:s', 'x'],
  'aws:principalarn': [`arn:aws:iam::${ACCOUNT}:user/alice`, `arn:aws:iam::${ACCOUNT}:role/r`, `arn:aws:iam::${ACCOUNT}:*`],
  'aws:principaltype': ['User', 'AssumedRole', 'Anonymous', 'Account'],
  'aws:principalaccount': [ACCOUNT, '444455556666'],
  'aws:principalservicename': ['s3.amazonaws.com'],
  'aws:currenttime': ['2026-06-01T12:00:00Z', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'],
  'aws:epochtime': [String(T0 / 1000), String(T0 / 1000 - 1), String(T0 / 1000 + 3600)],
  'aws:sourceip': ['10.0.0.1', '192.168.1.7', '::1'],
  'aws:sourcevpce': ['vpce-1', 'vpce-2'],
  's3:prefix': ['home/alice/', 'home/bob/', '', 'public/'],
  's3:x-amz-server-side-encryption': ['AES256', 'aws:kms', 'aws:kms:dsse'],
  's3:x-amz-server-side-encryption-aws-kms-key-id': ['arn:aws:kms:us-east-1:111122223333:key/k1', 'k2'],
  's3:tlsversion': ['1.2', '1.3', 'TLSv1.3'],
  's3:existingobjecttag/team': ['red', 'blue'],
  'aws:principaltag/team': ['red', 'blue'],
  'kms:encryptioncontextkeys': ['a', 'b'],
  'missing:key': ['x'],
};

function valuesOf(key: string): readonly string[] {
  return VALUES[key.toLowerCase()] ?? ['x'];
}

const OPERATORS = [
  'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike',
  'NumericEquals', 'NumericLessThan', 'NumericGreaterThanEquals', 'DateLessThan', 'DateGreaterThan', 'DateEquals',
  'Bool', 'IpAddress', 'NotIpAddress', 'ArnLike', 'ArnNotEquals', 'Null',
] as const;

function operandFor(r: Rng, operator: string, key: string): string {
  if (operator === 'Null' || operator === 'Bool') return r.pick(['true', 'false']);
  if (operator.startsWith('Numeric')) return r.pick([String(T0 / 1000), '0', '1', '3']);
  if (operator.startsWith('Date')) return r.pick(['2026-06-01T12:00:00Z', '2026-06-01T11:00:00Z', String(T0 / 1000), '2030-01-01T00:00:00Z']);
  if (operator.includes('IpAddress')) return r.pick(['10.0.0.0/8', '192.168.1.0/24', '::1/128']);
  if (operator.startsWith('Arn')) return r.pick([`arn:aws:iam::${ACCOUNT}:user/*`, `arn:aws:iam::${ACCOUNT}:role/r`, `arn:aws:iam::${ACCOUNT}:user/\${aws:username}`]);
  return r.pick([...valuesOf(key), '${aws:username}', 'home/${aws:username}/', 'home/${aws:userid}/*', "${aws:principaltag/team, 'red'}", '*', 'a*', '${missing:key}']);
}

function condition(r: Rng): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (let i = r.int(3); i >= 0; i -= 1) {
    const base = r.pick(OPERATORS);
    const canIfExists = base !== 'Null';
    const qualifier = base !== 'Null' && r.chance(0.2) ? `${r.pick(['ForAnyValue', 'ForAllValues'])}:` : '';
    const operator = `${qualifier}${base}${canIfExists && r.chance(0.25) ? 'IfExists' : ''}`;
    const key = r.pick(KEYS);
    const operands = Array.from({ length: 1 + r.int(2) }, () => operandFor(r, base, key));
    (out[operator] ??= {})[key] = operands.length === 1 ? operands[0] : operands;
  }
  return out;
}

const RESOURCES = [
  '*', 'arn:aws:s3:::shared/*', 'arn:aws:s3:::shared/home/${aws:username}/*', 'arn:aws:s3:::shared/home/${aws:userid}/*',
  'arn:aws:s3:::shared/home/${aws:PrincipalTag/team}/*', "arn:aws:s3:::shared/${s3:prefix, 'none'}*", 'arn:aws:s3:::shared/${*}',
  'arn:aws:s3:::other', 'arn:aws:s3:::shared/home/alice/x', 'arn:aws:s3:::shared/${missing:key}',
];

function statement(r: Rng, kind: PolicyKind, conditions: number): Record<string, unknown> {
  const s: Record<string, unknown> = { Effect: r.chance(0.35) ? 'Deny' : 'Allow' };
  s[r.chance(0.15) ? 'NotAction' : 'Action'] = r.pick(['s3:GetObject', 's3:*', 's3:Put*', 'kms:Decrypt', '*', 'S3:getobject']);
  const resources = Array.from({ length: 1 + r.int(2) }, () => r.pick(RESOURCES));
  s[r.chance(0.2) ? 'NotResource' : 'Resource'] = resources.length === 1 ? resources[0] : resources;
  if (kind !== 'identity') s['Principal'] = r.pick(['*', { AWS: ACCOUNT }, { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, { AWS: '*' }]);
  if (r.chance(conditions)) s['Condition'] = condition(r);
  return s;
}

function randomPolicy(r: Rng, kind: PolicyKind, conditions: number): Policy {
  const statements = Array.from({ length: 1 + r.int(3) }, () => statement(r, kind, conditions));
  return parsePolicy(JSON.stringify({ Version: r.chance(0.9) ? '2012-10-17' : '2008-10-17', Statement: statements }), kind);
}

function randomRequest(r: Rng): RequestContext {
  const context: Record<string, ContextValue> = {};
  for (let i = r.int(8); i > 0; i -= 1) {
    const key = r.pick(KEYS);
    // Callers may try to supply principal-derived keys (impersonation) or the time, in any case.
    context[r.chance(0.3) ? key.toUpperCase() : key] = r.chance(0.1) ? undefined : r.chance(0.2) ? [...valuesOf(key).slice(0, 1 + r.int(2))] : r.pick(valuesOf(key));
  }
  return {
    principal: r.pick(PRINCIPALS),
    action: r.pick(['s3:GetObject', 'S3:PutObject', 'kms:Decrypt', 's3:ListBucket']),
    resource: r.pick(['arn:aws:s3:::shared/home/alice/x', 'arn:aws:s3:::shared/home/bob/y', 'arn:aws:s3:::shared/home/red/z', 'arn:aws:s3:::other', 'arn:aws:s3:::shared/*']),
    context,
    time: new Date(T0 + r.int(3) * 1000 - 1000),
  };
}

describe('prepareRequest (condition-key map built on first use)', () => {
  it('gives every policy the same decision as the eager map, whichever policy reads the map first', () => {
    const r = rng(0x5eed);
    let firstSilent = 0;
    let laterReads = 0;
    const effects = new Set<string>();
    for (let n = 0; n < 3000; n += 1) {
      const request = randomRequest(r);
      const kinds: PolicyKind[] = ['endpoint', 'resource', 'identity', 'identity'];
      const conditions = r.pick([0, 0.2, 0.7]);
      const policies = kinds.map((k) => randomPolicy(r, k, conditions));
      const lazy = prepareRequest(request);
      const eager = eagerPrepare(request);
      // One prepared request for several policies, in turn, as evaluatePolicies and the authorizer use it.
      for (const policy of policies) {
        const want = evaluatePreparedPolicy(policy, eager);
        assert.deepEqual(evaluatePreparedPolicy(policy, lazy), want, JSON.stringify({ n, request, policy: policy.statements.length }));
        effects.add(want.effect);
      }
      assert.equal(lazy.action, eager.action);
      assert.equal(lazy.resource, eager.resource);
      assert.equal(lazy.principal, eager.principal);
      assert.deepEqual(new Map(lazy.values), eager.values, `case ${n}`);
      // Cases where the first policy needs no map (no condition, no variable) and a later one does.
      const silent = (p: Policy): boolean => p.statements.every((s) => s.conditions.length === 0 && (s.resources.kind === 'all' || s.resources.patterns.every((t) => !t.hasVariables)));
      if (silent(policies[0] as Policy)) {
        firstSilent += 1;
        if (!policies.every(silent)) laterReads += 1;
      }
    }
    // The generator covers all three verdicts, and requests whose first policy never reads the map.
    assert.deepEqual([...effects].sort(), ['Allow', 'Deny', 'NotApplicable']);
    assert.ok(firstSilent > 200 && laterReads > 100, `first policy silent ${firstSilent}, a later one reads ${laterReads}`);
  });

  it('the map is built once, and not before a condition or a variable needs it', () => {
    let reads = 0;
    const context: Record<string, ContextValue> = {};
    Object.defineProperty(context, 'aws:SecureTransport', { enumerable: true, get: () => ((reads += 1), 'true') });
    const prepared = prepareRequest({ principal: PRINCIPALS[0] as RequestPrincipal, action: 's3:GetObject', resource: 'arn:aws:s3:::shared/home/alice/x', context, time: new Date(T0) });
    const plain = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::shared/*' } }), 'identity');
    assert.equal(evaluatePreparedPolicy(plain, prepared).effect, 'Allow');
    assert.equal(reads, 0, 'no condition, no variable: the map is not built');
    const variable = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::shared/home/${aws:username}/*' } }), 'identity');
    assert.equal(evaluatePreparedPolicy(variable, prepared).effect, 'Allow');
    assert.equal(reads, 1, 'a policy variable builds it');
    const secure = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } } }), 'identity');
    assert.equal(evaluatePreparedPolicy(secure, prepared).effect, 'Deny');
    assert.equal(prepared.values, prepared.values, 'one map, not one per read');
    assert.equal(reads, 1, 'built once');
  });

  it('takes the time at preparation, not at first use', async () => {
    const request: RequestContext = { principal: { type: 'Anonymous' }, action: 's3:GetObject', resource: '*' };
    const before = Date.now();
    const prepared = prepareRequest(request);
    const after = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const epoch = Number(prepared.values.get('aws:epochtime'));
    assert.ok(epoch >= Math.floor(before / 1000) && epoch <= Math.floor(after / 1000), `${epoch} not in [${before}, ${after}] ms`);
    const current = Date.parse(String(prepared.values.get('aws:currenttime')));
    assert.ok(current >= before && current <= after, `${current} not in [${before}, ${after}]`);
  });

  it('principal-derived keys win over caller-supplied ones in any case, and an absent one is removed', () => {
    const prepared = prepareRequest({
      principal: { type: 'AssumedRole', arn: 'arn:aws:sts::1:assumed-role/r/s', roleArn: 'arn:aws:iam::1:role/r', account: '1', username: 'u' },
      action: 'S3:GetObject',
      resource: '*',
      context: { 'AWS:UserName': 'alice', 'aws:PrincipalArn': 'arn:aws:iam::1:user/alice', 'aws:CurrentTime': '2000-01-01T00:00:00Z' },
      time: new Date(T0),
    });
    assert.equal(prepared.action, 's3:getobject');
    assert.equal(prepared.values.has('aws:username'), false, 'an assumed role has no aws:username; the caller cannot supply one');
    assert.equal(prepared.values.get('aws:principalarn'), 'arn:aws:iam::1:role/r');
    assert.equal(prepared.values.get('aws:currenttime'), '2000-01-01T00:00:00Z', 'a given time key is kept');
    assert.equal(prepared.values.get('aws:epochtime'), String(T0 / 1000));
  });
});

describe('aws:PrincipalTag/<key> (the caller\'s own tags)', () => {
  const policy = (effect: 'Allow' | 'Deny', operator: string, key: string, value: string): Policy => parsePolicy(JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: effect, Action: 's3:GetObject', Resource: '*', Condition: { [operator]: { [key]: value } } }],
  }), 'identity');
  const request = (tags: Readonly<Record<string, string>> | undefined, context?: Readonly<Record<string, ContextValue>>): PreparedRequest => prepareRequest({
    principal: { type: 'User', arn: 'arn:aws:iam::1:user/u', account: '1', username: 'u', ...(tags !== undefined ? { tags } : {}) },
    action: 's3:GetObject',
    resource: '*',
    ...(context !== undefined ? { context } : {}),
  });

  it('is fed from the principal\'s tags, with tag key and key name compared case-insensitively', () => {
    const allow = policy('Allow', 'StringEquals', 'aws:PrincipalTag/team', 'ml');
    assert.equal(evaluatePreparedPolicy(allow, request({ Team: 'ml' })).effect, 'Allow');
    assert.equal(evaluatePreparedPolicy(policy('Allow', 'StringEquals', 'AWS:principaltag/TEAM', 'ml'), request({ team: 'ml' })).effect, 'Allow');
    assert.equal(evaluatePreparedPolicy(allow, request({ team: 'web' })).effect, 'NotApplicable');
    assert.equal(evaluatePreparedPolicy(allow, request(undefined)).effect, 'NotApplicable');
  });

  it('an absent tag makes a negated operator hold, as AWS documents, so a Deny unless tagged denies', () => {
    const deny = policy('Deny', 'StringNotEquals', 'aws:PrincipalTag/clearance', 'pii');
    assert.equal(evaluatePreparedPolicy(deny, request(undefined)).effect, 'Deny');
    assert.equal(evaluatePreparedPolicy(deny, request({ clearance: 'public' })).effect, 'Deny');
    assert.equal(evaluatePreparedPolicy(deny, request({ clearance: 'pii' })).effect, 'NotApplicable');
  });

  it('a request context value cannot supply or override a principal tag', () => {
    const allow = policy('Allow', 'StringEquals', 'aws:PrincipalTag/team', 'ml');
    assert.equal(evaluatePreparedPolicy(allow, request(undefined, { 'aws:PrincipalTag/team': 'ml' })).effect, 'NotApplicable');
    assert.equal(evaluatePreparedPolicy(allow, request({ team: 'web' }, { 'AWS:PRINCIPALTAG/team': 'ml' })).effect, 'NotApplicable');
    assert.equal(request({ team: 'web' }, { 'aws:PrincipalTag/team': 'ml' }).values.get('aws:principaltag/team'), 'web');
  });
});
