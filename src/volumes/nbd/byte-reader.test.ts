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

  it('readParts / tryReadParts hand out the chunks as they came; only a chunk taken whole spans its ArrayBuffer', async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream, 1024);
    const owned = (b: Buffer): boolean => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
    const chunk = (text: string): Buffer => {
      const b = Buffer.alloc(text.length);
      b.write(text);
      return b;
    };
    const pending = reader.readParts(6);
    stream.write(chunk('ab'));
    stream.write(chunk('cdef'));
    stream.write(chunk('ghij'));
    const parts = await pending;
    assert.deepEqual(parts, [Buffer.from('ab'), Buffer.from('cdef')]);
    assert.ok(parts.every(owned), 'chunks taken whole');
    const next = reader.tryReadParts(1);
    assert.deepEqual(next, [Buffer.from('g')]);
    assert.equal(next?.some(owned), false, 'a part of a chunk shares its buffer');
    assert.equal(reader.tryReadParts(4), undefined, 'three bytes left');
    const rest = reader.tryReadParts(3);
    assert.deepEqual(rest, [Buffer.from('hij')]);
    assert.equal(rest?.some(owned), false, 'the rest of a chunk already read from is not whole');
    assert.deepEqual(reader.tryReadParts(0), []);
  });

  it('read rejects once the stream ends short', async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream, 1024);
    const pending = reader.read(4);
    stream.end(Buffer.from('12'));
    await assert.rejects(pending, NbdProtocolError);
  });
});
