import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet, request as httpRequest, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../config/config.js';
import { transportChannel, type EndpointChannel, type TransportChannel } from './edge-router.js';
import { privateEndpoints } from './endpoints.js';
import { startListeners, type Listeners } from './listeners.js';
import { openTls, type TlsSetup } from './tls/index.js';

const log = pino({ level: 'silent' });
const POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}';

/** Fetches `url` and resolves with the channel the handler saw, as JSON. */
function fetchChannel(url: string, ca: string, options: { maxVersion?: 'TLSv1.2' } = {}): Promise<TransportChannel & { endpointPolicyKind?: string }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(JSON.parse(body) as TransportChannel));
    };
    const req = url.startsWith('https:') ? httpsGet(url, { ca, agent: false, ...options }, onResponse) : httpGet(url, onResponse);
    req.on('error', reject);
  });
}

describe('listeners and the channel they give each request', () => {
  let dir: string;
  let tls: TlsSetup;
  let listeners: Listeners;
  const seen: Array<EndpointChannel | undefined> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cipherlake-listeners-'));
    const config = loadConfig({ dataDir: dir }, {});
    tls = openTls(dir, config.tls, ['127.0.0.1', '127.0.0.2'], { now: () => new Date() }, log);
    const endpoints = privateEndpoints([{ id: 'vpce-0123456789abcdef0', host: '127.0.0.2', port: 0, tls: true, policy: POLICY }]);
    listeners = await startListeners(
      { http: { host: '127.0.0.1', port: 0 }, https: { host: '127.0.0.1', port: 0 }, endpoints, tls },
      (req, res, endpoint) => {
        seen.push(endpoint);
        const channel = transportChannel(req, endpoint);
        res.end(JSON.stringify({ ...channel, endpointPolicy: undefined, endpointPolicyKind: channel.endpointPolicy?.kind }));
      },
      log,
    );
  });
  after(async () => {
    await listeners.close();
    tls.identity.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives plain HTTP requests secureTransport false and nothing else', async () => {
    assert.deepEqual(await fetchChannel(`${listeners.http}/`, tls.identity.current().certPem), { secureTransport: false });
  });

  it('reports the negotiated TLS version and suite, not the configured ones', async () => {
    const ca = caOf(dir);
    const v13 = await fetchChannel(`${listeners.https}/`, ca);
    assert.equal(v13.secureTransport, true);
    assert.equal(v13.tlsVersion, 'TLSv1.3');
    assert.match(v13.cipherSuite ?? '', /^TLS_/);
    assert.equal(v13.vpcEndpointId, undefined);
    const v12 = await fetchChannel(`${listeners.https}/`, ca, { maxVersion: 'TLSv1.2' });
    assert.equal(v12.tlsVersion, 'TLSv1.2');
    assert.match(v12.cipherSuite ?? '', /^ECDHE-(ECDSA|RSA)-.*(GCM|CHACHA20)/);
  });

  it('gives private endpoint requests the vpce id and the parsed endpoint policy', async () => {
    const channel = await fetchChannel(`${listeners.endpoints['vpce-0123456789abcdef0']}/`, caOf(dir));
    assert.equal(channel.vpcEndpointId, 'vpce-0123456789abcdef0');
    assert.equal(channel.endpointPolicyKind, 'endpoint');
    const last = seen.at(-1);
    assert.equal(last?.endpointPolicy?.statements[0]?.effect, 'Deny');
  });
});

function caOf(dataDir: string): string {
  return readFileSync(join(dataDir, 'tls', 'ca', 'ca.crt'), 'utf8');
}



describe('listener timeouts: silence closes a connection, a long but moving request does not', () => {
  let listeners: Listeners;
  let port: number;
  before(async () => {
    // The handler reads the whole body and answers its length (on /slow, only after 1.2 s of work).
    // The headers timeout is shorter than every request here: it must never cut a body.
    listeners = await startListeners({ http: { host: '127.0.0.1', port: 0 }, endpoints: [], idleMs: 400, headersTimeoutMs: 200 }, (req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => setTimeout(() => res.end(String(n)), req.url === '/slow' ? 1200 : 0));
    }, log);
    port = Number(new URL(listeners.http ?? '').port);
  });
  after(() => listeners.close());

  /** Sends a PUT of `body` one byte per `gapMs`; resolves with what came back before the socket closed. */
  function trickle(body: string, gapMs: number, stallAfter = Infinity): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', async () => {
        socket.write(`PUT /b/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
        for (let i = 0; i < body.length && i < stallAfter && !socket.destroyed; i++) {
          await delay(gapMs);
          socket.write(body[i]!);
        }
      });
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString()));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
  }

  // This shows the idle limit is not a limit on the total time; that node:http's own
  // 300 s requestTimeout is off (requestTimeout: 0 in listeners.ts) is not tested here: it
  // would take five minutes, and the servers are not exposed.
  it('a body that keeps arriving is served although it takes longer in total than the idle limit and the headers timeout', async () => {
    const answer = await trickle('abcdef', 250); // 1.5 s in all, never 400 ms silent
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(answer.endsWith('\r\n\r\n6'), answer);
  });

  it('a request fully received is answered however long the server works on it (a big CopyObject or CompleteMultipartUpload)', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path: '/slow', headers: { 'content-length': '3' }, agent: false }, (res) => {
        let got = '';
        res.on('data', (c: Buffer) => (got += c.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${got}`));
      });
      req.on('error', reject); // a socket hang up when the idle timeout cut the connection
      req.end('abc');
    });
    assert.equal(answer, '200 3');
  });

  it('a request that goes silent mid-body is closed without an answer', { timeout: 10_000 }, async () => {
    const answer = await trickle('abcdef', 100, 2); // two bytes, then nothing
    assert.equal(answer, '');
  });
});

describe('headers timeout: a request whose headers do not all arrive in time gets 408 and is closed', () => {
  const HEADERS_MS = 300;
  let dir: string;
  let tls: TlsSetup;
  let listeners: Listeners;
  let port: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cipherlake-listeners-'));
    tls = openTls(dir, loadConfig({ dataDir: dir }, {}).tls, ['127.0.0.1'], { now: () => new Date() }, log);
    // A long idle limit: only the headers timeout can close these connections within the test.
    const plan = { http: { host: '127.0.0.1', port: 0 }, https: { host: '127.0.0.1', port: 0 }, endpoints: [], tls, idleMs: 60_000, headersTimeoutMs: HEADERS_MS };
    listeners = await startListeners(plan, (_req, res) => res.end('ok'), log);
    port = Number(new URL(listeners.http ?? '').port);
  });
  after(async () => {
    await listeners.close();
    tls.identity.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Connects, writes `head`, then one byte of `trickle` per `gapMs`; resolves with what came back once the server closed. */
  function send(head: string, trickle = '', gapMs = 50): Promise<{ answer: string; trickled: number }> {
    return new Promise((resolve, reject) => {
      let trickled = 0;
      const socket = connect(port, '127.0.0.1', async () => {
        socket.write(head);
        for (; trickled < trickle.length && !socket.destroyed; trickled++) {
          await delay(gapMs);
          if (!socket.destroyed) socket.write(trickle[trickled]!);
        }
      });
      let answer = '';
      socket.on('data', (c: Buffer) => (answer += c.toString()));
      socket.on('close', () => resolve({ answer, trickled }));
      socket.on('error', reject);
    });
  }

  it('half a header, then nothing: 408 although the idle limit is far', { timeout: 10_000 }, async () => {
    const { answer } = await send('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ');
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('a header trickling in, never silent for long: 408 long before it would have ended', { timeout: 10_000 }, async () => {
    // 400 bytes, one per 50 ms: 20 s if nothing cut it, and never silent long enough for any idle limit.
    const { answer, trickled } = await send('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 'a'.repeat(400));
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(trickled < 400, `closed after ${trickled} of 400 bytes`);
  });

  it('a connection that sends nothing is closed too', { timeout: 10_000 }, async () => {
    const { answer } = await send('');
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });

  it('a keep-alive connection idle between requests for longer than the headers timeout is still served', async () => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (c: Buffer) => (got += c.toString()));
    let closed = false;
    socket.on('close', () => (closed = true));
    await new Promise((resolve) => socket.once('connect', resolve));
    const ask = async (): Promise<void> => {
      got = '';
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      while (!got.endsWith('\r\n\r\nok') && !closed) await delay(10);
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    };
    await ask();
    await delay(HEADERS_MS * 4); // well past the timeout and a check of it (every HEADERS_MS / 2)
    await ask();
    socket.destroy();
  });

  it('Expect: 100-continue: a body sent long after the headers (and the interim answer) is served, not cut by the headers timeout', { timeout: 10_000 }, async () => {
    // As the AWS CLI sends a large PUT. Own listener: the handler reads the body and answers its length.
    const own = await startListeners({ http: { host: '127.0.0.1', port: 0 }, endpoints: [], idleMs: 60_000, headersTimeoutMs: 100 }, (req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(String(n)));
    }, log);
    try {
      const socket = connect(Number(new URL(own.http ?? '').port), '127.0.0.1', () => socket.write('PUT / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n'));
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString()));
      await delay(1000); // ten headers timeouts, several checks of it
      assert.equal(got, 'HTTP/1.1 100 Continue\r\n\r\n');
      socket.write('hello');
      while (!got.endsWith('\r\n\r\n5') && !socket.destroyed) await delay(10);
      socket.destroy();
      assert.match(got, /\r\n\r\nHTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n5$/);
    } finally {
      await own.close();
    }
  });

  it('a TLS client that never finishes its handshake is closed after the same time, and the listeners keep serving', { timeout: 10_000 }, async () => {
    const httpsPort = Number(new URL(listeners.https ?? '').port);
    // The server must close it: we never do, so without the handshake timeout this waits
    // until the test's own timeout fails it. Nothing may be answered to half a ClientHello.
    const received = await new Promise<number>((resolve, reject) => {
      let bytes = 0;
      const socket = connect(httpsPort, '127.0.0.1', () => socket.write(Buffer.from([0x16, 0x03, 0x01]))); // the start of a ClientHello
      socket.on('data', (c: Buffer) => (bytes += c.length));
      socket.on('close', () => resolve(bytes));
      socket.on('error', reject);
    });
    assert.equal(received, 0, 'no handshake bytes answered to half a ClientHello');
    const body = await new Promise<string>((resolve, reject) => {
      httpsGet(`${listeners.https}/`, { ca: caOf(dir), agent: false }, (res) => {
        let got = '';
        res.on('data', (c: Buffer) => (got += c.toString()));
        res.on('end', () => resolve(got));
      }).on('error', reject);
    });
    assert.equal(body, 'ok');
  });
});

describe('closing the listeners: in-flight requests are answered, then every connection ends, however busy', () => {
  /** A raw keep-alive client that sends its next request as soon as an answer is in; counts answers, notes the close. */
  function busyClient(port: number): { answers: () => number; closed: Promise<string> } {
    let answers = 0;
    let got = '';
    let last = '';
    const socket = connect(port, '127.0.0.1');
    const ask = (): void => void socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    socket.on('connect', ask);
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      if (!got.endsWith('\r\n\r\nok')) return;
      answers += 1;
      last = got;
      got = '';
      ask();
    });
    socket.on('error', () => undefined);
    return { answers: () => answers, closed: new Promise((resolve) => socket.on('close', () => resolve(last))) };
  }

  it('clients that never pause do not hold the close: their next answer says Connection: close and ends the connection', { timeout: 10_000 }, async () => {
    // The first request of each client is held until the close began, so both connections are busy then.
    let closing = false;
    const held: Array<() => void> = [];
    const listeners = await startListeners({ http: { host: '127.0.0.1', port: 0 }, endpoints: [] }, (_req, res) => {
      if (closing) setTimeout(() => res.end('ok'), 2);
      else held.push(() => res.end('ok'));
    }, log);
    const port = Number(new URL(listeners.http ?? '').port);
    const clients = [busyClient(port), busyClient(port)];
    while (held.length < 2) await delay(10);
    const closed = listeners.close();
    closing = true;
    for (const answer of held) answer();
    await closed;
    const last = await Promise.all(clients.map((c) => c.closed));
    assert.ok(last.every((answer) => /^HTTP\/1\.1 200 OK\r\n/.test(answer)), 'each got answers to the end');
  });

  it('a request in flight at the close is answered, and its connection, idle after, is closed', { timeout: 10_000 }, async () => {
    let release: (() => void) | undefined;
    const listeners = await startListeners({ http: { host: '127.0.0.1', port: 0 }, endpoints: [] }, (_req, res) => {
      release = () => res.end('ok');
    }, log);
    const port = Number(new URL(listeners.http ?? '').port);
    const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    let got = '';
    socket.on('data', (c: Buffer) => (got += c.toString()));
    const closedSocket = new Promise((resolve) => socket.on('close', resolve));
    while (release === undefined) await delay(10);
    const closing = listeners.close();
    await delay(50);
    release();
    await closing;
    await closedSocket;
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
  });

  for (const when of ['just before the close', 'while closing'] as const) {
    it(`an answer ended ${when} but still queued for a slow reader reaches it whole`, { timeout: 20_000 }, async () => {
      // More than loopback's socket buffers hold: most of the answer is still queued in the server when it ends.
      const SIZE = 32 * 1024 * 1024;
      let release: (() => void) | undefined;
      const listeners = await startListeners({ http: { host: '127.0.0.1', port: 0 }, endpoints: [] }, (_req, res) => {
        release = () => res.writeHead(200, { 'content-length': SIZE }).end(Buffer.alloc(SIZE, 0x61));
      }, log);
      const port = Number(new URL(listeners.http ?? '').port);
      const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      let head = '';
      let body = 0;
      socket.on('data', (c: Buffer) => {
        if (head.endsWith('\r\n\r\n')) return void (body += c.length);
        const end = c.indexOf('\r\n\r\n') + 4; // the head is in the first chunk
        head = c.subarray(0, end).toString();
        body += c.length - end;
      });
      const closedSocket = new Promise((resolve) => socket.on('close', resolve));
      while (release === undefined) await delay(10);
      socket.pause(); // the slow reader
      let closing: Promise<void>;
      if (when === 'while closing') {
        closing = listeners.close();
        await delay(150); // several sweeps of the closing listeners run before the answer ends
        release();
      } else {
        release();
        closing = listeners.close();
      }
      await delay(300); // sweeps run while the answer is queued
      socket.resume();
      await closing;
      await closedSocket;
      assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
      assert.equal(body, SIZE);
    });
  }
});
