import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { AuthenticationError, parseSignature, rootPrincipal, StaticCredentials, verifySignature, type SignedRequestView } from '../../src/iam/index.js';
import { NodeSha256 } from '../helpers/signed-request.js';

/**
 * The SigV4 hot path remembers the last credential scope string, the last SignedHeaders
 * list joined (by identity) and the last parsed Credential: requests signed by different
 * identities, for different scopes and header lists, verified interleaved, must each be
 * checked against their own scope, list and secret — never the previous request's.
 */
const NOW = new Date('2026-01-02T03:04:05Z');
const ALICE = { accessKeyId: 'AKIAMEMOALICE0000001', secretAccessKey: 'alice-secret-0000000000000000000000000000', principal: rootPrincipal('111111111111') };
const BOB = { accessKeyId: 'AKIAMEMOBOB000000002', secretAccessKey: 'bob-secret-00000000000000000000000000000', principal: rootPrincipal('222222222222') };
const CREDENTIALS = new StaticCredentials([ALICE, BOB]);
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

interface Signing {
  who: typeof ALICE;
  region: string;
  service: string;
  /** Extra headers, signed (they change the SignedHeaders list). */
  headers?: Record<string, string>;
  presign?: boolean;
}

/** A request signed by @smithy/signature-v4 (the SDK's signer), as the edge's view. */
async function signed(s: Signing, body = 'Action=ListUsers'): Promise<{ view: SignedRequestView; body: string }> {
  const signer = new SignatureV4({ credentials: s.who, region: s.region, service: s.service, sha256: NodeSha256 });
  const request = {
    method: 'POST',
    protocol: 'http:',
    hostname: 'edge.example',
    path: '/',
    query: {},
    // A presigned URL signs no body (S3's UNSIGNED-PAYLOAD, declared as S3 clients do).
    headers: { host: 'edge.example', 'content-type': 'application/x-www-form-urlencoded', ...(s.presign === true ? { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } : {}), ...s.headers },
    body,
  };
  const out = s.presign === true ? await signer.presign(request, { signingDate: NOW, expiresIn: 300 }) : await signer.sign(request, { signingDate: NOW });
  const rawQuery = Object.entries(out.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return { view: { method: 'POST', rawPath: '/', rawQuery, headers: Object.entries(out.headers) }, body };
}

function verify(r: { view: SignedRequestView; body: string }): string {
  const sig = parseSignature(r.view);
  assert.ok(sig !== undefined, 'the request is signed');
  const v = verifySignature(r.view, sig, CREDENTIALS, { now: NOW, bodySha256: sha256(r.body) });
  return `${v.credential.accessKeyId} ${v.signature.region}/${v.signature.service}`;
}

/** What `f` returns, or `refused: …` (so a failed assertion names the request that was refused). */
function attempt(f: () => string): string {
  try {
    return f();
  } catch (err) {
    return `refused: ${(err as Error).message.slice(0, 60)}`;
  }
}

const isMismatch = (err: unknown): boolean => err instanceof AuthenticationError && err.kind === 'SignatureMismatch';

/** `view` with one header's value replaced (by name, case-insensitively). */
function withHeader(view: SignedRequestView, name: string, value: (old: string) => string): SignedRequestView {
  return { ...view, headers: view.headers.map(([k, v]): [string, string] => [k, k.toLowerCase() === name ? value(v) : v]) };
}

describe('SigV4 verification with the remembered scope, header list and credential', () => {
  it('interleaved identities, regions, services and header lists each verify as themselves', async () => {
    const requests = [
      await signed({ who: ALICE, region: 'us-east-1', service: 'iam' }),
      await signed({ who: BOB, region: 'eu-west-1', service: 'iam' }),
      await signed({ who: ALICE, region: 'us-east-1', service: 'sts', headers: { 'x-amz-target': 'a' } }),
      await signed({ who: BOB, region: 'us-east-1', service: 'iam', presign: true }),
      await signed({ who: ALICE, region: 'eu-west-1', service: 'kms', headers: { 'x-extra': '1' } }),
    ];
    const expected = ['AKIAMEMOALICE0000001 us-east-1/iam', 'AKIAMEMOBOB000000002 eu-west-1/iam', 'AKIAMEMOALICE0000001 us-east-1/sts', 'AKIAMEMOBOB000000002 us-east-1/iam', 'AKIAMEMOALICE0000001 eu-west-1/kms'];
    // Twice over and in reverse, so each request follows a different one than it was first.
    for (const order of [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0, 0, 2, 4, 1, 3]]) {
      for (const i of order) assert.equal(attempt(() => verify(requests[i]!)), expected[i], `request ${i}`);
    }
  });

  it("a request claiming the previous request's scope, identity or header list is refused", async () => {
    const east = await signed({ who: ALICE, region: 'us-east-1', service: 'iam' });
    const west = await signed({ who: ALICE, region: 'eu-west-1', service: 'iam' });
    // west's signature under east's Credential (its scope remembered by the call just before).
    const westSignature = /Signature=([0-9a-f]+)/.exec(west.view.headers.find(([k]) => k === 'authorization')![1])![1]!;
    const crossed = { ...east, view: withHeader(east.view, 'authorization', (a) => a.replace(/Signature=[0-9a-f]+/, `Signature=${westSignature}`)) };
    assert.equal(verify(east), 'AKIAMEMOALICE0000001 us-east-1/iam');
    assert.throws(() => verify(crossed), isMismatch, "eu-west-1's signature does not verify for the us-east-1 scope remembered");
    assert.equal(verify(west), 'AKIAMEMOALICE0000001 eu-west-1/iam');
    assert.throws(() => verify({ ...west, view: withHeader(west.view, 'authorization', (a) => a.replace('/eu-west-1/', '/us-east-1/')) }), isMismatch, 'the scope is the request\'s own, not the last one');

    // Bob's request relabelled as Alice's, right after Alice's own verified: Alice's secret, not the last signing key.
    const bob = await signed({ who: BOB, region: 'us-east-1', service: 'iam' });
    assert.equal(verify(east), 'AKIAMEMOALICE0000001 us-east-1/iam');
    assert.throws(() => verify({ ...bob, view: withHeader(bob.view, 'authorization', (a) => a.replace(BOB.accessKeyId, ALICE.accessKeyId)) }), isMismatch);
    assert.equal(verify(bob), 'AKIAMEMOBOB000000002 us-east-1/iam');

    // A longer signed list, then a request whose SignedHeaders drops one of them: its own list is used.
    const extra = await signed({ who: ALICE, region: 'us-east-1', service: 'iam', headers: { 'x-extra': '1' } });
    assert.equal(verify(extra), 'AKIAMEMOALICE0000001 us-east-1/iam');
    assert.throws(() => verify({ ...extra, view: withHeader(extra.view, 'authorization', (a) => a.replace(';x-extra', '')) }), isMismatch);
    assert.equal(verify(east), 'AKIAMEMOALICE0000001 us-east-1/iam');
    assert.throws(() => verify({ ...east, view: withHeader(east.view, 'authorization', (a) => a.replace('SignedHeaders=', 'SignedHeaders=x-extra;')) }), isMismatch);
  });
});
