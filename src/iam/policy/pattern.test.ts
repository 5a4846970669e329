import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGlob, compileTemplate, globMatches, resolveGlob, resolveText } from './pattern.js';

const lookup = new Map<string, string | readonly string[]>([
  ['aws:username', 'alice'],
  ['aws:userid', 'AIDA*X'],
  ['aws:tagkeys', ['a', 'b']],
]);

describe('globMatches', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*', 'anything:at/all', true],
    ['s3:get*', 's3:getobject', true],
    ['s3:get*', 's3:putobject', false],
    ['s3:?etobject', 's3:getobject', true],
    ['s3:?etobject', 's3:etobject', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['a*', 'a', true],
    ['*a*a', 'aaa', true],
    ['exact', 'exact', true],
    ['exact', 'Exact', false],
    ['', '', true],
    ['?', '', false],
  ];
  for (const [pattern, subject, expected] of cases) {
    it(`${JSON.stringify(pattern)} vs ${JSON.stringify(subject)} → ${expected}`, () => {
      assert.equal(globMatches(compileGlob(pattern), subject), expected);
    });
  }

  it('folds case when asked to', () => {
    assert.equal(globMatches(compileGlob('KMS:Decrypt', true), 'kms:decrypt'), true);
  });
});

describe('policy variables', () => {
  it('substitutes a variable and keeps raw wildcards live', () => {
    const glob = resolveGlob(compileTemplate('arn:aws:s3:::b/${aws:username}/*', true), lookup);
    assert.ok(glob);
    assert.equal(globMatches(glob, 'arn:aws:s3:::b/alice/x'), true);
    assert.equal(globMatches(glob, 'arn:aws:s3:::b/bob/x'), false);
  });

  it('treats a substituted value as literal text, never as a wildcard', () => {
    const glob = resolveGlob(compileTemplate('id-${aws:userid}', true), lookup);
    assert.ok(glob);
    assert.equal(globMatches(glob, 'id-AIDA*X'), true);
    assert.equal(globMatches(glob, 'id-AIDAzzzX'), false);
  });

  it('turns ${*}, ${?} and ${$} into literal characters', () => {
    const glob = resolveGlob(compileTemplate('a${*}b${?}c${$}', true), lookup);
    assert.ok(glob);
    assert.equal(globMatches(glob, 'a*b?c$'), true);
    assert.equal(globMatches(glob, 'aXXb?c$'), false);
    assert.equal(globMatches(glob, 'a*bXc$'), false);
  });

  it('leaves a multi-valued key unresolved', () => {
    assert.equal(resolveText(compileTemplate('${aws:TagKeys}', true), lookup), undefined);
  });

  it('returns undefined for an unresolvable variable', () => {
    assert.equal(resolveText(compileTemplate('${aws:nosuchkey}', true), lookup), undefined);
    assert.equal(resolveGlob(compileTemplate('x/${aws:nosuchkey}/*', true), lookup), undefined);
  });

  it("uses a default value, with '' as an escaped quote", () => {
    assert.equal(resolveText(compileTemplate("${aws:nosuchkey, 'it''s'}", true), lookup), "it's");
    assert.equal(resolveText(compileTemplate("${aws:username, 'nobody'}", true), lookup), 'alice');
  });

  it('looks variables up case-insensitively', () => {
    assert.equal(resolveText(compileTemplate('${AWS:UserName}', true), lookup), 'alice');
  });

  it('leaves text alone when variables are off (Version 2008-10-17)', () => {
    assert.equal(resolveText(compileTemplate('${aws:username}', false), lookup), '${aws:username}');
  });

  it('leaves an unterminated ${ as text', () => {
    assert.equal(resolveText(compileTemplate('a${b', true), lookup), 'a${b');
  });
});
