import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError, MalformedXmlError } from '../errors.js';
import { checkCorsConfiguration, corsFromJson, corsToJson, matchCorsRule, wildcardMatch, type CorsConfiguration, type CorsRule } from './cors-config.js';

const rule = (r: Partial<CorsRule>): CorsRule => ({ allowedMethods: ['GET'], allowedOrigins: ['*'], allowedHeaders: [], exposeHeaders: [], ...r });

describe('CORS configuration', () => {
  it('wildcardMatch: exact, or around the one `*` (an empty run included); origins case-sensitive, headers folded', () => {
    const rows: Array<[string, string, boolean, boolean]> = [
      ['https://a.example.com', 'https://a.example.com', false, true],
      ['https://a.example.com', 'https://a.example.com:443', false, false],
      ['https://*.example.com', 'https://ml.example.com', false, true],
      ['https://*.example.com', 'https://.example.com', false, true],
      ['https://*.example.com', 'https://example.com', false, false],
      ['https://*.example.com', 'https://ML.example.com', false, true],
      ['https://*.example.com', 'HTTPS://ml.example.com', false, false],
      ['*', 'anything', false, true],
      ['x-amz-*', 'X-Amz-Date', true, true],
      ['x-amz-*', 'X-Amz-Date', false, false],
      ['Content-Type', 'content-type', true, true],
      // The head and tail may not overlap: 'ab*ba' needs at least 'abba'.
      ['ab*ba', 'aba', false, false],
    ];
    for (const [pattern, value, fold, expected] of rows) assert.equal(wildcardMatch(pattern, value, fold), expected, `${pattern} ~ ${value}`);
  });

  it('matchCorsRule: the first rule allowing origin, method and every requested header', () => {
    const config: CorsConfiguration = {
      rules: [
        rule({ id: 'one', allowedOrigins: ['https://a.example.com'], allowedMethods: ['PUT'], allowedHeaders: ['content-type'] }),
        rule({ id: 'two', allowedOrigins: ['https://a.example.com'], allowedMethods: ['PUT', 'GET'], allowedHeaders: ['*'] }),
        rule({ id: 'any' }),
      ],
    };
    assert.equal(matchCorsRule(config, 'https://a.example.com', 'PUT', ['Content-Type'])?.id, 'one');
    assert.equal(matchCorsRule(config, 'https://a.example.com', 'PUT', ['Content-Type', 'x-amz-date'])?.id, 'two');
    assert.equal(matchCorsRule(config, 'https://a.example.com', 'GET')?.id, 'two');
    assert.equal(matchCorsRule(config, 'https://b.example.com', 'GET')?.id, 'any');
    assert.equal(matchCorsRule(config, 'https://b.example.com', 'GET', ['x-custom']), undefined);
    assert.equal(matchCorsRule(config, 'https://b.example.com', 'DELETE'), undefined);
  });

  it('checkCorsConfiguration refuses each thing S3 refuses, with its error', () => {
    const refused: Array<[string, { rules: Array<Partial<Omit<CorsRule, 'allowedMethods'>> & { allowedMethods?: string[] }> }, new (...a: never[]) => Error, RegExp]> = [
      ['no rule', { rules: [] }, MalformedXmlError, /^$/],
      ['101 rules', { rules: Array.from({ length: 101 }, () => ({})) }, MalformedXmlError, /^$/],
      ['no origin', { rules: [{ allowedOrigins: [] }] }, MalformedXmlError, /^$/],
      ['no method', { rules: [{ allowedMethods: [] }] }, MalformedXmlError, /^$/],
      ['PATCH', { rules: [{ allowedMethods: ['GET', 'PATCH'] }] }, InvalidRequestError, /Unsupported method is PATCH$/],
      ['lower-case get', { rules: [{ allowedMethods: ['get'] }] }, InvalidRequestError, /Unsupported method is get$/],
      ['two origin wildcards', { rules: [{ allowedOrigins: ['https://*.*.com'] }] }, InvalidRequestError, /^AllowedOrigin "https:\/\/\*\.\*\.com" can not have more than one wildcard\.$/],
      ['two header wildcards', { rules: [{ allowedHeaders: ['**'] }] }, InvalidRequestError, /^AllowedHeader "\*\*" can not have more than one wildcard\.$/],
      ['expose wildcard', { rules: [{ exposeHeaders: ['x-*'] }] }, InvalidRequestError, /^ExposeHeader "x-\*" contains wildcard/],
    ];
    for (const [name, partial, type, message] of refused) {
      const config = { rules: partial.rules.map((r) => ({ ...rule({}), ...r })) };
      assert.throws(() => checkCorsConfiguration(config), (err: Error) => err instanceof type && message.test(err.message), name);
    }
    checkCorsConfiguration({ rules: Array.from({ length: 100 }, () => rule({ allowedOrigins: ['https://*.example.com'], allowedHeaders: ['*'] })) });
  });

  it("a refusal quotes the caller's value at most 256 characters long", () => {
    const long = `https://*.${'a'.repeat(10_000)}*.com`;
    for (const r of [rule({ allowedOrigins: [long] }), rule({ allowedHeaders: [long] }), rule({ exposeHeaders: [long] }), { ...rule({}), allowedMethods: [long] }]) {
      assert.throws(
        () => checkCorsConfiguration({ rules: [r] }),
        (err: Error) => err instanceof InvalidRequestError && err.message.length < 400 && err.message.includes(`${long.slice(0, 256)}...`),
      );
    }
  });

  it('the stored form reads back to the same configuration', () => {
    const config: CorsConfiguration = { rules: [rule({ id: 'x', allowedMethods: ['GET', 'HEAD'], exposeHeaders: ['ETag'], maxAgeSeconds: 30 }), rule({})] };
    assert.deepEqual(corsFromJson(corsToJson(config)), config);
  });
});
