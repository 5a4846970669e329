import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { NbdProtocolError } from '../errors.js';
import { ByteReader } from './byte-reader.js';

describe('ByteReader', () => {
  it('tryRead returns buffered bytes at once, across chunks, and undefined when short', async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream, 1024);
    assert.equal(reader.tryRead(1), undefined);
    stream.write(Buffer.from('abc'));
    stream.write(Buffer.from('defg'));
    await nextTurn();
    assert.deepEqual(reader.tryRead(2), Buffer.from('ab'));
    assert.deepEqual(reader.tryRead(4), Buffer.from('cdef'));
    assert.equal(reader.tryRead(2), undefined, 'one byte left');
    assert.equal(reader.buffered, 1);
    assert.deepEqual(reader.tryRead(1), Buffer.from('g'));
  });

  it('tryRead never jumps ahead of a pending read', async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream, 1024);
    const pending = reader.read(4);
    stream.write(Buffer.from('12'));
    await nextTurn();
    assert.equal(reader.tryRead(1), undefined);
    stream.write(Buffer.from('3456'));
    assert.deepEqual(await pending, Buffer.from('1234'));
    assert.deepEqual(reader.tryRead(2), Buffer.from('56'));
  });

  it('read rejects once the stream ends short', async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream, 1024);
    const pending = reader.read(4);
    stream.end(Buffer.from('12'));
    await assert.rejects(pending, NbdProtocolError);
  });
});
