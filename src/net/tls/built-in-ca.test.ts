import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCa, ensureServerCertificate, isCertificateName, RENEW_BEFORE_MS, type CaFiles } from './built-in-ca.js';
import { TlsConfigError } from './errors.js';

describe('built-in CA', () => {
  let dir: string;
  let ca: CaFiles;
  const now = new Date();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cipherlake-ca-'));
    ca = ensureCa(dir, 'ec-p256');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a CA once, key 0600, and returns the same one afterwards', () => {
    assert.equal(statSync(ca.keyPath).mode & 0o777, 0o600);
    assert.equal(new X509Certificate(ca.certPem).ca, true);
    assert.equal(ensureCa(dir, 'ec-p256').certPem, ca.certPem);
  });

  it('keeps the server certificate while it fits, re-issues on a name or key type change', () => {
    const a = ensureServerCertificate(dir, ca, [], 'ec-p256', now);
    assert.equal(ensureServerCertificate(dir, ca, [], 'ec-p256', now).serial, a.serial);
    const b = ensureServerCertificate(dir, ca, ['kms.example.test'], 'ec-p256', now);
    assert.notEqual(b.serial, a.serial);
    assert.match(new X509Certificate(b.certPem).subjectAltName ?? '', /DNS:kms\.example\.test/);
    const c = ensureServerCertificate(dir, ca, ['kms.example.test'], 'rsa-2048', now);
    assert.notEqual(c.serial, b.serial);
    assert.equal(new X509Certificate(c.certPem).publicKey.asymmetricKeyType, 'rsa');
  });

  it('re-issues when the certificate is within the renewal window', () => {
    const a = ensureServerCertificate(dir, ca, [], 'ec-p256', now);
    const nearEnd = new Date(a.notAfter.getTime() - RENEW_BEFORE_MS + 1000);
    const b = ensureServerCertificate(dir, ca, [], 'ec-p256', nearEnd);
    assert.notEqual(b.serial, a.serial);
  });

  it('re-issues a certificate that another CA signed', () => {
    const a = ensureServerCertificate(dir, ca, [], 'ec-p256', now);
    const otherDir = mkdtempSync(join(tmpdir(), 'cipherlake-ca2-'));
    try {
      const other = ensureCa(otherDir, 'ec-p256');
      const b = ensureServerCertificate(dir, other, [], 'ec-p256', now);
      assert.notEqual(b.serial, a.serial);
      assert.ok(new X509Certificate(b.certPem).verify(new X509Certificate(other.certPem).publicKey));
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('refuses names that could inject openssl configuration', () => {
    assert.equal(isCertificateName('a.example'), true);
    assert.equal(isCertificateName('*.example.test'), true);
    assert.equal(isCertificateName('10.1.2.3'), true);
    assert.equal(isCertificateName('fd00::1'), true);
    for (const bad of ['a\nDNS.9 = evil', 'a b', '', 'x=y', '-a.example']) assert.equal(isCertificateName(bad), false, bad);
    assert.throws(() => ensureServerCertificate(dir, ca, ['bad\nname'], 'ec-p256', now), TlsConfigError);
  });
});
