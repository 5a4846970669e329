import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../common/clock.js';
import { ensureCa, ensureServerCertificate, type KeyAlgorithm } from './built-in-ca.js';
import { TlsConfigError } from './errors.js';
import type { TlsIdentity } from './tls-options.js';

/**
 * Where the server's TLS identity comes from. `current()` is the identity to serve now;
 * after `watch(onChange)` a new identity (renewed or replaced certificate) is reported
 * through `onChange`, so listeners swap it in without a restart. `close()` stops watching.
 */
export interface IdentitySource {
  current(): TlsIdentity;
  watch(onChange: (identity: TlsIdentity) => void): void;
  close(): void;
}

/** How often the built-in identity checks whether its certificate is due for renewal. */
const RENEWAL_CHECK_MS = 3600_000;

/**
 * The built-in CA's server certificate (created or re-issued as needed on construction,
 * see ensureServerCertificate), renewed while running when it nears expiry. Raises what
 * ensureCa / ensureServerCertificate raise.
 */
export class BuiltInIdentitySource implements IdentitySource {
  readonly #tlsDir: string;
  readonly #names: readonly string[];
  readonly #algorithm: KeyAlgorithm;
  readonly #clock: Clock;
  readonly #log: Logger;
  #identity: TlsIdentity;
  #timer: NodeJS.Timeout | undefined;

  constructor(dataDir: string, names: readonly string[], algorithm: KeyAlgorithm, clock: Clock, log: Logger) {
    this.#tlsDir = join(dataDir, 'tls');
    this.#names = names;
    this.#algorithm = algorithm;
    this.#clock = clock;
    this.#log = log;
    this.#identity = this.#load();
  }

  current(): TlsIdentity {
    return this.#identity;
  }

  watch(onChange: (identity: TlsIdentity) => void): void {
    this.#timer = setInterval(() => {
      try {
        const next = this.#load();
        if (next.serial === this.#identity.serial) return;
        this.#identity = next;
        this.#log.info({ serial: next.serial }, 'server certificate renewed');
        onChange(next);
      } catch (err) {
        this.#log.error({ err }, 'server certificate renewal failed; keeping the current one');
      }
    }, RENEWAL_CHECK_MS);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #load(): TlsIdentity {
    const ca = ensureCa(this.#tlsDir, this.#algorithm);
    const cert = ensureServerCertificate(this.#tlsDir, ca, this.#names, this.#algorithm, this.#clock.now());
    return { keyPem: cert.keyPem, certPem: cert.certPem, serial: cert.serial };
  }
}

/**
 * A certificate and key the user supplies (PEM files). The files are polled every
 * `intervalMs`; when their contents change and the new pair is valid and matching, it
 * is reported. A half-replaced pair (new certificate, old key) is ignored until both
 * match, and the old identity keeps serving. The constructor raises TlsConfigError when
 * the files are unreadable or do not match. Never logs key bytes.
 */
export class FileIdentitySource implements IdentitySource {
  readonly #certFile: string;
  readonly #keyFile: string;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #identity: TlsIdentity;
  #seen: string;
  #timer: NodeJS.Timeout | undefined;

  constructor(certFile: string, keyFile: string, intervalMs: number, log: Logger) {
    this.#certFile = certFile;
    this.#keyFile = keyFile;
    this.#intervalMs = intervalMs;
    this.#log = log;
    const files = this.#read();
    this.#identity = parseIdentity(files.cert, files.key, certFile);
    this.#seen = files.digest;
  }

  current(): TlsIdentity {
    return this.#identity;
  }

  watch(onChange: (identity: TlsIdentity) => void): void {
    this.#timer = setInterval(() => this.#poll(onChange), this.#intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #poll(onChange: (identity: TlsIdentity) => void): void {
    let files: { cert: string; key: string; digest: string };
    try {
      files = this.#read();
    } catch {
      return; // mid-replacement (a file briefly missing): try again next tick
    }
    if (files.digest === this.#seen) return;
    this.#seen = files.digest;
    try {
      this.#identity = parseIdentity(files.cert, files.key, this.#certFile);
    } catch (err) {
      this.#log.warn({ certFile: this.#certFile, reason: (err as Error).message }, 'TLS certificate files changed but are not usable yet; still serving the previous certificate');
      return;
    }
    this.#log.info({ certFile: this.#certFile, serial: this.#identity.serial }, 'TLS certificate reloaded');
    onChange(this.#identity);
  }

  #read(): { cert: string; key: string; digest: string } {
    let cert: string;
    let key: string;
    try {
      cert = readFileSync(this.#certFile, 'utf8');
      key = readFileSync(this.#keyFile, 'utf8');
    } catch (err) {
      throw new TlsConfigError(`cannot read TLS certificate or key file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
    }
    return { cert, key, digest: createHash('sha256').update(cert).update('\0').update(key).digest('hex') };
  }
}

/** Checks that the first certificate in `certPem` belongs to `keyPem`. Messages never include key bytes. */
function parseIdentity(certPem: string, keyPem: string, certFile: string): TlsIdentity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new TlsConfigError(`${certFile} does not hold a PEM certificate`);
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    throw new TlsConfigError('the TLS key file does not hold a PEM private key');
  }
  if (!matches) throw new TlsConfigError(`the TLS key does not match the certificate in ${certFile}`);
  return { keyPem, certPem, serial: cert.serialNumber };
}
