import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeXml } from './xml-escape.js';

describe('escapeXml', () => {
  it('writes each of the five predefined entities', () => {
    assert.equal(escapeXml(`a&b<c>d"e'f`), 'a&amp;b&lt;c&gt;d&quot;e&apos;f');
  });

  it('escapes & first, so an existing reference is escaped once, not twice', () => {
    assert.equal(escapeXml('&lt;'), '&amp;lt;');
    assert.equal(escapeXml('&&'), '&amp;&amp;');
  });

  it('leaves text without those characters unchanged', () => {
    assert.equal(escapeXml('vol-0123 InvalidParameterValue'), 'vol-0123 InvalidParameterValue');
    assert.equal(escapeXml(''), '');
  });

  it('passes a control character and a lone surrogate through unchanged, as the copies it replaced did', () => {
    assert.equal(escapeXml('a\u0001b\rc'), 'a\u0001b\rc');
    assert.equal(escapeXml('x\uD800y'), 'x\uD800y');
    assert.equal(escapeXml('<\uDC00>'), '&lt;\uDC00&gt;');
  });
});
