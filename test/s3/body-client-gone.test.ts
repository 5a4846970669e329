import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CorsConfigCache } from '../../src/s3/wire/cors.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { filesUnder } from '../helpers/files.js';
import { until } from '../helpers/until.js';
import { watchHandlerCalls, type HandlerCalls } from './handler-calls.js';
import { signer } from './raw-sign.js';

const B = 'body-gone';
const BODY = 1000;

/** Every file under `dir` (relative paths), to see a temp file left behind. */
function filesIn(dir: string): string[] {
  return filesUnder(dir).map((f) => f.slice(dir.length));
}

/**
 * How many descriptors this process (the in-process server, and the SDK client's pooled
 * connections) holds, but for SQLite's (the stores open connections lazily, on first use).
 */
function openFds(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return !/\.db(-wal|-shm)?$/.test(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      return false; // closed since it was listed (the listing's own descriptor among them)
    }
  }).length;
}

// A signed request without x-amz-content-sha256 has its body read whole to hash it (the handler's
// own body reader). A client that leaves mid-body must not leave that read pending: the request
// ends as IncompleteBody, is recorded, and nothing it opened stays open.
describe('a signed PUT without x-amz-content-sha256 whose client leaves mid-body', () => {
  let t: TestServer;
  let s3: S3Client;
  let calls: HandlerCalls;
  const lookup = CorsConfigCache.prototype.lookup;
  before(async () => {
    calls = watchHandlerCalls();
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => {
    calls.restore();
    CorsConfigCache.prototype.lookup = lookup;
    await t.close();
  });

  /** Opens a connection and sends the signed head of PUT /B/`key` (Content-Length BODY) and half its body; `origin` adds an Origin header. */
  async function sendHalf(key: string, origin?: string): Promise<ReturnType<typeof connect>> {
    const url = new URL(t.endpoint);
    const body = Buffer.alloc(BODY, 7);
    const headers: Record<string, string> = { host: url.host, 'content-length': String(BODY), ...(origin !== undefined ? { origin } : {}) };
    const signed = await signer().sign({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/${B}/${key}`, query: {}, headers, body }, { signingDate: new Date() });
    const lines = Object.entries(signed.headers as Record<string, string>).map(([k, v]) => `${k}: ${v}\r\n`);
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`PUT /${B}/${key} HTTP/1.1\r\n${lines.join('')}\r\n`);
    socket.write(body.subarray(0, BODY / 2));
    return socket;
  }

  async function putRecords(key: string): Promise<Array<string | undefined>> {
    await t.server.audit.flush();
    const { records } = await t.server.auditStore.lookup({ eventSource: 's3.amazonaws.com', eventName: 'PutObject', limit: 1000 });
    return records.filter((r) => JSON.stringify(r.event.requestParameters ?? {}).includes(key)).map((r) => r.event.errorCode);
  }

  async function assertReleased(key: string, files: readonly string[], fds: number): Promise<void> {
    await until(() => calls.inFlight === 0, 'the request is released');
    assert.deepEqual(await putRecords(key), ['IncompleteBody'], 'the failed call is recorded as IncompleteBody');
    assert.deepEqual(filesIn(t.dataDir).filter((f) => !files.includes(f) && !/audit|\.db-|journal/.test(f)), [], 'no file left behind');
    await until(() => openFds() <= fds, 'the descriptors the request opened are closed');
    // Still serving: an ordinary PUT and GET of the same key.
    await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: 'after' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
    assert.equal(await got.Body?.transformToString(), 'after');
  }

  it('while the server waits for the rest of the body', async () => {
    const files = filesIn(t.dataDir);
    const fds = openFds();
    const socket = await sendHalf('waiting');
    await until(() => calls.inFlight === 1 && calls.lastReq !== undefined && calls.lastReq.listenerCount('data') > 0, 'the server reads the body');
    socket.destroy();
    await assertReleased('waiting', files, fds);
  });

  it('before the server started reading the body', async () => {
    const files = filesIn(t.dataDir);
    const fds = openFds();
    // The CORS lookup of a request with an Origin comes before the body is read: hold it until
    // the server has seen the client leave, so the body reader starts on a destroyed request.
    CorsConfigCache.prototype.lookup = async function (this: CorsConfigCache, bucket: string) {
      await until(() => calls.lastReq?.destroyed === true, 'the server sees the client leave');
      return lookup.call(this, bucket);
    };
    try {
      const socket = await sendHalf('early', 'https://example.test');
      await until(() => calls.inFlight === 1, 'the request reached the handler');
      socket.destroy();
      await assertReleased('early', files, fds);
    } finally {
      CorsConfigCache.prototype.lookup = lookup;
    }
  });
});
