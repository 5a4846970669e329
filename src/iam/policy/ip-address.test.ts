import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrContains, parseCidr, parseIpAddress } from './ip-address.js';

function inside(cidr: string, address: string): boolean {
  const block = parseCidr(cidr);
  const ip = parseIpAddress(address);
  assert.ok(block, `bad cidr ${cidr}`);
  assert.ok(ip, `bad address ${address}`);
  return cidrContains(block, ip);
}

describe('ip-address', () => {
  it('matches IPv4 CIDR blocks', () => {
    assert.equal(inside('203.0.113.0/24', '203.0.113.77'), true);
    assert.equal(inside('203.0.113.0/24', '203.0.114.1'), false);
    assert.equal(inside('10.0.0.0/9', '10.127.255.255'), true);
    assert.equal(inside('10.0.0.0/9', '10.128.0.0'), false);
    assert.equal(inside('0.0.0.0/0', '192.0.2.1'), true);
    assert.equal(inside('192.0.2.1', '192.0.2.1'), true);
    assert.equal(inside('192.0.2.1', '192.0.2.2'), false);
  });

  it('matches IPv6 CIDR blocks, compressed or not', () => {
    assert.equal(inside('2001:db8::/32', '2001:0db8:1234::1'), true);
    assert.equal(inside('2001:db8::/32', '2001:db9::1'), false);
    assert.equal(inside('2001:DB8:1234:5678::/64', '2001:db8:1234:5678:abcd::9'), true);
    assert.equal(inside('::1/128', '0:0:0:0:0:0:0:1'), true);
  });

  it('never matches across families, but unmaps IPv4-mapped IPv6', () => {
    assert.equal(inside('2001:db8::/32', '192.0.2.1'), false);
    assert.equal(inside('192.0.2.0/24', '::ffff:192.0.2.9'), true);
  });

  it('rejects malformed addresses and prefixes', () => {
    for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4/33', '2001:db8::/129', '1::2::3', 'abc', '1.2.3.4/x', '']) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
    assert.equal(parseIpAddress('1.2.3.4/24'), undefined);
  });
});
