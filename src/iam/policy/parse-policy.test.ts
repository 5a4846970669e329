import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedPolicyDocumentError } from './errors.js';
import { parsePolicy } from './parse-policy.js';
import type { PolicyKind } from './types.js';

const allowAll = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };

function doc(statement: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statement, ...extra });
}

function rejects(json: string, kind: PolicyKind, message: RegExp): void {
  assert.throws(() => parsePolicy(json, kind), (err: unknown) => {
    assert.ok(err instanceof MalformedPolicyDocumentError);
    assert.equal(err.userError, true);
    assert.match(err.message, message);
    return true;
  });
}

describe('parsePolicy accepts', () => {
  it('a single statement object and an array', () => {
    assert.equal(parsePolicy(doc(allowAll), 'identity').statements.length, 1);
    assert.equal(parsePolicy(doc([allowAll, { ...allowAll, Effect: 'Deny' }]), 'identity').statements.length, 2);
  });

  it('Version 2008-10-17 and a missing Version (treated as 2008-10-17)', () => {
    assert.equal(parsePolicy(doc(allowAll, { Version: '2008-10-17' }), 'identity').version, '2008-10-17');
    assert.equal(parsePolicy(JSON.stringify({ Statement: allowAll }), 'identity').version, '2008-10-17');
  });

  it('an Id, Sids, Principal forms, and numbers and booleans as condition values', () => {
    const policy = parsePolicy(
      doc(
        [
          { Sid: 'A', Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: '*' },
          {
            Sid: 'B',
            Effect: 'Deny',
            Principal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:user/bob'], Service: 's3.amazonaws.com' },
            NotAction: ['kms:*'],
            NotResource: 'arn:aws:kms:*:*:key/*',
            Condition: { Bool: { 'aws:SecureTransport': false }, NumericLessThan: { 's3:max-keys': 10 } },
          },
        ],
        { Id: 'key-policy-1' },
      ),
      'resource',
    );
    assert.equal(policy.id, 'key-policy-1');
    assert.deepEqual(policy.statements.map((s) => s.sid), ['A', 'B']);
  });

  it('an endpoint policy without Principal or Resource, a trust policy without Resource', () => {
    parsePolicy(doc({ Effect: 'Allow', Action: '*' }), 'endpoint');
    parsePolicy(doc({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }), 'trust');
  });
});

describe('parsePolicy rejects', () => {
  const cases: Array<[string, string, PolicyKind, RegExp]> = [
    ['invalid JSON', '{"Statement": [', 'identity', /not valid JSON/],
    ['a non-object document', '[]', 'identity', /JSON object/],
    ['an unknown top-level element', doc(allowAll, { Foo: 1 }), 'identity', /unknown top-level element "Foo"/],
    ['an unknown Version', doc(allowAll, { Version: '2020-01-01' }), 'identity', /Version/],
    ['a missing Statement', JSON.stringify({ Version: '2012-10-17' }), 'identity', /Statement is required/],
    ['an empty Statement array', doc([]), 'identity', /must not be empty/],
    ['a bad Effect', doc({ ...allowAll, Effect: 'allow' }), 'identity', /Effect/],
    ['a missing Effect', doc({ Action: '*', Resource: '*' }), 'identity', /Effect/],
    ['both Action and NotAction', doc({ ...allowAll, NotAction: 's3:*' }), 'identity', /exactly one of Action or NotAction/],
    ['neither Action nor NotAction', doc({ Effect: 'Allow', Resource: '*' }), 'identity', /exactly one of Action or NotAction/],
    ['an action without a service', doc({ ...allowAll, Action: 'GetObject' }), 'identity', /invalid action/],
    ['an empty Action array', doc({ ...allowAll, Action: [] }), 'identity', /must not be empty/],
    ['a non-string Action', doc({ ...allowAll, Action: 7 }), 'identity', /expected strings/],
    ['an unknown statement element', doc({ ...allowAll, Actions: 'x' }), 'identity', /unknown element "Actions"/],
    ['a missing Resource in an identity policy', doc({ Effect: 'Allow', Action: '*' }), 'identity', /Resource or NotResource is required/],
    ['a missing Resource in a resource policy', doc({ Effect: 'Allow', Principal: '*', Action: '*' }), 'resource', /Resource or NotResource is required/],
    ['a Resource in a trust policy', doc({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole', Resource: '*' }), 'trust', /cannot have Resource/],
    ['both Resource and NotResource', doc({ ...allowAll, NotResource: '*' }), 'identity', /cannot both be present/],
    ['a Resource that is not an ARN', doc({ ...allowAll, Resource: 'bucket/key' }), 'identity', /neither "\*" nor an ARN/],
    ['a Principal in an identity policy', doc({ ...allowAll, Principal: '*' }), 'identity', /identity policy cannot have Principal/],
    ['a missing Principal in a resource policy', doc(allowAll), 'resource', /Principal or NotPrincipal is required/],
    ['both Principal and NotPrincipal', doc({ ...allowAll, Principal: '*', NotPrincipal: '*' }), 'resource', /cannot both be present/],
    ['an unknown principal type', doc({ ...allowAll, Principal: { IAM: '*' } }), 'resource', /unknown principal type "IAM"/],
    ['an AWS principal that is no ARN or account', doc({ ...allowAll, Principal: { AWS: 'alice' } }), 'resource', /invalid principal/],
    ['a Condition that is not an object', doc({ ...allowAll, Condition: [] }), 'identity', /Condition must be an object/],
    ['an unknown condition operator', doc({ ...allowAll, Condition: { StringEqual: { 'aws:username': 'a' } } }), 'identity', /unknown condition operator "StringEqual"/],
    ['an unknown set qualifier', doc({ ...allowAll, Condition: { 'ForSomeValues:StringLike': { k: 'a' } } }), 'identity', /unknown set qualifier/],
    ['NullIfExists', doc({ ...allowAll, Condition: { NullIfExists: { k: 'true' } } }), 'identity', /unknown condition operator/],
    ['an operator with no keys', doc({ ...allowAll, Condition: { StringEquals: {} } }), 'identity', /needs an object of condition keys/],
    ['an object as a condition value', doc({ ...allowAll, Condition: { StringEquals: { k: { a: 1 } } } }), 'identity', /strings, numbers or booleans/],
    ['an empty value list', doc({ ...allowAll, Condition: { StringEquals: { k: [] } } }), 'identity', /at least one value/],
    ['a non-numeric Numeric value', doc({ ...allowAll, Condition: { NumericLessThan: { k: 'ten' } } }), 'identity', /not a number/],
    ['a bad date', doc({ ...allowAll, Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } }), 'identity', /not an ISO 8601 date/],
    ['a bad IP block', doc({ ...allowAll, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } }), 'identity', /not an IP address or CIDR/],
    ['a bad Bool', doc({ ...allowAll, Condition: { Bool: { 'aws:SecureTransport': 'yes' } } }), 'identity', /not true or false/],
    ['bad base64', doc({ ...allowAll, Condition: { BinaryEquals: { k: '***' } } }), 'identity', /not base64/],
    ['duplicate Sids', doc([{ ...allowAll, Sid: 'S' }, { ...allowAll, Sid: 'S' }]), 'identity', /Sid "S" is used by more than one/],
  ];
  for (const [name, json, kind, message] of cases) {
    it(name, () => rejects(json, kind, message));
  }

  it('a document over 32 KiB, and honours a smaller limit', () => {
    const big = doc({ ...allowAll, Action: Array.from({ length: 3000 }, (_, i) => `s3:Action${i}`) });
    assert.ok(big.length > 32 * 1024);
    rejects(big, 'identity', /over the 32768-byte limit/);
    assert.throws(() => parsePolicy(doc(allowAll), 'identity', { maxBytes: 10 }), MalformedPolicyDocumentError);
  });

  it('names the statement by index and Sid', () => {
    rejects(doc([allowAll, { ...allowAll, Sid: 'Second', Effect: 'Maybe' }]), 'identity', /Statement 1 \("Second"\)/);
  });
});
