import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CountingGetClient } from '../../bench/s3-get-client.js';

// The S3 benchmark's GET client (bench/s3-get-client.ts) against node:http, and against a raw
// socket server for the responses node:http would never send.
describe('CountingGetClient', () => {
  let http: Server;
  let connections = 0;
  let seenHeaders: Record<string, string | string[] | undefined> = {};
  const raw = createNetServer();
  let rawPlan: (s: Socket) => void = () => undefined;

  const endpoint = (s: { address(): unknown }): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  before(async () => {
    http = createHttpServer((req, res) => {
      seenHeaders = req.headers;
      const [, kind, n] = (req.url ?? '').split('/');
      if (kind === 'bytes') {
        const size = Number(n);
        res.writeHead(200, { 'content-length': size });
        // Several writes, so that the body arrives in more than one read.
        for (let at = 0; at < size; at += 100_000) res.write(Buffer.alloc(Math.min(100_000, size - at), 7));
        res.end();
      } else if (kind === 'missing') {
        res.writeHead(404, { 'content-length': 9 }).end('not found');
      } else if (kind === 'chunked') {
        res.writeHead(200);
        res.write('abc');
        res.end('def');
      } else {
        res.writeHead(200, { 'content-length': 2, connection: 'close' }).end('ok');
      }
    });
    http.on('connection', () => (connections += 1));
    raw.on('connection', (s) => s.once('data', () => rawPlan(s)));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => http.close(resolve));
    await new Promise((resolve) => raw.close(resolve));
  });

  it('counts the body of each response over one kept-alive connection, and sends host and the given headers', async () => {
    const client = new CountingGetClient(endpoint(http));
    const before = connections;
    for (const size of [0, 1, 65_536, 3 * 1024 * 1024 + 5]) assert.deepEqual(await client.get(`/bytes/${size}`, { 'x-amz-date': 'd' }), { status: 200, bytes: size });
    assert.equal(connections - before, 1);
    assert.equal(seenHeaders.host, endpoint(http).slice('http://'.length));
    assert.equal(seenHeaders['x-amz-date'], 'd');
    client.close();
  });

  it('answers a non-200 status with its body counted; concurrent GETs each get their own connection', async () => {
    const client = new CountingGetClient(endpoint(http));
    assert.deepEqual(await client.get('/missing', {}), { status: 404, bytes: 9 });
    const sizes = [1_000_000, 2_000_000, 3_000_000];
    assert.deepEqual(await Promise.all(sizes.map((n) => client.get(`/bytes/${n}`, {}))), sizes.map((bytes) => ({ status: 200, bytes })));
    client.close();
  });

  it('opens a new connection after the server closed one (connection: close, or while it was idle)', async () => {
    const client = new CountingGetClient(endpoint(http));
    const before = connections;
    assert.deepEqual(await client.get('/close', {}), { status: 200, bytes: 2 });
    assert.deepEqual(await client.get('/bytes/10', {}), { status: 200, bytes: 10 });
    http.closeIdleConnections();
    await sleep(50);
    assert.deepEqual(await client.get('/bytes/10', {}), { status: 200, bytes: 10 });
    assert.equal(connections - before, 3);
    // Closed while the client still holds it as idle (its close not seen yet): the GET goes
    // out on the dead connection, fails before any byte of an answer, and is retried once.
    for (let i = 0; i < 5; i++) {
      http.closeIdleConnections();
      assert.deepEqual(await client.get('/bytes/10', {}), { status: 200, bytes: 10 });
    }
    client.close();
  });

  it('rejects a chunked response, a response cut short, and bytes past the body', async () => {
    const client = new CountingGetClient(endpoint(http));
    await assert.rejects(client.get('/chunked', {}), /transfer-encoding/);
    const rawClient = new CountingGetClient(endpoint(raw));
    rawPlan = (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
    await assert.rejects(rawClient.get('/', {}), /closed before the response ended/);
    rawPlan = (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabcdef');
    await assert.rejects(rawClient.get('/', {}), /past the response body/);
    rawPlan = (s) => s.write('HTTP/1.1 200 OK\r\n\r\nabc');
    await assert.rejects(rawClient.get('/', {}), /content-length/);
    client.close();
    rawClient.close();
  });

  it('answers a 204 or 304 at its head (they have no body, whatever content-length says); refuses a content-length that is not decimal digits', async () => {
    const client = new CountingGetClient(endpoint(raw));
    rawPlan = (s) => s.write('HTTP/1.1 304 Not Modified\r\ncontent-length: 100\r\n\r\n');
    assert.deepEqual(await client.get('/', {}), { status: 304, bytes: 0 });
    client.close();
    const other = new CountingGetClient(endpoint(raw));
    rawPlan = (s) => s.write('HTTP/1.1 204 No Content\r\n\r\n');
    assert.deepEqual(await other.get('/', {}), { status: 204, bytes: 0 });
    other.close();
    for (const length of ['', '0x10', '1e3', '+5', '5, 5']) {
      const strict = new CountingGetClient(endpoint(raw));
      rawPlan = (s) => s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${length}\r\n\r\n`);
      await assert.rejects(strict.get('/', {}), /content-length/, `content-length: ${length}`);
      strict.close();
    }
  });

  it('reads a head split across reads, with the body starting in the read that ends it', async () => {
    const client = new CountingGetClient(endpoint(raw));
    rawPlan = (s) => {
      s.write('HTTP/1.1 206 Partial Content\r\nContent-Le');
      setTimeout(() => s.write('ngth: 5\r\n\r'), 30);
      setTimeout(() => s.write('\nabcde'), 60);
    };
    assert.deepEqual(await client.get('/', {}), { status: 206, bytes: 5 });
    client.close();
  });
});
