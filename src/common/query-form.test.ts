import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQueryForm } from './query-form.js';

describe('parseQueryForm', () => {
  it('merges the URL query and the form body, the body winning a name in both', () => {
    const m = parseQueryForm('Action=ListUsers&MaxItems=5', 'Version=2010-05-08&Action=GetUser');
    assert.deepEqual([...m.entries()], [['Version', '2010-05-08'], ['Action', 'ListUsers'], ['MaxItems', '5']]);
  });

  it('decodes as a form does and keeps the last of a repeated name', () => {
    const m = parseQueryForm('Path=%2Fa%2Fb%2F&Name=a+b&Name=c', '');
    assert.equal(m.get('Path'), '/a/b/');
    assert.equal(m.get('Name'), 'c');
    assert.equal(parseQueryForm('', 'X=%E0%A4%41').get('X'), '\uFFFDA');
  });

  it('is empty for no parameters', () => {
    assert.equal(parseQueryForm('', '').size, 0);
  });
});
