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
import { DEFAULT_MAX_CONNECTIONS } from '../config/config.js';
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
  /** Connections each listener holds at once; one more is closed as soon as it is accepted (default DEFAULT_MAX_CONNECTIONS). */
  readonly maxConnections?: number;
  /** A request's headers (and a TLS handshake) must arrive within this (default HEADERS_TIMEOUT_MS); tests shorten it. */
  readonly headersTimeoutMs?: number;
}

/** The running listeners: their URLs, and how to stop them all. */
export interface Listeners {
  readonly http?: string;
  readonly https?: string;
  /** vpce id → URL. */
  readonly endpoints: Readonly<Record<string, string>>;
  /**
   * Stops accepting, lets in-flight requests finish (each answer from then on closes its
   * connection), closes keep-alive connections as they go idle; resolves once all ended.
   * Never waits for a busy client to pause.
   */
  close(): Promise<void>;
}

const KEEP_ALIVE_MS = 65_000;
/**
 * How long a connection may stay silent in either direction mid-request before it is
 * closed, as S3 closes a socket "not read from or written to within the timeout period".
 * There is deliberately no cap on a request's total time (node:http's requestTimeout
 * defaults to 300 s): a single PUT of up to 5 GiB over a slow link may take longer, and
 * S3 accepts it. Headers must still arrive within HEADERS_TIMEOUT_MS.
 */
export const IDLE_MS = 120_000;
/**
 * How long a request's headers may take, from its first byte (or the connection's start)
 * to the blank line; the client then gets 408 and the connection closes. This, not the
 * idle limit, bounds a client that trickles header bytes just often enough never to be
 * silent. Set explicitly because node:http derives its default from requestTimeout
 * (min(60 s, requestTimeout)), and requestTimeout 0 made it 0: no limit at all. Also the
 * TLS handshake's limit (node's default is 120 s). It never limits a body: once the
 * headers are in, only the idle limit applies.
 */
export const HEADERS_TIMEOUT_MS = 60_000;
/** At most one log line per this interval for dropped connections or failed accepts: a flood must not flood the log too. */
const REPORT_EVERY_MS = 10_000;

/**
 * Starts every planned listener. If one cannot listen (address in use, TLS needed but no
 * setup), those already started are closed and the error is raised.
 */
export async function startListeners(plan: ListenerPlan, handler: EdgeRequestListener, log: Logger): Promise<Listeners> {
  const started: Server[] = [];
  const stopping: Stopping = { closing: false };
  const tlsServers: Array<ReturnType<typeof createHttpsServer>> = [];
  const timing = serverTiming(plan.headersTimeoutMs ?? HEADERS_TIMEOUT_MS);
  const limit = (server: Server): Server => {
    capConnections(server, plan.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    return closeWhenIdle(server, plan.idleMs ?? IDLE_MS);
  };
  const make = (tls: boolean, listener: (req: IncomingMessage, res: ServerResponse) => void): Server => {
    const served: Served = new Set();
    if (!tls) return sparingFlushes(limit(createHttpServer(timing, trackingExchanges(listener, stopping, served))), served);
    if (plan.tls === undefined) throw new Error('a TLS listener was planned without a TLS setup');
    const server = createHttpsServer({ ...tlsServerOptions(plan.tls.identity.current(), plan.tls.client), ...timing, handshakeTimeout: timing.headersTimeout }, trackingExchanges(listener, stopping, served));
    sparingFlushes(limit(server), served);
    server.on('tlsClientError', (err) => log.debug({ reason: err.message }, 'TLS handshake failed'));
    tlsServers.push(server);
    return server;
  };
  const open = async (tls: boolean, host: string, port: number, listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> => {
    const server = make(tls, listener);
    await listen(server, host, port);
    started.push(server);
    const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
    reportTrouble(server, url, log);
    return url;
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
    return { ...(http !== undefined ? { http } : {}), ...(https !== undefined ? { https } : {}), endpoints, close: () => closeAll(started, stopping) };
  } catch (err) {
    await closeAll(started, stopping);
    throw err;
  }
}

/** The response to the latest request on a socket (its `req` is that request), kept on the socket itself. */
const EXCHANGE = Symbol('cipherlake.exchange');

type TrackedSocket = Socket & { [EXCHANGE]?: ServerResponse };

/** A listener's sockets that carried a request, until they close (for TLS the TLS sockets, not the raw ones capConnections counts). */
type Served = Set<TrackedSocket>;

/** Set once the listeners close: every answer from then on ends its connection. */
interface Stopping {
  closing: boolean;
}

/**
 * The request listener that also remembers, on the request's socket, the latest exchange
 * for closeWhenIdle. One listener rather than a second 'request' listener: with two,
 * node:events copies the listener array on every request, and the WeakMap of exchanges
 * it replaces cost an object and an ephemeron entry per request. A socket's first request
 * also enters it in `served` (for sparingFlushes), left on its 'close': per connection, not
 * per request. Once the listeners close, each answer says `Connection: close` and
 * node:http ends its connection after it.
 */
function trackingExchanges(listener: (req: IncomingMessage, res: ServerResponse) => void, stopping: Stopping, served: Served): (req: IncomingMessage, res: ServerResponse) => void {
  // One function for every socket ('close' is emitted once, and calls it with the socket as this).
  function leave(this: TrackedSocket): void {
    served.delete(this);
  }
  return (req, res) => {
    const socket = req.socket as TrackedSocket;
    if (socket[EXCHANGE] === undefined) {
      served.add(socket);
      socket.on('close', leave);
    }
    socket[EXCHANGE] = res;
    if (stopping.closing) res.setHeader('connection', 'close');
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

/**
 * node:http's timing options for a listener. requestTimeout 0: no cap on a request's total
 * time (see IDLE_MS). headersTimeout explicit (see HEADERS_TIMEOUT_MS). node checks both
 * every connectionsCheckingInterval (30 s by default), so a headers timeout is enforced
 * within half of itself late at most.
 */
function serverTiming(headersTimeout: number): { keepAliveTimeout: number; requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number } {
  return { keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0, headersTimeout, connectionsCheckingInterval: Math.min(30_000, Math.max(10, Math.ceil(headersTimeout / 2))) };
}

/**
 * Closes each connection accepted while `max` are open, at once (emitting 'drop', as
 * node:net does for its own maxConnections). Counted here rather than with node:net's
 * maxConnections: in a node:cluster worker that one refuses the connection back to the
 * primary, whose round-robin hands it to another worker, and back, endlessly while every
 * worker is full: the client hangs and three processes spin. Accepted and closed here, it
 * ends at once in every mode. Costs a 'close' listener per connection, not per request.
 */
function capConnections(server: Server, max: number): void {
  let open = 0;
  const closed = (): void => {
    open -= 1;
  };
  // For TLS listeners this is the raw TCP socket, before any handshake work.
  server.on('connection', (socket: Socket) => {
    if (open >= max) {
      socket.destroy();
      server.emit('drop');
      return;
    }
    open += 1;
    socket.on('close', closed); // 'close' is emitted once: no once() wrapper per connection
  });
}

/**
 * Makes the listener's closeIdleConnections (which its close calls too, and the sweep in
 * closeAll every CLOSE_SWEEP_MS) wait while an answer has ended but is not yet flushed:
 * node:http counts such a connection idle (res.finished, set by end(), not by its bytes
 * leaving) and would destroy it with the answer's tail still queued, cutting a download to
 * a slow client mid-body. The next sweep closes it and any other idle ones once flushed.
 * Own property on the server, set once at start.
 */
function sparingFlushes<S extends Server>(server: S, served: Served): S {
  const closeIdle = server.closeIdleConnections;
  server.closeIdleConnections = function (this: S): void {
    for (const socket of served) {
      const res = socket[EXCHANGE];
      if (res !== undefined && res.writableEnded && !res.writableFinished) return;
    }
    closeIdle.call(this);
  };
  return server;
}

/**
 * Logs, at most once per REPORT_EVERY_MS each, connections dropped at maxConnections and
 * failed accepts (EMFILE: out of file descriptors). Without an 'error' listener a failed
 * accept, which node:net emits on the listening server, would be an uncaught exception
 * that stops the whole process; with it the listener keeps accepting once descriptors free up.
 */
function reportTrouble(server: Server, url: string, log: Logger): void {
  let dropped = 0;
  let lastDrop = 0;
  server.on('drop', () => {
    dropped += 1;
    if (Date.now() - lastDrop < REPORT_EVERY_MS) return;
    lastDrop = Date.now();
    log.warn({ listener: url, dropped }, 'connection limit reached: new connections are closed at once');
    dropped = 0;
  });
  let lastError = 0;
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (Date.now() - lastError < REPORT_EVERY_MS) return;
    lastError = Date.now();
    log.error({ listener: url, code: err.code, reason: err.message }, 'accepting a connection failed');
  });
}

/** How often closing listeners close the connections that went idle since (an answer begun before the close ended). */
const CLOSE_SWEEP_MS = 50;

/**
 * Stops accepting, closes idle connections, and resolves once every connection ended. A
 * keep-alive connection busy at the close would otherwise keep the stop waiting as long as
 * its client sends request after request (node:http's close only closes the connections
 * idle at that moment): each answer from now on closes its connection (trackingExchanges),
 * and one that went idle after an answer begun before is closed by the next sweep, once
 * its answer is flushed (sparingFlushes).
 */
function closeAll(servers: readonly Server[], stopping: Stopping): Promise<void> {
  stopping.closing = true;
  return Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          const sweep = setInterval(() => server.closeIdleConnections(), CLOSE_SWEEP_MS);
          // node:http's close also closes the connections idle at once (closeIdleConnections).
          server.close(() => {
            clearInterval(sweep);
            resolve();
          });
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
