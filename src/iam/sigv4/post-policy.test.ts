import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError } from '../errors.js';
import type { Credential, CredentialLookup } from '../principals.js';
import { PostCredentialError, verifyPostPolicySignature } from './post-policy.js';

// AWS's worked example, "Example: Browser-Based Upload using HTTP POST (Using AWS Signature
// Version 4)": the policy (CRLF line ends, as the page requires), its base64 and the signature it states.
const POLICY_JSON = [
  '{ "expiration": "2015-12-30T12:00:00.000Z",',
  '  "conditions": [',
  '    {"bucket": "sigv4examplebucket"},',
  '    ["starts-with", "$key", "user/user1/"],',
  '    {"acl": "public-read"},',
  '    {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},',
  '    ["starts-with", "$Content-Type", "image/"],',
  '    {"x-amz-meta-uuid": "14365123651274"},',
  '    {"x-amz-server-side-encryption": "AES256"},',
  '    ["starts-with", "$x-amz-meta-tag", ""],',
  '',
  '    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},',
  '    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},',
  '    {"x-amz-date": "20151229T000000Z" }',
  '  ]',
  '}',
].join('\r\n');
const POLICY = Buffer.from(POLICY_JSON, 'utf8').toString('base64');
const SIGNATURE = '8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e';
const CREDENTIAL = 'AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request';

const root: Credential = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  principal: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333', principalId: '111122223333' },
};
const lookup: CredentialLookup = { find: (id) => (id === root.accessKeyId ? root : undefined) };
const now = new Date('2015-12-29T00:00:00Z');
const form = { credential: CREDENTIAL, amzDate: '20151229T000000Z', signature: SIGNATURE, policy: POLICY };

function kind(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    if (err instanceof PostCredentialError) return `PostCredentialError: ${err.message}`;
    if (err instanceof AuthenticationError) return err.kind;
    throw err;
  }
}

describe('verifyPostPolicySignature', () => {
  it("accepts AWS's example form, byte for byte (its policy is the page's 864-character base64)", () => {
    assert.equal(POLICY.length, 864);
    assert.ok(POLICY.startsWith('eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBb'));
    const v = verifyPostPolicySignature(form, lookup, now);
    assert.equal(v.credential, root);
    assert.equal(v.payloadHash, 'UNSIGNED-PAYLOAD');
    assert.deepEqual([v.signature.accessKeyId, v.signature.date, v.signature.region, v.signature.service, v.signature.amzDate], ['AKIAIOSFODNN7EXAMPLE', '20151229', 'us-east-1', 's3', '20151229T000000Z']);
  });

  it('refuses any change to what was signed, and an unknown key', () => {
    const flipped = (SIGNATURE[0] === '0' ? '1' : '0') + SIGNATURE.slice(1);
    assert.equal(kind(() => verifyPostPolicySignature({ ...form, signature: flipped }, lookup, now)), 'SignatureMismatch');
    assert.equal(kind(() => verifyPostPolicySignature({ ...form, signature: SIGNATURE.toUpperCase() }, lookup, now)), 'SignatureMismatch');
    assert.equal(kind(() => verifyPostPolicySignature({ ...form, signature: `${SIGNATURE}00` }, lookup, now)), 'SignatureMismatch');
    // The policy as sent is the string to sign: the same JSON in other base64 (whitespace added) is another string.
    assert.equal(kind(() => verifyPostPolicySignature({ ...form, policy: `${POLICY.slice(0, 10)}\n${POLICY.slice(10)}` }, lookup, now)), 'SignatureMismatch');
    assert.equal(kind(() => verifyPostPolicySignature({ ...form, credential: CREDENTIAL.replace('20151229', '20151230') }, lookup, now)), 'SignatureMismatch');
    assert.equal(kind(() => verifyPostPolicySignature({ ...form, credential: CREDENTIAL.replace('AKIAIOSFODNN7EXAMPLE', 'AKIAOTHERKEY00000000') }, lookup, now)), 'UnknownAccessKey');
  });

  it('refuses a session token with a long-term key, and a malformed credential or date', () => {
    assert.equal(kind(() => verifyPostPolicySignature({ ...form, securityToken: 'tok' }, lookup, now)), 'InvalidToken');
    assert.match(kind(() => verifyPostPolicySignature({ ...form, credential: 'AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3' }, lookup, now)), /^PostCredentialError: the Credential is mal-formed/);
    assert.match(kind(() => verifyPostPolicySignature({ ...form, credential: CREDENTIAL.replace('/s3/', '/kms/') }, lookup, now)), /^PostCredentialError: incorrect service "kms"/);
    assert.match(kind(() => verifyPostPolicySignature({ ...form, amzDate: '2015-12-29' }, lookup, now)), /^PostCredentialError: X-Amz-Date must be formated/);
  });

  it("refuses an x-amz-date on another day than the credential's (S3: it is the date the signing key was made with)", () => {
    // Signed correctly under the credential's day: the mismatch alone refuses it.
    assert.equal(kind(() => verifyPostPolicySignature({ ...form, amzDate: '20151230T000000Z' }, lookup, now)), 'SignatureMismatch');
    assert.equal(kind(() => verifyPostPolicySignature({ ...form, amzDate: '20151229T235959Z' }, lookup, now)), 'accepted');
  });
});
