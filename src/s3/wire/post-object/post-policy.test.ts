import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AccessDeniedError, InvalidPolicyDocumentError } from '../../errors.js';
import type { PostField } from './post-form.js';
import { checkPostPolicy, parsePostPolicy } from './post-policy.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const LATER = '2026-01-02T00:00:00Z';

function b64(doc: unknown): string {
  return Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)).toString('base64');
}

function form(fields: Record<string, string>): Map<string, PostField> {
  return new Map(Object.entries(fields).map(([name, value]) => [name.toLowerCase(), { name, value }]));
}

/** The outcome of checking `fields` against `conditions`: 'ok' (with the range), or the error's class and message. */
function check(conditions: unknown[], fields: Record<string, string>, expiration = LATER): string {
  try {
    const range = checkPostPolicy(parsePostPolicy(b64({ expiration, conditions })), form(fields), 'bkt', NOW);
    return range === undefined ? 'ok' : `ok ${range.min}-${range.max}`;
  } catch (err) {
    if (err instanceof AccessDeniedError || err instanceof InvalidPolicyDocumentError) return `${err.name}: ${err.message}`;
    throw err;
  }
}

function parseError(policy: string): string {
  try {
    parsePostPolicy(policy);
    return 'parsed';
  } catch (err) {
    assert.ok(err instanceof InvalidPolicyDocumentError);
    return err.message;
  }
}

describe('POST policy conditions', () => {
  it('exact and starts-with match values case-sensitively, names case-insensitively', () => {
    assert.equal(check([{ key: 'a.txt' }], { key: 'a.txt' }), 'ok');
    assert.equal(check([['eq', '$Key', 'a.txt']], { KEY: 'a.txt' }), 'ok');
    assert.equal(check([['StArTs-WiTh', '$key', 'up/']], { key: 'up/x' }), 'ok');
    assert.equal(check([['starts-with', '$key', 'up/']], { key: 'UP/x' }), 'AccessDeniedError: Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "up/"]');
    assert.equal(check([{ key: 'a.txt' }], { key: 'b.txt' }), 'AccessDeniedError: Invalid according to Policy: Policy Condition failed: ["eq", "$key", "a.txt"]');
    // A field the form lacks fails its condition, even starts-with "".
    assert.equal(check([{ key: 'k' }, ['starts-with', '$Content-Type', '']], { key: 'k' }), 'AccessDeniedError: Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", ""]');
    // Without its $, a field is never matched (403, not a malformed policy).
    assert.equal(check([['eq', 'key', 'k']], { key: 'k' }), 'AccessDeniedError: Invalid according to Policy: Policy Condition failed: ["eq", "key", "k"]');
  });

  it('Content-Type starts-with holds for each item of a list; bucket is the addressed bucket', () => {
    assert.equal(check([{ key: 'k' }, ['starts-with', '$Content-Type', 'image/']], { key: 'k', 'Content-Type': 'image/jpg,image/png' }), 'ok');
    assert.match(check([{ key: 'k' }, ['starts-with', '$Content-Type', 'image/']], { key: 'k', 'Content-Type': 'image/jpg,text/plain' }), /Policy Condition failed/);
    assert.equal(check([{ key: 'k' }, { bucket: 'bkt' }], { key: 'k' }), 'ok');
    assert.equal(check([{ key: 'k' }, { bucket: 'bkt' }], { key: 'k', bucket: 'bkt' }), 'ok');
    assert.match(check([{ key: 'k' }, { bucket: 'other' }], { key: 'k', bucket: 'other' }), /Policy Condition failed: \["eq", "\$bucket", "other"\]/);
  });

  it('never prints the value of a failed condition on an SSE-C key or a session token', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const failedKey = check([{ key: 'k' }, { 'x-amz-server-side-encryption-customer-key': key }], { key: 'k', 'x-amz-server-side-encryption-customer-key': 'other' });
    assert.equal(failedKey, 'AccessDeniedError: Invalid according to Policy: Policy Condition failed: ["eq", "$x-amz-server-side-encryption-customer-key", "[value not shown]"]');
    const failedToken = check([{ key: 'k' }, ['eq', '$X-Amz-Security-Token', 'session-secret']], { key: 'k', 'x-amz-security-token': 'other' });
    assert.ok(!failedToken.includes('session-secret') && failedToken.includes('Policy Condition failed'), failedToken);
    // Nor the key's MD5: the key's fingerprint, kept out of every record as the key is (the message is the record's errorMessage).
    const md5 = createHash('md5').update(Buffer.alloc(32, 7)).digest('base64');
    const failedMd5 = check([{ key: 'k' }, ['starts-with', '$x-amz-server-side-encryption-customer-key-MD5', md5]], { key: 'k', 'x-amz-server-side-encryption-customer-key-MD5': 'other' });
    assert.equal(failedMd5, 'AccessDeniedError: Invalid according to Policy: Policy Condition failed: ["starts-with", "$x-amz-server-side-encryption-customer-key-MD5", "[value not shown]"]');
    // Nor when the field is spelled so that it matches no form field (and so always fails).
    for (const odd of ['x-amz-server-side-encryption-customer-key ', ' X-Amz-Security-Token', 'x_amz_server_side_encryption_customer_key', 'x-amz-server-side-encryption-customer-key-md5x']) {
      const listed = check([{ key: 'k' }, ['eq', `$${odd}`, key]], { key: 'k' });
      assert.ok(!listed.includes(key) && listed.includes('[value not shown]'), listed);
      const simple = check([{ key: 'k' }, { [odd]: key }], { key: 'k' });
      assert.ok(!simple.includes(key) && simple.includes('[value not shown]'), simple);
    }
    // Other fields still print their value, as S3 does.
    assert.match(check([{ key: 'k' }, ['eq', '$x-amz-meta-customer', 'visible']], { key: 'k', 'x-amz-meta-customer': 'other' }), /"visible"/);
  });

  it('every field but the exempt ones needs a condition', () => {
    const signed = { key: 'k', policy: 'p', 'X-Amz-Signature': 's', 'x-ignore-anything': 'v' };
    assert.equal(check([{ key: 'k' }], signed), 'ok');
    assert.equal(check([{ key: 'k' }], { ...signed, 'X-Amz-Meta-Extra': 'v' }), 'AccessDeniedError: Invalid according to Policy: Extra input fields: X-Amz-Meta-Extra');
  });

  it('content-length-range: integers or digit strings, the narrowest of several; others fail or are malformed', () => {
    assert.equal(check([{ key: 'k' }, ['content-length-range', 1, 10]], { key: 'k' }), 'ok 1-10');
    assert.equal(check([{ key: 'k' }, ['content-length-range', '5', '10'], ['content-length-range', 0, 8]], { key: 'k' }), 'ok 5-8');
    assert.match(check([{ key: 'k' }, ['content-length-range', 'test', '10']], { key: 'k' }), /Policy Condition failed: \["content-length-range", "test", "10"\]/);
    assert.match(check([['content-length-range', 0]], { key: 'k' }), /InvalidPolicyDocumentError: Invalid Policy: Invalid content-length-range: wrong number of arguments\./);
    assert.match(check([['content-length-range', -1, 0]], { key: 'k' }), /InvalidPolicyDocumentError/);
    assert.equal(check([['content-length-range', 0, 512.5]], { key: 'k' }), 'InvalidPolicyDocumentError: Invalid Policy: Invalid JSON.');
  });

  it('an expired policy is refused before its conditions, at its expiration instant included', () => {
    assert.equal(check([{ key: 'other' }], { key: 'k' }, '2025-12-31T23:59:59Z'), 'AccessDeniedError: Invalid according to Policy: Policy expired.');
    assert.equal(check([{ key: 'k' }], { key: 'k' }, '2026-01-01T00:00:00.000Z'), 'AccessDeniedError: Invalid according to Policy: Policy expired.');
  });
});

describe('POST policy documents S3 refuses', () => {
  it('answers InvalidPolicyDocument with S3 wording', () => {
    assert.equal(parseError('not base64!'), 'Invalid Policy: invalid Base64 encoding.');
    assert.equal(parseError(b64('{"expiration": ')), 'Invalid Policy: Invalid JSON.');
    assert.equal(parseError(b64({ conditions: [] })), 'Invalid Policy: Policy missing expiration.');
    assert.equal(parseError(b64({ expiration: LATER })), 'Invalid Policy: Policy missing conditions.');
    assert.equal(parseError(b64({ expiration: LATER, conditions: {} })), "Invalid Policy: Invalid 'conditions' value: must be a List.");
    assert.equal(parseError(b64({ expiration: '2015-10-17 03:15:59 UTC', conditions: [] })), "Invalid Policy: Invalid 'expiration' value: '2015-10-17 03:15:59 UTC'");
    assert.equal(parseError(b64({ EXPIRATION: LATER, conditions: [] })), "Invalid Policy: Unexpected: 'expiration'");
    assert.equal(parseError(b64({ expiration: LATER, conditions: [{}] })), 'Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.');
    assert.equal(parseError(b64({ expiration: LATER, conditions: [{ 'Content-Length': 5 }] })), 'Invalid Policy: Invalid Simple-Condition: value must be a string.');
    assert.equal(parseError(b64({ expiration: LATER, conditions: [[]] })), 'Invalid Policy: Invalid Condition: missing operation identifier.');
    assert.equal(parseError(b64({ expiration: LATER, conditions: [['in', '$key', 'a']] })), "Invalid Policy: Invalid Condition: unknown operation 'in'.");
    assert.equal(parseError(b64({ expiration: LATER, conditions: ['key'] })), 'Invalid Policy: Invalid condition test: must be a List or Object.');
  });
});
