import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasLoneSurrogate } from './lone-surrogate.js';

describe('hasLoneSurrogate', () => {
  it('finds a lone high or low surrogate anywhere in the text', () => {
    assert.equal(hasLoneSurrogate('\uD800'), true);
    assert.equal(hasLoneSurrogate('a\uDBFFb'), true);
    assert.equal(hasLoneSurrogate('\uDC00x'), true);
    assert.equal(hasLoneSurrogate('x\uDFFF'), true);
    // Two highs in a row are not a pair; a low before a high is not one either.
    assert.equal(hasLoneSurrogate('\uD800\uD800'), true);
    assert.equal(hasLoneSurrogate('\uDC00\uD800'), true);
  });

  it('accepts well-formed text, a surrogate pair included', () => {
    assert.equal(hasLoneSurrogate(''), false);
    assert.equal(hasLoneSurrogate('aws:s3:arn'), false);
    assert.equal(hasLoneSurrogate('\u{1F600}'), false);
    assert.equal(hasLoneSurrogate('\uD83D\uDE00 \uFFFD \u0000'), false);
  });
});
