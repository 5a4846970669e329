import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoSuchKeyError, PreconditionFailedError } from './errors.js';
import { checkWriteCondition } from './write-condition.js';

const failsWith = (condition: string) => (err: unknown): boolean => err instanceof PreconditionFailedError && err.condition === condition;

describe('checkWriteCondition', () => {
  it('If-None-Match: * holds only when no object exists', () => {
    assert.doesNotThrow(() => checkWriteCondition(undefined, { ifNoneMatch: '*' }));
    assert.throws(() => checkWriteCondition('"abc"', { ifNoneMatch: '*' }), failsWith('If-None-Match'));
  });

  it('If-Match holds for the current ETag, quoted or bare, and for * on any object', () => {
    for (const ifMatch of ['"abc"', 'abc', ' "ABC" ', '*']) assert.doesNotThrow(() => checkWriteCondition('"abc"', { ifMatch }), ifMatch);
    assert.doesNotThrow(() => checkWriteCondition('"abc-2"', { ifMatch: '"abc-2"' }));
    assert.throws(() => checkWriteCondition('"abc"', { ifMatch: '"abd"' }), failsWith('If-Match'));
  });

  it('If-Match on a missing object is NoSuchKey (404), as S3 answers', () => {
    for (const ifMatch of ['"abc"', '*']) assert.throws(() => checkWriteCondition(undefined, { ifMatch }), NoSuchKeyError);
  });

  it('both headers: both must hold, so the write is always refused', () => {
    assert.throws(() => checkWriteCondition('"abc"', { ifMatch: '"abc"', ifNoneMatch: '*' }), failsWith('If-None-Match'));
    assert.throws(() => checkWriteCondition(undefined, { ifMatch: '"abc"', ifNoneMatch: '*' }), NoSuchKeyError);
  });
});
