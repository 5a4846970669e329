import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
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

  it('writes a carriage return as a character reference, so that an XML parser gives back CR, not LF', () => {
    assert.equal(escapeXml('a\r\nb\rc'), 'a&#13;\nb&#13;c');
    const parsed = new XMLParser({ processEntities: true, htmlEntities: true, trimValues: false }).parse(`<v>${escapeXml('x\r\ny')}</v>`) as { v: string };
    assert.equal(parsed.v, 'x\r\ny');
  });

  it('passes another control character and a lone surrogate through unchanged, as the copies it replaced did', () => {
    assert.equal(escapeXml('a\u0001b\tc'), 'a\u0001b\tc');
    assert.equal(escapeXml('x\uD800y'), 'x\uD800y');
    assert.equal(escapeXml('<\uDC00>'), '&lt;\uDC00&gt;');
  });
});
