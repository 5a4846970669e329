import assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
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
  function send(parts: readonly (string | Buffer)[], gapMs = 0): Promise<string> {
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
  const keepAlive = (path: string, extra: string): string => `POST ${path} HTTP/1.1\r\nhost: x\r\n${extra}\r\n`;

  /** The bodies of the responses in `answer`, in order (each framed by its Content-Length; interim 1xx skipped). */
  function responseBodies(answer: string): string[] {
    const bodies: string[] = [];
    let at = 0;
    while (at < answer.length) {
      const end = answer.indexOf('\r\n\r\n', at);
      assert.ok(end >= 0, `a response head ends: ${JSON.stringify(answer.slice(at))}`);
      const headText = answer.slice(at, end);
      at = end + 4;
      if (/^HTTP\/1\.1 1\d\d /.test(headText)) continue;
      const length = /\r\ncontent-length: (\d+)/i.exec(headText);
      assert.ok(length !== null, `a Content-Length in ${JSON.stringify(headText)}`);
      bodies.push(answer.slice(at, at + Number(length[1])));
      at += Number(length[1]);
    }
    return bodies;
  }

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

  it('pipelined requests in one write: each body whole and its own, in order, over one kept-alive connection', async () => {
    const answer = await send([
      keepAlive('/pipe-1', 'content-length: 5\r\n') +
        'hello' +
        keepAlive('/pipe-2', 'content-length: 0\r\n') +
        keepAlive('/pipe-3', 'transfer-encoding: chunked\r\n') +
        '3\r\nabc\r\n0\r\n\r\n' +
        // Refused by its Content-Length before a byte is read: its body must still be skipped, not parsed as a request.
        keepAlive('/pipe-4', 'content-length: 17\r\n') +
        'POST /x HTTP/1.1\r' +
        keepAlive('/pipe-5', 'content-length: 6\r\n') +
        'world!' +
        head('/pipe-6', 'content-length: 3\r\n') +
        'end',
    ]);
    assert.deepEqual(responseBodies(answer), ['ok hello', 'ok ', 'ok abc', 'err BodyTooLargeError', 'ok world!', 'ok end']);
    assert.ok((await outcome('/pipe-4')) instanceof BodyTooLargeError);
  });

  it('keep-alive through node:http: requests one after another on the same socket each read whole', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const reused: boolean[] = [];
      for (const [i, body] of ['first', '', 'third-body', '0123456789abcdef'].entries()) {
        const answer = await new Promise<string>((resolve, reject) => {
          const r = request({ host: '127.0.0.1', port, method: 'POST', path: `/agent-${i}`, agent, headers: { 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
            let text = '';
            res.setEncoding('latin1');
            res.on('data', (d: string) => (text += d));
            res.on('end', () => resolve(text));
          });
          r.on('error', reject);
          r.end(body);
          reused.push(r.reusedSocket);
        });
        assert.equal(answer, `ok ${body}`);
      }
      assert.deepEqual(reused, [false, true, true, true]);
    } finally {
      agent.destroy();
    }
  });

  it('a UTF-8 body split inside a character across packets: every byte, in order', async () => {
    const body = Buffer.from('€x€', 'utf8');
    const answer = await send([Buffer.concat([Buffer.from(head('/utf8', `content-length: ${body.length}\r\n`)), body.subarray(0, 2)]), body.subarray(2, 5), body.subarray(5)], 30);
    assert.ok(bodyOf(answer).startsWith('ok '), answer);
    assert.deepEqual(await outcome('/utf8'), body);
  });

  it('Expect: 100-continue: the body sent after the interim answer is read whole', async () => {
    const answer = await send([head('/continue', 'expect: 100-continue\r\ncontent-length: 3\r\n'), 'xyz'], 50);
    assert.match(answer, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    assert.deepEqual(responseBodies(answer), ['ok xyz']);
  });

  it('a Content-Length larger than what arrives, the client then closing its side: BodyIncompleteError, not a hang or a short body', async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(head('/short', 'content-length: 10\r\n') + 'hel');
        setTimeout(() => socket.end(), 30);
      });
      socket.resume();
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const got = await outcome('/short');
    assert.ok(got instanceof BodyIncompleteError, String(got));
  });

  it('a request destroyed without an error before the body was read, or while it streams: BodyIncompleteError, not a hang', async () => {
    handlers.set('/destroyed-quietly', (req) => req.destroy());
    await send([head('/destroyed-quietly', 'content-length: 5\r\n') + 'hello']);
    const before = await outcome('/destroyed-quietly');
    assert.ok(before instanceof BodyIncompleteError, String(before));
    handlers.set('/destroyed-streaming', (req) => void setTimeout(() => req.destroy(), 20));
    await send([head('/destroyed-streaming', 'content-length: 10\r\n') + 'hel', 'lo'], 60);
    const during = await outcome('/destroyed-streaming');
    assert.ok(during instanceof BodyIncompleteError, String(during));
  });
});

