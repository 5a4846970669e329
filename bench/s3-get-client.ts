/**
 * The S3 benchmark's GET client: keep-alive HTTP/1.1 connections to one endpoint that read
 * every response into one reused buffer per connection (node:net's `onread`) and only count
 * the body's bytes. undici's body stream allocates a buffer per socket read, copies it into
 * its parser's WebAssembly memory and hands each chunk through a Readable and an async
 * iterator: at 64 MiB per GET the client spent 0.7–1.4 ms of CPU per MiB that way against
 * ~0.2 with this one, on a machine where client and server share two cores. Used alike for
 * every target (null endpoint, s3rver, Cipherlake), so rows stay comparable.
 *
 * Deliberately small: GET only, no pipelining, responses must carry Content-Length (a
 * chunked or otherwise unframed one is an error, not a guess; 204 and 304 have no body), and
 * a byte after the body is an error too.
 */
import { connect, type Socket } from 'node:net';

/** What a GET answered: the status code and how many body bytes arrived. */
export interface GetCount {
  readonly status: number;
  readonly bytes: number;
}

/** Largest response head accepted (status line and headers), in bytes. */
const MAX_HEAD = 64 * 1024;
/** Size of each connection's reused read buffer. */
const READ_BUFFER = 256 * 1024;

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

/** One response being read: its head until complete, then the body bytes still expected. */
interface Reading {
  /** The head's bytes so far (a copy), while it spans reads; empty otherwise. */
  head: Buffer;
  /** True once any byte of the response arrived. */
  received: boolean;
  status: number;
  left: number;
  bytes: number;
  keepAlive: boolean;
  readonly resolve: (c: GetCount) => void;
  readonly reject: (e: Error) => void;
}

/** One keep-alive connection; `reading` is the response it is reading, if any. */
class Connection {
  readonly socket: Socket;
  reading: Reading | undefined;

  constructor(host: string, port: number, onIdleClose: (c: Connection) => void) {
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    // onread: node:net reads into `buffer` every time instead of allocating a buffer per read.
    this.socket = connect({ host, port, onread: { buffer, callback: (n: number) => this.#onRead(buffer.subarray(0, n)) } });
    this.socket.setNoDelay(true);
    this.socket.on('error', (err) => this.#fail(err));
    this.socket.on('close', () => {
      if (this.reading !== undefined) this.#fail(new Error('connection closed before the response ended'));
      else onIdleClose(this);
    });
  }

  #fail(err: Error): void {
    const r = this.reading;
    this.reading = undefined;
    this.socket.destroy();
    r?.reject(err);
  }

  #onRead(chunk: Buffer): boolean {
    const r = this.reading;
    if (r === undefined) {
      this.#fail(new Error('bytes arrived with no request outstanding'));
      return false;
    }
    r.received = true;
    let body = chunk;
    if (r.left < 0) {
      const at = readHead(r, chunk);
      if (at instanceof Error) {
        this.#fail(at);
        return false;
      }
      if (at < 0) return true;
      body = chunk.subarray(at);
    }
    if (body.length > r.left) {
      this.#fail(new Error('bytes past the response body'));
      return false;
    }
    r.left -= body.length;
    r.bytes += body.length;
    if (r.left === 0) this.#complete(r);
    return true;
  }

  #complete(r: Reading): void {
    this.reading = undefined;
    if (!r.keepAlive) this.socket.destroy();
    r.resolve({ status: r.status, bytes: r.bytes });
  }
}

/**
 * Adds `chunk` (the connection's reused buffer: only copied from) to the response head of
 * `r`. Returns the offset in `chunk` where the body starts once the head is complete (and
 * sets status, left, keepAlive), -1 while the head is incomplete, or an Error for a head
 * this client does not accept.
 */
function readHead(r: Reading, chunk: Buffer): number | Error {
  const before = r.head.length;
  // A head that spans reads is rare (and small): only then are bytes joined.
  const joined = before === 0 ? chunk : Buffer.concat([r.head, chunk]);
  const end = joined.indexOf(HEAD_END);
  if (end < 0) {
    if (joined.length > MAX_HEAD) return new Error('response head too large');
    r.head = Buffer.from(joined);
    return -1;
  }
  const lines = joined.toString('latin1', 0, end).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (status === null) return new Error('malformed status line');
  r.status = Number(status[1]);
  let length: number | undefined;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    // Decimal digits only: Number() would read '' as 0 and accept '0x10', '1e3' or '+5'.
    if (name === 'content-length') length = /^[0-9]+$/.test(value) ? Number(value) : NaN;
    else if (name === 'transfer-encoding') return new Error(`unsupported transfer-encoding: ${value}`);
    else if (name === 'connection' && value.toLowerCase() === 'close') r.keepAlive = false;
  }
  // A 204 or 304 ends at its head whatever content-length says (RFC 9112 §6.3): never wait for a body.
  const bodyless = r.status === 204 || r.status === 304;
  if (!bodyless && (length === undefined || !Number.isSafeInteger(length))) return new Error('response without a valid content-length');
  r.left = bodyless ? 0 : length!;
  r.head = EMPTY;
  return end + HEAD_END.length - before;
}

/**
 * GETs from one endpoint over keep-alive connections, counting body bytes (see the file's
 * comment). Opens a connection whenever none is idle, so concurrency is the caller's.
 */
export class CountingGetClient {
  readonly #host: string;
  readonly #hostHeader: string;
  readonly #port: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();

  /** `endpoint`: http://host:port of the server. */
  constructor(endpoint: string) {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:') throw new Error('CountingGetClient speaks plain HTTP only');
    this.#host = url.hostname;
    this.#hostHeader = url.host;
    this.#port = Number(url.port || 80);
  }

  /**
   * GETs `path` (already URI-encoded) with `headers` (lower-case names; host is added) and
   * resolves with the status and the number of body bytes, whatever the status. Rejects on a
   * socket error, a close before the body ended, a response without Content-Length, or bytes
   * past the body. A reused connection that fails before answering (the server closed it
   * while idle) is retried once on a new one; nothing else is retried.
   */
  async get(path: string, headers: Readonly<Record<string, string>>): Promise<GetCount> {
    const reused = this.#idle.pop();
    if (reused === undefined) return this.#send(this.#open(), path, headers).done;
    const attempt = this.#send(reused, path, headers);
    try {
      return await attempt.done;
    } catch (err) {
      if (attempt.reading.received) throw err;
      return this.#send(this.#open(), path, headers).done;
    }
  }

  /** Closes every connection; requests in flight reject. */
  close(): void {
    for (const c of this.#all) c.socket.destroy();
    this.#all.clear();
    this.#idle.length = 0;
  }

  #open(): Connection {
    const c = new Connection(this.#host, this.#port, (gone) => {
      this.#all.delete(gone);
      const at = this.#idle.indexOf(gone);
      if (at >= 0) this.#idle.splice(at, 1);
    });
    this.#all.add(c);
    return c;
  }

  #send(c: Connection, path: string, headers: Readonly<Record<string, string>>): { done: Promise<GetCount>; reading: Reading } {
    let reading: Reading | undefined;
    const done = new Promise<GetCount>((resolve, reject) => {
      reading = {
        head: EMPTY,
        received: false,
        status: 0,
        left: -1,
        bytes: 0,
        keepAlive: true,
        resolve: (count) => {
          if (!c.socket.destroyed) this.#idle.push(c);
          else this.#all.delete(c);
          resolve(count);
        },
        reject: (err) => {
          this.#all.delete(c);
          reject(err);
        },
      };
      c.reading = reading;
      const lines = [`GET ${path} HTTP/1.1`, `host: ${this.#hostHeader}`];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      c.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    return { done, reading: reading! };
  }
}
