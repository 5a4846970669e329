import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../../common/clock.js';
import type { TlsSettings } from '../../config/config.js';
import { TlsConfigError } from './errors.js';
import { BuiltInIdentitySource, FileIdentitySource, type IdentitySource } from './server-identity.js';
import type { ClientCertPolicy } from './tls-options.js';

/** What every TLS listener of one server shares: the identity and the client certificate policy. */
export interface TlsSetup {
  readonly identity: IdentitySource;
  readonly client: ClientCertPolicy | undefined;
}

/**
 * Opens the server's TLS identity: the user's certificate files when configured (polled
 * for changes), else the built-in CA under DATA_DIR/tls (created on first use), whose
 * server certificate also names `listenHosts` (the TLS listeners' addresses, so a client
 * reaching a private endpoint at 127.0.0.3 can verify it; unspecified addresses such as
 * 0.0.0.0 are skipped). Raises
 * TlsConfigError for unreadable or mismatched files, CertificateIssueError when openssl
 * fails. The caller closes `identity`.
 */
export function openTls(dataDir: string, tls: TlsSettings, listenHosts: readonly string[], clock: Clock, log: Logger): TlsSetup {
  const names = [...tls.names, ...listenHosts.filter((h) => h !== '0.0.0.0' && h !== '::' && h !== '')];
  const identity: IdentitySource =
    tls.certFile !== undefined && tls.keyFile !== undefined
      ? new FileIdentitySource(tls.certFile, tls.keyFile, tls.reloadIntervalSeconds * 1000, log)
      : new BuiltInIdentitySource(dataDir, names, tls.keyAlgorithm, clock, log);
  if (tls.clientCa === undefined) return { identity, client: undefined };
  let caPem: string;
  try {
    caPem = readFileSync(tls.clientCa, 'utf8');
  } catch (err) {
    identity.close();
    throw new TlsConfigError(`cannot read tls.clientCa ${tls.clientCa}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  return { identity, client: { caPem, required: tls.requireClientCert } };
}
