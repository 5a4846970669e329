/**
 * The listeners: plain HTTP, HTTPS, and one per private endpoint, all served by the same
 * edge handler. TLS listeners share one identity and swap in a renewed or replaced
 * certificate without a restart (setSecureContext: new connections get it, open ones
 * keep theirs).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { EndpointChannel } from './edge-router.js';
import type { PrivateEndpoint } from './endpoints.js';
import { secureContextOptions, tlsServerOptions, type TlsSetup } from './tls/index.js';

/** The edge's request listener; the third argument names the private endpoint, if any. */
export type EdgeRequestListener = (req: IncomingMessage, res: ServerResponse, endpoint?: EndpointChannel) => void;

/** Where to listen. An absent `http` / `https` means that listener is off. */
export interface ListenerPlan {
  readonly http?: { readonly host: string; readonly port: number };
  readonly https?: { readonly host: string; readonly port: number };
  readonly endpoints: readonly PrivateEndpoint[];
  /** Needed when `https` is set or any endpoint has `tls`. */
  readonly tls?: TlsSetup;
  /** A connection with nothing read or written for this long is closed (default IDLE_MS). */
  readonly idleMs?: number;
}

/** The running listeners: their URLs, and how to stop them all. */
export interface Listeners {
  readonly http?: string;
  readonly https?: string;
  /** vpce id → URL. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** Stops accepting, lets in-flight requests finish, closes idle keep-alive connections. */
  close(): Promise<void>;
}

const KEEP_ALIVE_MS = 65_000;
/**
 * How long a connection may stay silent in either direction mid-request before it is
 * closed, as S3 closes a socket "not read from or written to within the timeout period".
 * There is deliberately no cap on a request's total time (node:http's requestTimeout
 * defaults to 300 s): a single PUT of up to 5 GiB over a slow link may take longer, and
 * S3 accepts it. Headers must still arrive within node:http's headersTimeout (60 s).
 */
export const IDLE_MS = 120_000;

/**
 * Starts every planned listener. If one cannot listen (address in use, TLS needed but no
 * setup), those already started are closed and the error is raised.
 */
export async function startListeners(plan: ListenerPlan, handler: EdgeRequestListener, log: Logger): Promise<Listeners> {
  const started: Server[] = [];
  const tlsServers: Array<ReturnType<typeof createHttpsServer>> = [];
  const timing = { keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0 };
  const make = (tls: boolean, listener: (req: IncomingMessage, res: ServerResponse) => void): Server => {
    if (!tls) return closeWhenIdle(createHttpServer(timing, trackingExchanges(listener)), plan.idleMs ?? IDLE_MS);
    if (plan.tls === undefined) throw new Error('a TLS listener was planned without a TLS setup');
    const server = createHttpsServer({ ...tlsServerOptions(plan.tls.identity.current(), plan.tls.client), ...timing }, trackingExchanges(listener));
    closeWhenIdle(server, plan.idleMs ?? IDLE_MS);
    server.on('tlsClientError', (err) => log.debug({ reason: err.message }, 'TLS handshake failed'));
    tlsServers.push(server);
    return server;
  };
  const open = async (tls: boolean, host: string, port: number, listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> => {
    const server = make(tls, listener);
    await listen(server, host, port);
    started.push(server);
    return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
  };
  try {
    const http = plan.http !== undefined ? await open(false, plan.http.host, plan.http.port, handler) : undefined;
    const https = plan.https !== undefined ? await open(true, plan.https.host, plan.https.port, handler) : undefined;
    const endpoints: Record<string, string> = {};
    for (const e of plan.endpoints) {
      endpoints[e.id] = await open(e.tls, e.host, e.port, (req, res) => handler(req, res, e.channel));
    }
    const tls = plan.tls;
    if (tls !== undefined && tlsServers.length > 0) {
      tls.identity.watch((identity) => {
        for (const s of tlsServers) s.setSecureContext(secureContextOptions(identity, tls.client));
      });
    }
    return { ...(http !== undefined ? { http } : {}), ...(https !== undefined ? { https } : {}), endpoints, close: () => closeAll(started) };
  } catch (err) {
    await closeAll(started);
    throw err;
  }
}

/** The response to the latest request on a socket (its `req` is that request), kept on the socket itself. */
const EXCHANGE = Symbol('cipherlake.exchange');

type TrackedSocket = Socket & { [EXCHANGE]?: ServerResponse };

/**
 * The request listener that also remembers, on the request's socket, the latest exchange
 * for closeWhenIdle. One listener rather than a second 'request' listener: with two,
 * node:events copies the listener array on every request, and the WeakMap of exchanges
 * it replaces cost an object and an ephemeron entry per request.
 */
function trackingExchanges(listener: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    (req.socket as TrackedSocket)[EXCHANGE] = res;
    listener(req, res);
  };
}

/**
 * Closes a connection silent for `idleMs` (and one idle between keep-alive requests for
 * keepAliveTimeout, which node:http runs on the same socket timer), except while its request
 * has fully arrived and no answer has begun: that silence is the server working (a CopyObject,
 * a CompleteMultipartUpload copying its parts back to back), not the client stalling, and
 * before requestTimeout 0 nothing cut it. Listening for the server's 'timeout' means node:http
 * no longer destroys the socket itself, so every other case is destroyed here. The server's
 * request listener must be wrapped by trackingExchanges.
 */
function closeWhenIdle<S extends Server>(server: S, idleMs: number): S {
  server.on('timeout', (socket: TrackedSocket) => {
    const res = socket[EXCHANGE];
    if (res !== undefined && res.req.complete && !res.headersSent) return;
    socket.destroy();
  });
  server.setTimeout(idleMs);
  return server;
}

function closeAll(servers: readonly Server[]): Promise<void> {
  return Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
    ),
  ).then(() => undefined);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
