import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePolicy } from './evaluate-policy.js';
import { parsePolicy } from './parse-policy.js';
import type { ContextValue, RequestContext } from './request-context.js';

const alice = { type: 'User', arn: 'arn:aws:iam::111122223333:user/alice', account: '111122223333', username: 'alice', userid: 'AIDAALICE' } as const;

/** True when an Allow statement with only this Condition block applies to a request with `context`. */
function holds(condition: Record<string, unknown>, context: Record<string, ContextValue>, version = '2012-10-17'): boolean {
  const policy = parsePolicy(
    JSON.stringify({ Version: version, Statement: { Effect: 'Allow', Action: '*', Resource: '*', Condition: condition } }),
    'identity',
  );
  const request: RequestContext = { principal: alice, action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', context };
  return evaluatePolicy(policy, request).effect === 'Allow';
}

describe('string operators', () => {
  it('StringEquals is exact and case-sensitive; several values are OR-ed', () => {
    assert.equal(holds({ StringEquals: { k: ['a', 'b'] } }, { k: 'b' }), true);
    assert.equal(holds({ StringEquals: { k: 'a' } }, { k: 'A' }), false);
    assert.equal(holds({ StringEquals: { k: 'a*' } }, { k: 'abc' }), false);
  });

  it('StringNotEquals is NOR over the values and holds when the key is absent', () => {
    assert.equal(holds({ StringNotEquals: { k: ['a', 'b'] } }, { k: 'c' }), true);
    assert.equal(holds({ StringNotEquals: { k: ['a', 'b'] } }, { k: 'b' }), false);
    assert.equal(holds({ StringNotEquals: { k: 'a' } }, {}), true);
  });

  it('IgnoreCase variants fold case', () => {
    assert.equal(holds({ StringEqualsIgnoreCase: { k: 'ABC' } }, { k: 'abc' }), true);
    assert.equal(holds({ StringNotEqualsIgnoreCase: { k: 'ABC' } }, { k: 'abc' }), false);
    assert.equal(holds({ StringNotEqualsIgnoreCase: { k: 'ABC' } }, { k: 'abd' }), true);
  });

  it('StringLike / StringNotLike use * and ?, case-sensitively', () => {
    assert.equal(holds({ StringLike: { k: 'home/*' } }, { k: 'home/alice/x' }), true);
    assert.equal(holds({ StringLike: { k: 'file-?.txt' } }, { k: 'file-1.txt' }), true);
    assert.equal(holds({ StringLike: { k: 'Home/*' } }, { k: 'home/x' }), false);
    assert.equal(holds({ StringNotLike: { k: 'tmp/*' } }, { k: 'tmp/x' }), false);
    assert.equal(holds({ StringNotLike: { k: 'tmp/*' } }, {}), true);
  });

  it('positive operators fail when the key is absent', () => {
    assert.equal(holds({ StringEquals: { k: 'a' } }, {}), false);
    assert.equal(holds({ StringLike: { k: '*' } }, {}), false);
    assert.equal(holds({ Bool: { k: 'true' } }, {}), false);
  });

  it('looks keys up case-insensitively, whatever case the context uses', () => {
    assert.equal(holds({ StringEquals: { 'AWS:SourceVpce': 'vpce-1' } }, { 'aws:sourcevpce': 'vpce-1' }), true);
    assert.equal(holds({ StringEquals: { 'aws:sourcevpce': 'vpce-1' } }, { 'aws:SourceVpce': 'vpce-1' }), true);
  });
});

describe('numeric, date, bool, binary', () => {
  it('Numeric comparisons', () => {
    assert.equal(holds({ NumericLessThan: { n: '10' } }, { n: '9' }), true);
    assert.equal(holds({ NumericLessThan: { n: '10' } }, { n: '10' }), false);
    assert.equal(holds({ NumericLessThanEquals: { n: 10 } }, { n: '10' }), true);
    assert.equal(holds({ NumericGreaterThan: { n: '1.5' } }, { n: '2' }), true);
    assert.equal(holds({ NumericGreaterThanEquals: { n: '3' } }, { n: '2' }), false);
    assert.equal(holds({ NumericEquals: { n: '100' } }, { n: '100.0' }), true);
    assert.equal(holds({ NumericNotEquals: { n: '100' } }, { n: '7' }), true);
    assert.equal(holds({ NumericEquals: { n: '1' } }, { n: 'one' }), false);
  });

  it('Date comparisons accept ISO 8601 and epoch seconds on either side', () => {
    assert.equal(holds({ DateLessThan: { t: '2020-01-01T00:00:00Z' } }, { t: '2019-12-31T23:59:59Z' }), true);
    assert.equal(holds({ DateLessThan: { t: '2020-01-01T00:00:00Z' } }, { t: '1577836800' }), false);
    assert.equal(holds({ DateLessThanEquals: { t: '1577836800' } }, { t: '2020-01-01T00:00:00Z' }), true);
    assert.equal(holds({ DateGreaterThan: { t: '2020-01-01' } }, { t: '2020-01-02T00:00:00+02:00' }), true);
    assert.equal(holds({ DateGreaterThanEquals: { t: '2020-01-01' } }, { t: '2019-06-01' }), false);
    assert.equal(holds({ DateEquals: { t: '2020-01-01T00:00:00Z' } }, { t: '1577836800' }), true);
    assert.equal(holds({ DateNotEquals: { t: '2020-01-01T00:00:00Z' } }, { t: '1577836801' }), true);
  });

  it('Bool compares true/false case-insensitively', () => {
    assert.equal(holds({ Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'TRUE' }), true);
    assert.equal(holds({ Bool: { 'aws:SecureTransport': false } }, { 'aws:SecureTransport': 'true' }), false);
  });

  it('BinaryEquals compares decoded bytes', () => {
    assert.equal(holds({ BinaryEquals: { b: 'QmluYXJ5VmFsdWU=' } }, { b: 'QmluYXJ5VmFsdWU=' }), true);
    assert.equal(holds({ BinaryEquals: { b: 'QmluYXJ5VmFsdWU=' } }, { b: 'T3RoZXI=' }), false);
  });
});

describe('IP and ARN operators', () => {
  it('IpAddress / NotIpAddress over IPv4 and IPv6', () => {
    const ip = { 'aws:SourceIp': ['203.0.113.0/24', '2001:db8::/32'] };
    assert.equal(holds({ IpAddress: ip }, { 'aws:SourceIp': '203.0.113.9' }), true);
    assert.equal(holds({ IpAddress: ip }, { 'aws:SourceIp': '2001:db8::5' }), true);
    assert.equal(holds({ IpAddress: ip }, { 'aws:SourceIp': '198.51.100.1' }), false);
    assert.equal(holds({ NotIpAddress: ip }, { 'aws:SourceIp': '198.51.100.1' }), true);
    assert.equal(holds({ IpAddress: ip }, { 'aws:SourceIp': 'not-an-ip' }), false);
  });

  it('ArnLike matches each ARN part separately', () => {
    const like = { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::bucket-*' } };
    assert.equal(holds(like, { 'aws:SourceArn': 'arn:aws:s3:::bucket-1' }), true);
    assert.equal(holds(like, { 'aws:SourceArn': 'arn:aws:s3:::other' }), false);
    // `*` in the region part does not swallow the account part's colon.
    const region = { ArnLike: { a: 'arn:aws:kms:*:111122223333:key/*' } };
    assert.equal(holds(region, { a: 'arn:aws:kms:eu-west-1:111122223333:key/abc' }), true);
    assert.equal(holds(region, { a: 'arn:aws:kms:eu-west-1:444455556666:key/abc' }), false);
    assert.equal(holds({ ArnEquals: { a: 'arn:aws:sns:us-east-1:1:topic' } }, { a: 'arn:aws:sns:us-east-1:1:topic' }), true);
    assert.equal(holds({ ArnNotEquals: { a: 'arn:aws:sns:us-east-1:1:topic' } }, { a: 'arn:aws:sns:us-east-1:1:other' }), true);
    assert.equal(holds({ ArnNotLike: { a: 'arn:aws:sns:*:1:*' } }, { a: 'arn:aws:sns:us-east-1:1:x' }), false);
    assert.equal(holds({ ArnLike: { a: 'arn:aws:sns:*:1:*' } }, { a: 'not-an-arn' }), false);
  });
});

describe('IfExists, Null and set qualifiers', () => {
  it('...IfExists holds when the key is absent and tests it when present', () => {
    assert.equal(holds({ StringEqualsIfExists: { k: 'a' } }, {}), true);
    assert.equal(holds({ StringEqualsIfExists: { k: 'a' } }, { k: 'b' }), false);
    assert.equal(holds({ NumericLessThanIfExists: { n: '5' } }, { n: '4' }), true);
  });

  it('Null tests presence', () => {
    assert.equal(holds({ Null: { k: 'true' } }, {}), true);
    assert.equal(holds({ Null: { k: 'true' } }, { k: 'x' }), false);
    assert.equal(holds({ Null: { k: 'false' } }, { k: 'x' }), true);
    assert.equal(holds({ Null: { k: 'false' } }, { k: [] }), false);
  });

  it('ForAllValues: every request value must match; an absent or empty set holds', () => {
    const c = { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env', 'team'] } };
    assert.equal(holds(c, { 'aws:TagKeys': ['env'] }), true);
    assert.equal(holds(c, { 'aws:TagKeys': ['env', 'cost'] }), false);
    assert.equal(holds(c, { 'aws:TagKeys': [] }), true);
    assert.equal(holds(c, {}), true);
  });

  it('ForAnyValue: one request value must match; an absent set fails unless IfExists', () => {
    const c = { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'env' } };
    assert.equal(holds(c, { 'aws:TagKeys': ['cost', 'env'] }), true);
    assert.equal(holds(c, { 'aws:TagKeys': ['cost'] }), false);
    assert.equal(holds(c, {}), false);
    assert.equal(holds({ 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': 'env' } }, {}), true);
  });

  it('negated operators under a set qualifier negate per request value', () => {
    const all = { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['secret'] } };
    assert.equal(holds(all, { 'aws:TagKeys': ['a', 'b'] }), true);
    assert.equal(holds(all, { 'aws:TagKeys': ['a', 'secret'] }), false);
    const any = { 'ForAnyValue:StringNotLike': { 'aws:TagKeys': ['team*'] } };
    assert.equal(holds(any, { 'aws:TagKeys': ['team-a', 'env'] }), true);
    assert.equal(holds(any, { 'aws:TagKeys': ['team-a'] }), false);
  });

  it('several keys and operators are AND-ed', () => {
    const c = { StringEquals: { a: '1', b: '2' }, Bool: { c: 'true' } };
    assert.equal(holds(c, { a: '1', b: '2', c: 'true' }), true);
    assert.equal(holds(c, { a: '1', b: '3', c: 'true' }), false);
    assert.equal(holds(c, { a: '1', b: '2', c: 'false' }), false);
  });
});

describe('policy variables in condition values', () => {
  it('substitutes principal-derived and context keys', () => {
    assert.equal(holds({ StringEquals: { owner: '${aws:username}' } }, { owner: 'alice' }), true);
    assert.equal(holds({ StringLike: { p: 'home/${aws:userid}/*' } }, { p: 'home/AIDAALICE/x' }), true);
    assert.equal(holds({ StringEquals: { acct: '${aws:PrincipalAccount}' } }, { acct: '111122223333' }), true);
    assert.equal(holds({ StringEquals: { seen: '${aws:SourceIp}' } }, { seen: '192.0.2.1', 'aws:SourceIp': '192.0.2.1' }), true);
  });

  it('an unresolvable variable makes the condition fail, even for a negated operator', () => {
    assert.equal(holds({ StringEquals: { k: '${aws:nosuchkey}' } }, { k: '' }), false);
    assert.equal(holds({ StringNotEquals: { k: '${aws:nosuchkey}' } }, { k: 'x' }), false);
  });

  it('are literal text under Version 2008-10-17', () => {
    assert.equal(holds({ StringEquals: { k: '${aws:username}' } }, { k: 'alice' }, '2008-10-17'), false);
    assert.equal(holds({ StringEquals: { k: '${aws:username}' } }, { k: '${aws:username}' }, '2008-10-17'), true);
  });

  it('a request value cannot override principal-derived keys', () => {
    assert.equal(holds({ StringEquals: { 'aws:username': 'mallory' } }, { 'aws:username': 'mallory' }), false);
  });
});
