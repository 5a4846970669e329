import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unsignedAmzHeaders, withHeadersNotSigned } from './unsigned-headers.js';
import { errorXml } from './xml.js';

describe('unsignedAmzHeaders', () => {
  const signed = ['host', 'x-amz-date', 'x-amz-meta-a'];

  it('lists the x-amz-* headers not in SignedHeaders, sorted; other headers and x-amzn-* are not its business', () => {
    const headers = { host: 'h', 'x-amz-date': 'd', 'x-amz-meta-a': '1', 'x-amz-tagging': 't', 'x-amz-acl': 'private', 'x-foo': 'f', 'user-agent': 'u', 'x-amzn-trace-id': 'r' };
    assert.deepEqual(unsignedAmzHeaders(headers, signed), ['x-amz-acl', 'x-amz-tagging']);
  });

  it('exempts x-amz-content-sha256 (the payload hash line of the canonical request covers it)', () => {
    assert.deepEqual(unsignedAmzHeaders({ host: 'h', 'x-amz-date': 'd', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, signed), []);
    assert.deepEqual(unsignedAmzHeaders({ 'x-amz-content-sha256-x': 'v' }, signed), ['x-amz-content-sha256-x']);
  });

  it('answers one shared empty list when everything is signed (no allocation on the hot path)', () => {
    const a = unsignedAmzHeaders({ host: 'h', 'x-amz-date': 'd' }, signed);
    const b = unsignedAmzHeaders({ host: 'h', 'x-amz-meta-a': '1' }, signed);
    assert.equal(a.length, 0);
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
  });
});

describe('withHeadersNotSigned', () => {
  it('adds <HeadersNotSigned> right after <Message>, names comma-separated and XML-escaped', () => {
    const xml = errorXml('AccessDenied', 'There were headers present in the request which were not signed', 'req-1', '/b/k');
    const out = withHeadersNotSigned(xml, ['x-amz-a&b', 'x-amz-meta-x']);
    assert.match(out, /<\/Message><HeadersNotSigned>x-amz-a&amp;b, x-amz-meta-x<\/HeadersNotSigned><Resource>\/b\/k<\/Resource><RequestId>req-1<\/RequestId>/);
  });

  it('leaves a document without a message as it is', () => {
    assert.equal(withHeadersNotSigned('<Error/>', ['x-amz-a']), '<Error/>');
  });
});
