import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ensureCa, ensureServerCertificate } from './built-in-ca.js';
import { TlsConfigError } from './errors.js';
import { FileIdentitySource } from './server-identity.js';

describe('FileIdentitySource', () => {
  it('loads a matching pair and refuses a key that belongs to another certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherlake-identity-'));
    try {
      const ca = ensureCa(dir, 'ec-p256');
      const a = ensureServerCertificate(dir, ca, [], 'ec-p256', new Date());
      const b = ensureServerCertificate(dir, ca, ['other.test'], 'ec-p256', new Date());
      writeFileSync(join(dir, 'a.crt'), a.certPem);
      writeFileSync(join(dir, 'a.key'), a.keyPem);
      writeFileSync(join(dir, 'b.key'), b.keyPem);
      const log = pino({ level: 'silent' });
      const ok = new FileIdentitySource(join(dir, 'a.crt'), join(dir, 'a.key'), 1000, log);
      assert.equal(ok.current().serial, a.serial);
      ok.close();
      assert.throws(() => new FileIdentitySource(join(dir, 'a.crt'), join(dir, 'b.key'), 1000, log), TlsConfigError);
      assert.throws(() => new FileIdentitySource(join(dir, 'missing.crt'), join(dir, 'a.key'), 1000, log), TlsConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
