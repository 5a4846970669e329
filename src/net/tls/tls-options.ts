import type { SecureContextOptions, TlsOptions } from 'node:tls';

/** The lowest protocol version accepted: TLS 1.0 and 1.1 are refused in the handshake. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/**
 * Modern AEAD suites only. TLS 1.3: its three standard suites (OpenSSL's defaults).
 * TLS 1.2: ECDHE (forward secrecy) with AES-GCM or ChaCha20-Poly1305 — no CBC, no static
 * RSA key exchange, no SHA-1 MACs.
 */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The server's key and certificate chain (PEM) at one moment; `serial` names the certificate (hex). */
export interface TlsIdentity {
  readonly keyPem: string;
  readonly certPem: string;
  readonly serial: string;
}

/** Client certificates (mutual TLS): the CAs trusted to issue them, and whether one is required. */
export interface ClientCertPolicy {
  readonly caPem: string;
  readonly required: boolean;
}

/**
 * The secure-context part of the server options (what `server.setSecureContext` replaces
 * on a certificate reload): identity, protocol floor, suites, trusted client CAs.
 */
export function secureContextOptions(identity: TlsIdentity, client: ClientCertPolicy | undefined): SecureContextOptions {
  return {
    key: identity.keyPem,
    cert: identity.certPem,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
    ...(client !== undefined ? { ca: client.caPem } : {}),
  };
}

/**
 * Full options for a TLS (or HTTPS) server. Without a client policy no client
 * certificate is asked for; with one it is asked for, and a connection without a valid
 * one is refused in the handshake only when `required`.
 */
export function tlsServerOptions(identity: TlsIdentity, client: ClientCertPolicy | undefined): TlsOptions {
  return {
    ...secureContextOptions(identity, client),
    requestCert: client !== undefined,
    rejectUnauthorized: client?.required === true,
  };
}
