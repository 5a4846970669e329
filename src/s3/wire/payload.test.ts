import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { VerifiedRequest } from '../../iam/index.js';
import { BadDigestError, ContentSha256MismatchError, EntityTooLargeError, IncompleteBodyError } from '../errors.js';
import { readBodyLimited } from '../operations/inline-body.js';
import { openPayload } from './payload.js';

const UNSIGNED = { payloadHash: 'UNSIGNED-PAYLOAD' } as VerifiedRequest;

/** A request whose body is `source`; its pipe throws, so a read that builds a stream fails. */
function request(headers: Record<string, string>, pipeAllowed = false): { req: IncomingMessage; source: PassThrough } {
  const source = new PassThrough();
  if (!pipeAllowed) source.pipe = () => assert.fail('the body was piped');
  return { req: { headers } as unknown as IncomingMessage, source };
}

describe('openPayload readWhole', () => {
  it('reads an undecoded body straight from the request (no pipe), counted and hashed for verify', async () => {
    const body = Buffer.from('hello, small body');
    const md5 = createHash('md5').update(body).digest('base64');
    const { req, source } = request({ 'content-length': String(body.length), 'content-md5': md5 });
    const p = openPayload(req, UNSIGNED, undefined, source);
    source.end(body);
    assert.deepEqual(await p.readWhole(body.length), body);
    p.verify();
    // The same checks as the stream path: a wrong digest or size still fails verify.
    const bad = request({ 'content-length': String(body.length), 'content-md5': createHash('md5').update('other').digest('base64') });
    const q = openPayload(bad.req, UNSIGNED, undefined, bad.source);
    bad.source.end(body);
    await q.readWhole(body.length);
    assert.throws(() => q.verify(), BadDigestError);
    const short = request({ 'content-length': String(body.length + 1) });
    const r = openPayload(short.req, UNSIGNED, undefined, short.source);
    short.source.end(body);
    await r.readWhole(body.length + 1);
    assert.throws(() => r.verify(), IncompleteBodyError);
  });

  it('read whole, a signed body is checked against its SHA-256, an x-amz-checksum-* header against the body, and maxBytes still holds', async () => {
    const body = Buffer.from('signed small body');
    const sha = createHash('sha256').update(body).digest('hex');
    const signed = request({ 'content-length': String(body.length) });
    const p = openPayload(signed.req, { payloadHash: sha } as VerifiedRequest, undefined, signed.source);
    signed.source.end(body);
    await p.readWhole(body.length);
    p.verify();
    const forged = request({ 'content-length': String(body.length) });
    const q = openPayload(forged.req, { payloadHash: createHash('sha256').update('other').digest('hex') } as VerifiedRequest, undefined, forged.source);
    forged.source.end(body);
    await q.readWhole(body.length);
    assert.throws(() => q.verify(), ContentSha256MismatchError);
    const sha1 = createHash('sha1').update(body).digest('base64');
    const summed = request({ 'content-length': String(body.length), 'x-amz-checksum-sha1': sha1 });
    const r = openPayload(summed.req, UNSIGNED, undefined, summed.source);
    summed.source.end(body);
    await r.readWhole(body.length);
    r.verify();
    assert.deepEqual(r.checksums, { sha1 });
    const wrong = request({ 'content-length': String(body.length), 'x-amz-checksum-sha1': createHash('sha1').update('other').digest('base64') });
    const w = openPayload(wrong.req, UNSIGNED, undefined, wrong.source);
    wrong.source.end(body);
    await w.readWhole(body.length);
    assert.throws(() => w.verify(), BadDigestError);
    const big = request({});
    const b = openPayload(big.req, UNSIGNED, 4, big.source);
    big.source.write(Buffer.from('12345'));
    await assert.rejects(b.readWhole(100), EntityTooLargeError);
  });

  it('more bytes than the limit is IncompleteBody, and the request is left paused for the handler to drain', async () => {
    const { req, source } = request({ 'content-length': '4' });
    const p = openPayload(req, UNSIGNED, undefined, source);
    source.write(Buffer.from('12345'));
    await assert.rejects(p.readWhole(4), IncompleteBodyError);
    assert.equal(source.isPaused(), true);
  });

  it('abort fails a pending read with its error, and a read that starts after it', async () => {
    const { req, source } = request({ 'content-length': '10' });
    const p = openPayload(req, UNSIGNED, undefined, source);
    const reading = p.readWhole(10);
    source.write(Buffer.from('12'));
    const err = new Error('seal failed');
    p.abort(err);
    await assert.rejects(reading, (e) => e === err);
    await assert.rejects(p.readWhole(10), (e) => e === err);
  });

  it('a client gone mid-body (ECONNRESET) is IncompleteBody; a body destroyed without an error too', async () => {
    const gone = request({ 'content-length': '10' });
    const p = openPayload(gone.req, UNSIGNED, undefined, gone.source);
    const reading = p.readWhole(10);
    gone.source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await assert.rejects(reading, IncompleteBodyError);
    const closed = request({ 'content-length': '10' });
    const q = openPayload(closed.req, UNSIGNED, undefined, closed.source);
    const closing = q.readWhole(10);
    closed.source.destroy();
    await assert.rejects(closing, IncompleteBodyError);
  });

  it('a request destroyed before anything read its body fails readWhole and the stream (with its error), never waits', async () => {
    const gone = request({ 'content-length': '10' }, true);
    const p = openPayload(gone.req, UNSIGNED, undefined, gone.source);
    gone.source.write(Buffer.from('12'));
    gone.source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(p.readWhole(10), IncompleteBodyError);
    await assert.rejects(readBodyLimited(p.stream, 10), IncompleteBodyError);
    const closed = request({ 'content-length': '10' }, true);
    const q = openPayload(closed.req, UNSIGNED, undefined, closed.source);
    closed.source.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(readBodyLimited(q.stream, 10), IncompleteBodyError);
    await assert.rejects(q.readWhole(10), IncompleteBodyError);
  });

  it('once `stream` was built (once), readWhole reads it', async () => {
    const body = Buffer.from('through the stream');
    const { req, source } = request({ 'content-length': String(body.length) }, true);
    let pipes = 0;
    const pipe = source.pipe.bind(source);
    source.pipe = ((dest: NodeJS.WritableStream) => ((pipes += 1), pipe(dest))) as typeof source.pipe;
    const p = openPayload(req, UNSIGNED, undefined, source);
    assert.equal(pipes, 0);
    assert.equal(p.stream, p.stream);
    assert.equal(pipes, 1);
    source.end(body);
    assert.deepEqual(await p.readWhole(body.length), body);
    p.verify();
  });
});
