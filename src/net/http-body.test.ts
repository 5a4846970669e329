import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BodyIncompleteError, BodyTooLargeError, readBody } from './http-body.js';

/**
 * readBody against node:http's own parser, fed raw bytes: a body that arrives with its
 * headers (taken whole from the read buffer), one that arrives later (streamed), limits,
 * and a client or handler that ends the request before the body could be read.
 */
describe('readBody', () => {
  let server: Server;
  let port = 0;
  // Each request's handler is picked by its path; it settles the request's outcome.
  const handlers = new Map<string, (req: IncomingMessage) => void>();
  const outcomes = new Map<string, Promise<Buffer>>();

  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '';
      const handle = handlers.get(path);
      const p = readBody(req, 16);
      outcomes.set(path, p);
      handle?.(req);
      p.then(
        (body) => res.end(`ok ${body.toString('latin1')}`),
        (err: unknown) => {
          if (!res.destroyed) res.end(`err ${(err as Error).name}`);
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Writes `parts` on a fresh connection (each after the server answered nothing for `gapMs`), then reads until close. */
  function send(parts: readonly string[], gapMs = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      let got = '';
      const socket = connect(port, '127.0.0.1', async () => {
        for (const [i, part] of parts.entries()) {
          if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
          socket.write(part);
        }
      });
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
  }

  const head = (path: string, extra: string): string => `POST ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${extra}\r\n`;
  const bodyOf = (answer: string): string => answer.slice(answer.indexOf('\r\n\r\n') + 4);

  /** The outcome of `path`, failing instead of hanging when readBody never settles. */
  async function outcome(path: string): Promise<Buffer | Error> {
    const p = outcomes.get(path);
    assert.ok(p !== undefined, `no request seen for ${path}`);
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('readBody never settled')), 5000)));
    try {
      return await Promise.race([p.catch((err: unknown) => err as Error), hang]);
    } finally {
      clearTimeout(timer);
    }
  }

  it('a body that arrives with its headers: whole, without a data listener left behind', async () => {
    let listeners = -1;
    handlers.set('/same', (req) => void outcomes.get('/same')?.then(() => (listeners = req.listenerCount('data'))));
    assert.equal(bodyOf(await send([head('/same', 'content-length: 5\r\n') + 'hello'])), 'ok hello');
    assert.equal(listeners, 0);
  });

  it('a body that arrives after its headers (and one in two parts): streamed, whole', async () => {
    assert.equal(bodyOf(await send([head('/later', 'content-length: 5\r\n'), 'hello'], 30)), 'ok hello');
    assert.equal(bodyOf(await send([head('/parts', 'content-length: 10\r\n') + 'hello', 'world'], 30)), 'ok helloworld');
  });

  it('no body: an empty buffer', async () => {
    assert.equal(bodyOf(await send([head('/empty', 'content-length: 0\r\n')])), 'ok ');
    assert.deepEqual(await outcome('/empty'), Buffer.alloc(0));
  });

  it('over the limit by Content-Length, or counted in a chunked body (whole or streamed): BodyTooLargeError', async () => {
    await send([head('/declared', 'content-length: 17\r\n') + 'x'.repeat(17)]);
    assert.ok((await outcome('/declared')) instanceof BodyTooLargeError);
    await send([head('/chunked', 'transfer-encoding: chunked\r\n') + '11\r\n' + 'y'.repeat(17) + '\r\n0\r\n\r\n']);
    assert.ok((await outcome('/chunked')) instanceof BodyTooLargeError);
    await send([head('/chunked-later', 'transfer-encoding: chunked\r\n'), '11\r\n' + 'y'.repeat(17) + '\r\n0\r\n\r\n'], 30);
    assert.ok((await outcome('/chunked-later')) instanceof BodyTooLargeError);
  });

  it('the client gone mid-body: BodyIncompleteError', async () => {
    const answer = new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(head('/gone', 'content-length: 10\r\n') + 'hel');
        setTimeout(() => socket.destroy(), 30);
      });
      socket.on('close', () => resolve(''));
      socket.on('error', reject);
    });
    await answer;
    assert.ok((await outcome('/gone')) instanceof BodyIncompleteError);
  });

  it('a request destroyed before the body was read (its error emitted before any listener): BodyIncompleteError, not a hang or an empty body', async () => {
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    handlers.set('/destroyed', (req) => req.destroy(reset));
    await send([head('/destroyed', 'content-length: 5\r\n') + 'hello']);
    const got = await outcome('/destroyed');
    assert.ok(got instanceof BodyIncompleteError, String(got));
  });
});
