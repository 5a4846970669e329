import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createSecureContext, DEFAULT_CIPHERS } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import { NbdConfigError, NbdProtocolError } from '../errors.js';
import { NbdConnection } from './connection.js';
import type { ExportRegistry } from './export-registry.js';
import { negotiate } from './handshake.js';
import type { HandshakeConfig, PskLookup } from './handshake.js';
import { serveTransmission } from './transmission.js';

/** The IANA port for NBD. */
export const NBD_DEFAULT_PORT = 10809;

/** NbdServerOptions.handshakeTimeoutMs's default. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

// OpenSSL leaves PSK suites out of its defaults; GnuTLS clients (qemu, libnbd) offer
// these for TLS 1.2. TLS 1.3 PSK uses the ordinary TLS 1.3 suites.
const PSK_CIPHERS = [
  'ECDHE-PSK-AES256-CBC-SHA384', 'ECDHE-PSK-AES128-CBC-SHA256',
  'DHE-PSK-AES256-GCM-SHA384', 'DHE-PSK-AES128-GCM-SHA256',
  'PSK-AES256-GCM-SHA384', 'PSK-AES128-GCM-SHA256',
].join(':');

/** TLS for NBD_OPT_STARTTLS: X.509 (`certificate`), TLS-PSK (`pskCallback`), or both. */
export interface NbdTlsOptions {
  /** Passed to tls.createSecureContext: `key`, `cert`, `ca`, … for X.509. */
  readonly certificate?: SecureContextOptions;
  /**
   * TLS-PSK: returns the key for a client identity (the `username` of a qemu/libnbd
   * keys.psk file), or undefined to refuse it. The returned bytes are used, not kept.
   */
  readonly pskCallback?: PskLookup;
}

/** Options of an NbdServer. */
export interface NbdServerOptions {
  readonly registry: ExportRegistry;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 10809; 0 picks a free port (see `listen()`'s result). */
  readonly port?: number;
  readonly tls?: NbdTlsOptions;
  /** Refuse every export until the client has started TLS (NBD_REP_ERR_TLS_REQD). */
  readonly requireTls?: boolean;
  /**
   * How long a client may take from connecting to choosing an export (TLS included) before
   * the connection is dropped; default 10 s, as qemu-nbd's handshake limit. A client that
   * stalls mid-handshake would otherwise hold its socket for ever.
   */
  readonly handshakeTimeoutMs?: number;
  /** Requests served concurrently per connection; default 64. */
  readonly maxInFlight?: number;
  /** Told of each connection that ended with an error; never given secret material. */
  readonly onConnectionError?: (err: unknown) => void;
}

/**
 * An NBD server (fixed newstyle handshake, simple replies) exporting the devices of an
 * ExportRegistry. A client that breaks the protocol loses its connection; its
 * malformed request never reaches a device.
 */
export class NbdServer {
  readonly #config: HandshakeConfig;
  readonly #options: NbdServerOptions;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  /** @throws NbdConfigError if `requireTls` is set without TLS options. */
  constructor(options: NbdServerOptions) {
    if (options.requireTls === true && options.tls === undefined) {
      throw new NbdConfigError('requireTls needs tls options');
    }
    this.#options = options;
    this.#config = { registry: options.registry, tls: buildTls(options.tls), requireTls: options.requireTls === true };
  }

  /** Starts listening; resolves with the bound address (the real port when 0 was asked). */
  listen(): Promise<{ host: string; port: number }> {
    const host = this.#options.host ?? '127.0.0.1';
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? NBD_DEFAULT_PORT, host, () => {
        const address = server.address();
        resolve({ host, port: typeof address === 'object' && address !== null ? address.port : 0 });
      });
    });
  }

  /** Connections open right now. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Stops listening and drops every connection. Never closes the exported devices. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    void this.#serve(socket);
  }

  async #serve(socket: Socket): Promise<void> {
    const conn = new NbdConnection(socket);
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      conn.stream.destroy();
      socket.destroy();
    }, this.#options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
    deadline.unref();
    try {
      const chosen = await negotiate(conn, this.#config).finally(() => clearTimeout(deadline));
      if (chosen !== undefined) await serveTransmission(conn, chosen.device, this.#options.maxInFlight ?? 64);
      conn.stream.end();
    } catch (err) {
      this.#options.onConnectionError?.(timedOut ? new NbdProtocolError('handshake not finished in time', { cause: err }) : err);
      conn.flush();
      conn.stream.destroy();
      socket.destroy();
    }
  }
}

function buildTls(tls: NbdTlsOptions | undefined): HandshakeConfig['tls'] {
  if (tls === undefined) return undefined;
  const psk = tls.pskCallback;
  const ciphers = psk === undefined ? DEFAULT_CIPHERS : `${DEFAULT_CIPHERS}:${PSK_CIPHERS}`;
  const context = createSecureContext({ minVersion: 'TLSv1.2', ciphers, ...tls.certificate });
  return psk === undefined ? { context } : { context, pskCallback: psk };
}
