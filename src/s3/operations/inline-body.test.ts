import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { encryptedSize } from '../../crypto/index.js';
import { IncompleteBodyError } from '../errors.js';
import { fitsInline, INLINE_BODY_MAX, readBodyLimited } from './inline-body.js';

const SEG = 64 * 1024;

describe('inline bodies', () => {
  it('fitsInline: exactly the sizes that seal to at most INLINE_BODY_MAX bytes', () => {
    let largest = -1;
    for (let n = INLINE_BODY_MAX - 200; n <= INLINE_BODY_MAX; n++) if (encryptedSize(n, SEG) <= INLINE_BODY_MAX) largest = n;
    assert.ok(largest > 0);
    assert.equal(fitsInline(largest, SEG), true);
    assert.equal(fitsInline(largest + 1, SEG), false);
    assert.equal(fitsInline(0, SEG), true);
    // With small segments more tags fit in: the bound is on the sealed size, not the plaintext.
    assert.equal(fitsInline(largest, 4096), encryptedSize(largest, 4096) <= INLINE_BODY_MAX);
    for (const bad of [undefined, -1, 1.5, Number.NaN, 2 ** 60]) assert.equal(fitsInline(bad, SEG), false, String(bad));
  });

  it('readBodyLimited: the whole body, however it is chunked', async () => {
    const body = Buffer.from('0123456789abcdef');
    assert.deepEqual(await readBodyLimited(Readable.from([body.subarray(0, 3), body.subarray(3, 9), body.subarray(9)], { objectMode: false }), 16), body);
    assert.deepEqual(await readBodyLimited(Readable.from([], { objectMode: false }), 16), Buffer.alloc(0));
  });

  it('readBodyLimited: more than the limit is IncompleteBody and the stream is destroyed', async () => {
    const s = new PassThrough();
    const p = readBodyLimited(s, 4);
    s.write(Buffer.from('abc'));
    s.write(Buffer.from('de'));
    await assert.rejects(p, IncompleteBodyError);
    assert.equal(s.destroyed, true);
  });

  it('readBodyLimited: a stream destroyed without an error (closed before its end) rejects instead of hanging', async () => {
    const s = new PassThrough();
    let settled: unknown;
    readBodyLimited(s, 100).then(
      () => (settled = 'resolved'),
      (err: unknown) => (settled = err),
    );
    s.write(Buffer.from('abc'));
    s.destroy();
    for (let i = 0; i < 5 && settled === undefined; i++) await new Promise((r) => setImmediate(r));
    assert.ok(settled instanceof IncompleteBodyError, String(settled));
  });

  it('readBodyLimited: a stream error rejects with it', async () => {
    const s = new PassThrough();
    const p = readBodyLimited(s, 100);
    s.destroy(new Error('boom'));
    await assert.rejects(p, /boom/);
  });
});
