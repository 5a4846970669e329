import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { echoed, MAX_ECHOED_CHARS } from './bounded-echo.js';

describe('echoed', () => {
  it('keeps a value up to the bound, cuts a longer one with an ellipsis', () => {
    assert.equal(echoed('vol-123'), 'vol-123');
    const exact = 'a'.repeat(MAX_ECHOED_CHARS);
    assert.equal(echoed(exact), exact);
    assert.equal(echoed(`${exact}b`), `${exact}...`);
    assert.equal(echoed('x'.repeat(100_000)).length, MAX_ECHOED_CHARS + 3);
    assert.equal(echoed('abcdef', 3), 'abc...');
  });

  it('never cuts a surrogate pair in half', () => {
    const out = echoed(`ab${'\u{1F600}'}cd`, 3);
    assert.equal(out, 'ab...');
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(out));
  });
});
